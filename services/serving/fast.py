"""The ``fast`` engine: the model in this process, MLflow's scoring functions without FastAPI.

Requests are parsed, schema-checked and serialised by ``mlflow.pyfunc.scoring_server``'s own
``invocations`` — so bodies, status codes and error messages are those of ``mlflow models
serve`` — but called directly from a bare ASGI app on the event loop: no FastAPI routing, no
middleware, no thread hop per request. An alias move loads the new version next to the old one,
warms it up with its input example, then swaps one reference: in-flight requests finish on the
version they started with and no request fails.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from services.serving import metrics
from services.serving.asgi import error_body, header, read_body, respond

log = logging.getLogger("serving.fast")


@dataclass(frozen=True)
class LoadedModel:
    model: object
    input_schema: object
    version: str


class ModelSlot:
    """The model being served; replaced as a whole so a request sees one consistent version."""

    def __init__(self):
        self.current: LoadedModel | None = None

    def load(self, name: str, version: str) -> LoadedModel:
        import mlflow

        t0 = time.monotonic()
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
        loaded = LoadedModel(model, model.metadata.get_input_schema(), version)
        warm_up(loaded)
        log.info("loaded %s version %s in %.1fs", name, version, time.monotonic() - t0)
        return loaded

    def swap(self, loaded: LoadedModel) -> None:
        self.current = loaded


def warm_up(loaded: LoadedModel) -> None:
    """Run the logged input example once, so the first real request pays no lazy init."""
    try:
        example = loaded.model.input_example
    except Exception:  # noqa: BLE001 — models without an example simply skip warm-up
        example = None
    if example is None:
        return
    try:
        loaded.model.predict(example)
    except Exception as exc:  # noqa: BLE001 — a failing example must not block serving
        log.warning("warm-up prediction with the input example failed: %s", exc)


def build_app(slot: ModelSlot, model_name: str, alias: str):
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import invocations
    from mlflow.version import VERSION

    not_ready = error_body(
        f"model not loaded yet: waiting for models:/{model_name}@{alias} "
        f"(set it with `python scripts/registry.py set-alias {model_name} VERSION {alias}`)",
        "RESOURCE_DOES_NOT_EXIST",
    )

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/invocations" and method == "POST":
            status = await invocations_handler(scope, receive, send)
        elif path in ("/ping", "/health") and method == "GET":
            status = 200 if slot.current else 503
            await respond(send, status, "\n" if slot.current else not_ready)
        elif path == "/version" and method == "GET":
            status = 200
            await respond(send, 200, VERSION)
        elif path == "/metrics" and method == "GET":
            status = 200
            await respond(send, 200, metrics.render(), b"text/plain; version=0.0.4")
        else:
            status = 404 if path not in ("/invocations", "/ping", "/health", "/version") else 405
            await respond(send, status, error_body(f"{method} {path} not found",
                                                   "ENDPOINT_NOT_FOUND"))
        metrics.REQUESTS.labels(path if status != 404 else "other", str(status)).inc()

    async def invocations_handler(scope, receive, send) -> int:
        t0 = time.perf_counter()
        loaded = slot.current
        body = await read_body(receive)
        if loaded is None:
            await respond(send, 503, not_ready)
            return 503
        content_type = header(scope, b"content-type") or ""
        try:
            result = invocations(body, content_type, loaded.model, loaded.input_schema)
            status, payload, mime = result.status, result.response, result.mimetype
        except MlflowException as exc:
            status, payload, mime = exc.get_http_status_code(), exc.serialize_as_json(), \
                "application/json"
        await respond(send, status, payload, mime.encode())
        metrics.LATENCY.observe(time.perf_counter() - t0)
        return status

    return app
