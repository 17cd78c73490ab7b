"""MLflow's scoring protocol (mlflow/pyfunc/scoring_server), answered the way it answers.

`mlflow models serve` is FastAPI around ``scoring_server.invocations``; this module is the same
contract without FastAPI: the reference path calls MLflow's own ``invocations`` (so bodies,
status codes and messages are MLflow's by construction), and the pieces the fast paths reuse —
predicting with MLflow's error handling, serialising predictions — mirror its code line for
line. tests/integration/test_serving_conformance.py holds both servers to the same answers.
"""

from __future__ import annotations

import inspect
import json
import logging
import traceback

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST
from mlflow.pyfunc.model import _log_warning_if_params_not_in_predict_signature
from mlflow.pyfunc.scoring_server import (
    invocations,
    predictions_to_json,
    unwrapped_predictions_to_json,
)
from mlflow.version import VERSION

from services.serving.asgi import JSON, TEXT, Reply

# MLflow logs its predict-time warnings under this name; keep them where users look for them.
_mlflow_logger = logging.getLogger("mlflow.pyfunc.scoring_server")

# Content types the fast paths take as JSON. Anything else (other charsets, parameters, case)
# goes through MLflow's own parsing, which decides between 200, 400 and 415 exactly as it does.
FAST_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8",
                             "application/json;charset=utf-8", "application/json; charset=UTF-8"})
FAST_CSV_TYPES = frozenset({"text/csv", "text/csv; charset=utf-8"})

PING_OK = Reply(200, b"\n")
VERSION_REPLY = Reply(200, VERSION.encode())
# FastAPI's own answers for unknown paths and wrong methods.
NOT_FOUND = Reply(404, b'{"detail":"Not Found"}')
TIMEOUT = Reply(504, b"Request processing time exceeded limit")
INTERNAL_ERROR = Reply(500, b"Internal Server Error", TEXT)


def method_not_allowed(allowed: bytes) -> Reply:
    return Reply(405, b'{"detail":"Method Not Allowed"}', JSON, ((b"allow", allowed),))


def unavailable(model_name: str, alias: str, detail: str = "") -> Reply:
    """503 while no version is loaded: the compose healthcheck stays red, callers see why."""
    message = (f"no model loaded yet: waiting for models:/{model_name}@{alias}"
               + (f" ({detail})" if detail else "")
               + f" — set the alias with `python scripts/registry.py set-alias {model_name} "
               f"VERSION {alias}`")
    body = json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE", "message": message})
    return Reply(503, body.encode())


def error_reply(exc: BaseException) -> Reply:
    """What FastAPI + MLflow's exception wrapper answer for an exception from invocations."""
    if isinstance(exc, MlflowException):
        return Reply(exc.get_http_status_code(), exc.serialize_as_json().encode())
    return INTERNAL_ERROR


def reference_invocations(body: bytes, content_type: str | None, model, input_schema) -> Reply:
    """MLflow's own /invocations handler, minus FastAPI: the exact answer for any request."""
    try:
        result = invocations(body, content_type, model, input_schema)
    except Exception as exc:  # noqa: BLE001 — every exception becomes the status MLflow gives
        if not isinstance(exc, MlflowException):
            _mlflow_logger.exception("Exception in ASGI application")
        return error_reply(exc)
    mime = TEXT if result.mimetype == "text/plain" else result.mimetype.encode()
    return Reply(result.status, result.response.encode(), mime)


def accepts_params(model) -> bool:
    return "params" in inspect.signature(model.predict).parameters


def predict_like_mlflow(model, data, params, takes_params: bool):
    """``model.predict`` with the error handling of scoring_server.invocations."""
    try:
        if takes_params:
            return model.predict(data, params=params)
        _log_warning_if_params_not_in_predict_signature(_mlflow_logger, params)
        return model.predict(data)
    except MlflowException as e:
        e.message = f"Failed to predict data '{data}'. \nError: {e.message}"
        raise e
    except Exception:
        raise MlflowException(
            message=(
                "Encountered an unexpected error while evaluating the model. Verify"
                " that the serialized input Dataframe is compatible with the model for"
                " inference."
            ),
            error_code=BAD_REQUEST,
            stack_trace=traceback.format_exc(),
        ) from None


class _Buffer:
    """A write-only text sink cheaper than StringIO for json.dump's many small writes."""

    __slots__ = ("parts",)

    def __init__(self):
        self.parts: list[str] = []

    def write(self, s: str) -> None:
        self.parts.append(s)

    def getvalue(self) -> str:
        return "".join(self.parts)


def predictions_reply(raw_predictions, unified_llm_input: bool = False) -> Reply:
    out = _Buffer()
    if unified_llm_input:
        unwrapped_predictions_to_json(raw_predictions, out)
    else:
        predictions_to_json(raw_predictions, out)
    return Reply(200, out.getvalue().encode())
