"""The fast engine's ASGI app: MLflow's routes, served from the model in this process.

A bare ASGI callable rather than a framework: four routes do not need routing tables or
middleware, and each layer costs on a path whose whole budget is a fraction of a millisecond.
The model is read once per request from ``state.current``; a hot swap replaces that reference,
so a request finishes on the version it started with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from services.serving import metrics
from services.serving.asgi import PROMETHEUS, Reply, header, read_body, send_reply
from services.serving.engines.fast.batching import MicroBatcher, batchable
from services.serving.engines.fast.model import LoadedModel
from services.serving.engines.fast.parsing import parse_csv, parse_json
from services.serving.protocol import (
    FAST_CSV_TYPES,
    FAST_JSON_TYPES,
    NOT_FOUND,
    PING_OK,
    TIMEOUT,
    VERSION_REPLY,
    error_reply,
    method_not_allowed,
    predict_like_mlflow,
    predictions_reply,
    reference_invocations,
    unavailable,
)

log = logging.getLogger("serving.fast")


class FastState:
    """What the app serves; the worker's control thread swaps ``current``."""

    def __init__(self, model_name: str, alias: str, request_timeout: float = 60.0,
                 max_batch_size: int = 32, max_batch_wait: float = 0.0):
        self.model_name, self.alias = model_name, alias
        self.current: LoadedModel | None = None
        self.request_timeout = request_timeout
        self.max_batch_size, self.max_batch_wait = max_batch_size, max_batch_wait
        # One prediction thread: MLflow's path and batches run here, off the event loop, one
        # at a time (the worker is one CPU's worth of work; more threads would only contend).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self.waiting = unavailable(model_name, alias)

    def activate(self, model: LoadedModel) -> LoadedModel | None:
        """Serve ``model`` from the next request on; returns the model it replaces."""
        if model.batching:
            model.batcher = MicroBatcher(
                lambda frame, m=model: predict_like_mlflow(m.pyfunc, frame, None,
                                                           m.takes_params),
                self.executor, self.max_batch_size, self.max_batch_wait,
                on_batch=metrics.BATCH_ROWS.observe)
        previous, self.current = self.current, model
        return previous


def build_app(state: FastState):
    timeout = state.request_timeout

    async def in_thread(fn, *args):
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(state.executor, fn, *args), timeout)

    async def batched(model: LoadedModel, body: bytes) -> Reply:
        from mlflow.pyfunc.scoring_server import _parse_json_data

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

    async def invoke(scope, receive) -> Reply:
        body = await read_body(receive)
        model = state.current
        if model is None:
            return state.waiting
        model.inflight += 1
        try:
            content_type = header(scope, b"content-type")
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

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        path, method = scope["path"], scope["method"]
        if path == "/invocations":
            reply = await invoke(scope, receive) if method == "POST" \
                else method_not_allowed(b"POST")
        elif path == "/ping" or path == "/health":
            if method != "GET":
                reply = method_not_allowed(b"GET")
            else:
                reply = PING_OK if state.current is not None else state.waiting
        elif path == "/version":
            reply = VERSION_REPLY if method == "GET" else method_not_allowed(b"GET")
        elif path == "/metrics" and method == "GET":
            reply = Reply(200, metrics.render(), PROMETHEUS)
        else:
            reply = NOT_FOUND
        await send_reply(send, reply)
        metrics.observe_request(path, reply.status, started)

    return app
