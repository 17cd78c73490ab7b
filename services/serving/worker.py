"""A worker process: uvicorn on the supervisor's listening socket + a control thread.

The control thread executes the supervisor's commands (control.py) one at a time — loading a
version while the event loop keeps answering with the current one — and stops the server when
the supervisor goes away (its pipe closes), so a killed supervisor leaves no orphans.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback

from services.serving.control import Activate, Activated, Discard, Failed, Load, Loaded
from services.serving.settings import ServingSettings

log = logging.getLogger("serving.worker")


class FastControl:
    """Commands for a fast worker: Load builds a LoadedModel next to the served one."""

    def __init__(self, state, settings: ServingSettings):
        self.state, self.settings = state, settings
        self.staged: dict = {}

    def handle(self, command):
        from services.serving import metrics
        from services.serving.engines.fast import model as fast_model

        if isinstance(command, Load):
            try:
                loaded = fast_model.load(command.path, command.version, self.settings.batching)
            except Exception as exc:  # noqa: BLE001 — reported to the supervisor, which logs
                return Failed(command.version, _describe(exc))
            self.staged[command.version] = loaded
            return Loaded(command.version, loaded.summary)
        if isinstance(command, Discard):
            self.staged.pop(command.version, None)
            return Loaded(command.version, {})
        if isinstance(command, Activate):
            model = self.staged.pop(command.version, None)
            if model is None:
                return Failed(command.version, "activate before load")
            previous = self.state.activate(model)
            metrics.set_served(self.settings.model_name, self.settings.model_alias,
                               command.version, "fast",
                               previous.version if previous else None)
            drained = _drain(lambda: previous.inflight if previous else 0,
                             self.settings.request_timeout + 1)
            if previous is not None and previous.batcher is not None:
                previous.batcher.close()
            return Activated(command.version, previous.version if previous else None, drained)
        return Failed("", f"unknown command {command!r}")


class ProxyControl:
    """Commands for an mlflow-engine proxy worker: Activate points it at another backend."""

    def __init__(self, state, settings: ServingSettings):
        self.state, self.settings = state, settings

    def handle(self, command):
        from services.serving import metrics

        if isinstance(command, Load | Discard):
            return Loaded(command.version, {})  # the supervisor starts backends itself
        if isinstance(command, Activate):
            previous = self.state.switch(command.version, command.backend_url)
            metrics.set_served(self.settings.model_name, self.settings.model_alias,
                               command.version, "mlflow",
                               previous.version if previous else None)
            drained = _drain(lambda: previous.inflight if previous else 0,
                             self.settings.request_timeout + 1)
            return Activated(command.version, previous.version if previous else None, drained)
        return Failed("", f"unknown command {command!r}")


def _drain(inflight, limit: float) -> float:
    """Wait until the replaced version has no request in flight; the seconds it took."""
    t0 = time.monotonic()
    while inflight() > 0 and time.monotonic() - t0 < limit:
        time.sleep(0.002)
    return time.monotonic() - t0


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run(index: int, settings: ServingSettings, sock, conn) -> None:
    """Process entry point (multiprocessing spawn target)."""
    logging.basicConfig(level=settings.log_level,
                        format=f"%(asctime)s %(levelname)s worker-{index} %(name)s: %(message)s")
    # mlflow's scoring server sets this before serving; some input handling depends on it.
    os.environ["_MLFLOW_IS_IN_SERVING_ENVIRONMENT"] = "true"
    import uvicorn

    if settings.engine == "fast":
        from services.serving.engines.fast.app import FastState, build_app

        state = FastState(settings.model_name, settings.model_alias, settings.request_timeout,
                          settings.max_batch_size, settings.max_batch_wait_ms / 1000)
        app, control = build_app(state), FastControl(state, settings)
    else:
        from services.serving.engines.mlflow.proxy import ProxyState, build_app

        state = ProxyState(settings.model_name, settings.model_alias, settings.request_timeout)
        app, control = build_app(state), ProxyControl(state, settings)

    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", ws="none", lifespan="off", access_log=False,
        log_level=settings.log_level.lower() if settings.log_level != "INFO" else "warning",
        timeout_graceful_shutdown=int(settings.graceful_timeout) or None,
        server_header=False,
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
                reply = Failed(getattr(command, "version", ""), _describe(exc))
            try:
                conn.send(reply)
            except (OSError, EOFError):
                server.should_exit = True
                return

    threading.Thread(target=serve_commands, name="control", daemon=True).start()
    server.run(sockets=[sock])
