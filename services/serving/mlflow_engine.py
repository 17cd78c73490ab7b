"""The ``mlflow`` engine: ``mlflow models serve`` children behind a switchable proxy.

MLflow resolves ``models:/NAME@ALIAS`` once, when the server starts (mlflow/mlflow#4039). To
follow the alias, each version gets its own child ``mlflow models serve -m models:/NAME/V
--env-manager local`` on an internal port; this process proxies SERVING_PORT to the current
child. On an alias move the new child starts next to the old one, the proxy switches once the
new child answers /ping, and the old child is stopped after a drain period — so no request
fails.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import aiohttp

from services.serving import metrics
from services.serving.asgi import error_body, read_body, respond

log = logging.getLogger("serving.mlflow")
HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"host"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Backend:
    version: str
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class BackendSupervisor:
    """Starts, switches and retires `mlflow models serve` children."""

    def __init__(self, model_name: str, start_timeout: float, drain_seconds: float):
        self.model_name = model_name
        self.start_timeout = start_timeout
        self.drain_seconds = drain_seconds
        self.current: Backend | None = None

    def start(self, version: str) -> Backend:
        import requests

        port = _free_port()
        cmd = [sys.executable, "-m", "mlflow", "models", "serve",
               "-m", f"models:/{self.model_name}/{version}", "--env-manager", "local",
               "--host", "127.0.0.1", "--port", str(port)]
        env = {**os.environ,
               "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        backend = Backend(version, port, proc)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow models serve for version {version} exited with "
                                   f"{proc.returncode} before answering /ping (see log above)")
            try:
                if requests.get(backend.url + "/ping", timeout=2).status_code == 200:
                    return backend
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop(backend)
        raise RuntimeError(f"mlflow models serve for version {version} did not answer /ping "
                           f"within {self.start_timeout:.0f}s (SERVING_BACKEND_START_TIMEOUT)")

    def switch_to(self, version: str) -> None:
        new = self.start(version)
        old, self.current = self.current, new
        if old is not None:
            time.sleep(self.drain_seconds)  # requests already proxied to `old` finish
            self.stop(old)

    @staticmethod
    def stop(backend: Backend) -> None:
        if backend.proc.poll() is not None:
            return
        os.killpg(backend.proc.pid, signal.SIGTERM)
        try:
            backend.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(backend.proc.pid, signal.SIGKILL)
            backend.proc.wait()


def build_app(supervisor: BackendSupervisor, model_name: str, alias: str):
    not_ready = error_body(
        f"model not loaded yet: waiting for models:/{model_name}@{alias} "
        f"(set it with `python scripts/registry.py set-alias {model_name} VERSION {alias}`)",
        "RESOURCE_DOES_NOT_EXIST",
    )
    state: dict = {}

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    state["session"] = aiohttp.ClientSession(
                        timeout=aiohttp.ClientTimeout(total=None, sock_read=300))
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await state["session"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/metrics":
            await respond(send, 200, metrics.render(), b"text/plain; version=0.0.4")
            return
        backend = supervisor.current
        body = await read_body(receive)
        if backend is None:
            status = 503
            await respond(send, status, not_ready)
        else:
            t0 = time.perf_counter()
            headers = {k.decode(): v.decode("latin-1") for k, v in scope["headers"]
                       if k not in HOP_BY_HOP}
            url = backend.url + path + ("?" + scope["query_string"].decode()
                                        if scope.get("query_string") else "")
            async with state["session"].request(scope["method"], url, data=body,
                                                headers=headers) as resp:
                payload = await resp.read()
                status = resp.status
                content_type = resp.headers.get("content-type", "application/json")
            await respond(send, status, payload, content_type.encode())
            if path == "/invocations":
                metrics.LATENCY.observe(time.perf_counter() - t0)
        metrics.REQUESTS.labels(path if path in ("/invocations", "/ping", "/health",
                                                  "/version") else "other", str(status)).inc()

    return app
