"""MLflow's scoring protocol (mlflow/pyfunc/scoring_server), answered the way it answers.

Routes: POST /invocations, GET /ping, /health, /version — what `mlflow models serve` serves.

`mlflow models serve` is FastAPI around ``scoring_server.invocations``; this module is the same
contract without FastAPI: the reference path calls MLflow's own ``invocations`` (so bodies,
status codes and messages are MLflow's by construction), and the pieces the fast paths reuse —
predicting with MLflow's error handling, serialising predictions — mirror its code line for
line. /invocations tries, in order, the model's verified numeric fast path (runners.py), its
micro-batcher (batching.py), MLflow's handler in the prediction thread (model.py chose which
apply when the version loaded). tests/integration/test_serving_conformance.py holds both
servers to the same answers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from typing import TYPE_CHECKING

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST
from mlflow.pyfunc.model import _log_warning_if_params_not_in_predict_signature
from mlflow.pyfunc.scoring_server import (
    invocations,
    predictions_to_json,
    unwrapped_predictions_to_json,
)
from mlflow.version import VERSION

from services.serving import metrics
from services.serving.asgi import TEXT, Reply, read_body
from services.serving.engines.fast.parsing import parse_csv, parse_json
from services.serving.engines.fast.protocols import Route

if TYPE_CHECKING:
    from services.serving.engines.fast.app import FastState
    from services.serving.engines.fast.model import LoadedModel

log = logging.getLogger("serving.fast")

# MLflow logs its predict-time warnings under this name; keep them where users look for them.
_mlflow_logger = logging.getLogger("mlflow.pyfunc.scoring_server")

# Content types the fast paths take as JSON. Anything else (other charsets, parameters, case)
# goes through MLflow's own parsing, which decides between 200, 400 and 415 exactly as it does.
FAST_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8",
                             "application/json;charset=utf-8", "application/json; charset=UTF-8"})
FAST_CSV_TYPES = frozenset({"text/csv", "text/csv; charset=utf-8"})

PING_OK = Reply(200, b"\n")
VERSION_REPLY = Reply(200, VERSION.encode())
TIMEOUT = Reply(504, b"Request processing time exceeded limit")
INTERNAL_ERROR = Reply(500, b"Internal Server Error", TEXT)


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
    """Whether the pyfunc's ``predict`` takes ``params`` (MLflow passes them only then)."""
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
    """The 200 answer for ``raw_predictions``, serialised by MLflow's own functions."""
    out = _Buffer()
    if unified_llm_input:
        unwrapped_predictions_to_json(raw_predictions, out)
    else:
        predictions_to_json(raw_predictions, out)
    return Reply(200, out.getvalue().encode())


# --- routes -----------------------------------------------------------------------------------


def routes(state: FastState) -> dict[str, Route]:
    """MLflow's scoring routes, served from ``state.current``."""
    timeout = state.request_timeout

    async def in_thread(fn, *args):
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(state.executor, fn, *args), timeout)

    async def batched(model: LoadedModel, body: bytes) -> Reply:
        from mlflow.pyfunc.scoring_server import _parse_json_data

        from services.serving.engines.fast.batching import batchable

        try:
            parsed = _parse_json_data(body, model.pyfunc.metadata, model.input_schema)
        except Exception as exc:  # noqa: BLE001 — MLflow's status for MLflow's parse error
            return error_reply(exc)
        data = parsed.data
        try:
            if parsed.is_unified_llm_input or parsed.params is not None \
                    or not batchable(data):
                raw = await in_thread(predict_like_mlflow, model.pyfunc, data, parsed.params,
                                      model.takes_params)
                return predictions_reply(raw, parsed.is_unified_llm_input)
            raw = await asyncio.wait_for(model.batcher.predict(data), timeout)
        except TimeoutError:
            return TIMEOUT
        except Exception as exc:  # noqa: BLE001
            return error_reply(exc)
        metrics.count_prediction("batched")
        return predictions_reply(raw)

    async def invocations(scope, receive) -> Reply:
        # asgi.read_body's one-chunk case and the header lookup inlined: the container's hot path.
        message = await receive()
        body = message.get("body", b"")
        if message.get("more_body"):
            body += await read_body(receive)
        model = state.current
        if model is None:
            return state.waiting
        model.inflight += 1
        try:
            content_type = None
            for key, value in scope["headers"]:
                if key == b"content-type":
                    content_type = value.decode("latin-1")
                    break
            runner = model.runner
            if runner is not None:
                if content_type in FAST_JSON_TYPES:
                    x = parse_json(body, model.columns)
                elif content_type in FAST_CSV_TYPES and model.csv_fast:
                    x = parse_csv(body, model.columns)
                else:
                    x = None
                if x is not None:
                    try:
                        reply = runner.reply(x)
                    except Exception:  # verified at load; if not, MLflow's path answers
                        log.exception("fast path %s failed; answering through MLflow's path",
                                      runner.name)
                    else:
                        metrics.count_prediction(runner.name)
                        return reply
            if model.batcher is not None and content_type in FAST_JSON_TYPES:
                return await batched(model, body)
            try:
                reply = await in_thread(reference_invocations, body, content_type,
                                        model.pyfunc, model.input_schema)
            except TimeoutError:
                return TIMEOUT
            if reply.status == 200:
                metrics.count_prediction("mlflow")
            return reply
        finally:
            model.inflight -= 1

    async def ping(scope, receive) -> Reply:
        return PING_OK if state.current is not None else state.waiting

    async def version(scope, receive) -> Reply:
        return VERSION_REPLY

    return {
        "/invocations": Route({"POST": invocations}, timed=True),
        "/ping": Route({"GET": ping}),
        "/health": Route({"GET": ping}),
        "/version": Route({"GET": version}),
    }
