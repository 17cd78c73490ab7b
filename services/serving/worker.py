"""A worker process: uvicorn on the pool's listening socket + a control thread.

The engine (engines/, by SERVING_ENGINE) provides the ASGI app and the control. The control
thread executes the supervisor's commands (messages.py) one at a time — loading a version
while the event loop keeps answering with the current one — and stops the server when the
supervisor goes away (its pipe closes), so a killed supervisor leaves no orphans.
"""

from __future__ import annotations

import logging
import os
import threading

from services.serving.engines.base import describe_exception
from services.serving.messages import Failed
from services.serving.settings import ServingSettings

log = logging.getLogger("serving.worker")


def run(index: int, settings: ServingSettings, sock, conn, metrics_dir: str) -> None:
    """Process entry point (multiprocessing spawn target)."""
    logging.basicConfig(level=settings.log_level,
                        format=f"%(asctime)s %(levelname)s worker-{index} %(name)s: %(message)s")
    # mlflow's scoring server sets this before serving; some input handling depends on it.
    os.environ["_MLFLOW_IS_IN_SERVING_ENVIRONMENT"] = "true"
    import uvicorn

    from services.serving import metrics
    from services.serving.engines import engine_class

    metrics.collect_from(metrics_dir)
    app, control = engine_class(settings.engine)(settings).serve()
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", ws="none", lifespan="off", access_log=False,
        log_level=settings.log_level.lower() if settings.log_level != "INFO" else "warning",
        timeout_graceful_shutdown=int(settings.graceful_timeout) or None,
        server_header=False,
        # X-Forwarded-* only rewrite scope["client"] / ["scheme"], which nothing here reads
        # (no access log); the middleware would cost every request a layer.
        proxy_headers=False,
    )
    server = uvicorn.Server(config)

    def serve_commands() -> None:
        while True:
            try:
                command = conn.recv()
            except (EOFError, OSError):
                log.warning("supervisor gone; shutting down")
                server.should_exit = True
                return
            try:
                reply = control.handle(command)
            except Exception as exc:  # noqa: BLE001 — never leave the supervisor waiting
                reply = Failed(getattr(command, "version", ""), describe_exception(exc))
            try:
                conn.send(reply)
            except (OSError, EOFError):
                server.should_exit = True
                return

    threading.Thread(target=serve_commands, name="control", daemon=True).start()
    server.run(sockets=[sock])
