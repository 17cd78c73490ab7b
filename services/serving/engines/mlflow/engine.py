"""The mlflow engine: one `mlflow models serve` per version, one proxy process in front.

Supervisor side: preparing a version starts its backend (:meth:`MlflowEngine._start_backend`,
the one place a backend is built and started), activating it points the proxy at it, retiring
the old version stops its backend once the proxy drained it, and a backend that died is
restarted on the served version. Worker side: the proxy app and :class:`ProxyControl`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from services.serving.engines.base import Served, drain
from services.serving.engines.mlflow.backend import MlflowServeBackend
from services.serving.errors import ServingError
from services.serving.messages import Activate, Activated, Command, Failed, Reply
from services.serving.settings import ServingSettings, inherited_environment

log = logging.getLogger("serving.mlflow")


@dataclass(frozen=True)
class ActivateBackend(Activate):
    """Activate, for a proxy: where the version's `mlflow models serve` listens."""

    url: str = ""


@dataclass(frozen=True)
class BackendSummary:
    """A prepared version of the mlflow engine: the backend serving it."""

    port: int

    def describe(self) -> str:
        return f"mlflow models serve on 127.0.0.1:{self.port}"


class MlflowEngine:
    name = "mlflow"

    def __init__(self, settings: ServingSettings):
        self.settings = settings
        self.backends: dict[str, MlflowServeBackend] = {}  # version -> its running backend

    def worker_processes(self) -> int:
        return 1  # the proxy; `mlflow models serve --workers` does the parallel work

    # --- supervisor side ----------------------------------------------------------------------

    def _start_backend(self, version: str, path: Path) -> MlflowServeBackend:
        """Start, wait for and warm up `mlflow models serve` for ``version``; stopped again if
        it does not become ready (BackendStartFailed)."""
        s = self.settings
        env = inherited_environment(
            MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT=str(int(s.request_timeout)),
            PROMETHEUS_MULTIPROC_DIR=None)  # our metrics directory is not its to write into
        backend = MlflowServeBackend(version, path, s.workers, env)
        self.backends[version] = backend  # before start: stop() must find a half-started one
        try:
            backend.start()
            backend.wait_ready(s.load_timeout)
            backend.warm_up()
        except ServingError:
            backend.stop()
            if self.backends.get(version) is backend:
                del self.backends[version]
            raise
        return backend

    def prepare(self, version, path, pool, workers) -> BackendSummary:
        # A restarted proxy is brought up to the running backend; a switch starts a new one.
        backend = self.backends.get(version)
        if backend is None or not backend.alive:
            backend = self._start_backend(version, path)
        return BackendSummary(backend.port)

    def activation(self, version: str) -> ActivateBackend:
        return ActivateBackend(version, self.backends[version].url)

    def retire(self, version: str) -> None:
        backend = self.backends.pop(version, None)
        if backend is not None:
            backend.stop()

    def keep_alive(self, pool, served: Served | None) -> None:
        backend = self.backends.get(served.version) if served else None
        if backend is None or backend.alive:
            return
        log.error("mlflow models serve for version %s exited with code %s; restarting it",
                  served.version, backend.proc.returncode)
        try:
            self._start_backend(served.version, served.path)
        except ServingError as exc:
            # Keep the dead one on record: the next tick sees it and tries again.
            self.backends[served.version] = backend
            log.error("%s; retrying at the next poll", exc)
            return
        pool.broadcast(self.activation(served.version), self.settings.request_timeout + 30)

    def stop(self) -> None:
        for backend in list(self.backends.values()):
            backend.stop()
        self.backends.clear()

    # --- worker side --------------------------------------------------------------------------

    def serve(self):
        from services.serving.engines.mlflow.proxy import ProxyState, build_app

        s = self.settings
        state = ProxyState(s.model_name, s.model_alias, s.request_timeout)
        return build_app(state), ProxyControl(state, s)


class ProxyControl:
    """Commands for the proxy worker: Activate points it at another backend."""

    def __init__(self, state, settings: ServingSettings):
        self.state, self.settings = state, settings

    def handle(self, command: Command) -> Reply:
        from services.serving import metrics

        # Only activations: the supervisor starts backends itself, so nothing loads here.
        if isinstance(command, ActivateBackend):
            previous = self.state.switch(command.version, command.url)
            metrics.set_served(self.settings.model_name, self.settings.model_alias,
                               command.version, MlflowEngine.name,
                               previous.version if previous else None)
            drained = drain(lambda: previous.inflight if previous else 0,
                            self.settings.request_timeout + 1)
            return Activated(command.version, drained)
        return Failed(getattr(command, "version", ""), f"unknown command {command!r}")
