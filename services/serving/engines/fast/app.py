"""The fast engine's ASGI app: the registered protocols' routes, served from this process.

A bare ASGI callable and a dict of routes rather than a framework: each layer costs on a path
whose whole budget is a fraction of a millisecond. The routes come from ``protocols/`` (one
module per protocol); this module adds what every protocol shares: /metrics, 404 and 405,
request counts and latency.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from services.serving import metrics
from services.serving.asgi import (
    NOT_FOUND,
    PROMETHEUS,
    Reply,
    reply_headers,
    send_reply,
    unavailable,
)
from services.serving.engines.fast import protocols
from services.serving.engines.fast.batching import MicroBatcher
from services.serving.engines.fast.model import LoadedModel
from services.serving.engines.fast.protocols import Route
from services.serving.engines.fast.protocols.mlflow_scoring import predict_like_mlflow

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


async def _metrics(scope, receive) -> Reply:
    return Reply(200, metrics.render(), PROMETHEUS)


def build_app(state: FastState):
    """The ASGI app serving ``state`` over every protocol in ``protocols.PROTOCOLS``."""
    table = protocols.routes(state)
    # Not FastAPI's 405 for a POST: /metrics is ours, and answered 404 to other methods.
    table["/metrics"] = Route({"GET": _metrics}, not_allowed=NOT_FOUND)

    perf_counter, observe_request = time.perf_counter, metrics.observe_request

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        started = perf_counter()
        path = scope["path"]
        route = table.get(path)
        if route is None:
            await send_reply(send, NOT_FOUND)
            observe_request("other", NOT_FOUND.status, None)
            return
        handler = route.handlers.get(scope["method"])
        reply = route.not_allowed if handler is None else await handler(scope, receive)
        # asgi.send_reply inlined: one coroutine less per request.
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": reply_headers(reply)})
        await send({"type": "http.response.body", "body": reply.body})
        observe_request(path, reply.status, started if route.timed else None)

    return app
