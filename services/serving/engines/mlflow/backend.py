"""One `mlflow models serve --env-manager local` child per served version.

MLflow resolves ``models:/NAME@ALIAS`` once, at startup (mlflow/mlflow#4039), so following the
alias means a new server per version: started on a free loopback port from the folder the
supervisor downloaded, ready when /ping answers, warmed up with the model's own serving
example, stopped (its whole process group: mlflow execs uvicorn, which forks workers) once the
proxy no longer sends it anything.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from services.serving.errors import BackendStartFailed

log = logging.getLogger("serving.mlflow")
_ACCESS_LINE = re.compile(r'"(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH) [^"]* HTTP/[0-9.]+" \d{3}')


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServeBackend:
    """One `mlflow models serve` process (group) for one version, on a loopback port."""

    def __init__(self, version: str, model_path: Path, workers: int, env: Mapping[str, str]):
        self.version, self.model_path = version, model_path
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.env = workers, env
        self.proc: subprocess.Popen | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=40)

    def start(self) -> None:
        """Start the process; :meth:`wait_ready` tells when it answers."""
        env = self.env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(self.model_path),
             "--env-manager", "local", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group, stopped as a whole
        )
        threading.Thread(target=self._pump_output, name=f"mlflow-v{self.version}-log",
                         daemon=True).start()

    def _pump_output(self) -> None:
        prefix = f"[mlflow models serve v{self.version}] "
        for line in self.proc.stdout:
            line = line.rstrip()
            self.tail.append(line)
            # uvicorn's access log: one line per request, already counted in /metrics; at
            # thousands per second re-logging it would cost this process a CPU.
            if _ACCESS_LINE.search(line) is None:
                log.info("%s%s", prefix, line)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise BackendStartFailed(self.version, f"it exited with code "
                                         f"{self.proc.returncode}", "\n".join(self.tail))
            try:
                if requests.get(self.url + "/ping", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise BackendStartFailed(self.version, f"no 200 from /ping within {timeout:.0f}s",
                                 "\n".join(self.tail))

    def warm_up(self) -> None:
        """The model's serving example, twice per uvicorn worker (the kernel picks which)."""
        import requests

        example = self.model_path / "serving_input_example.json"
        if not example.exists():
            return
        body = example.read_bytes()
        for _ in range(2 * self.workers):
            try:
                requests.post(self.url + "/invocations", data=body, timeout=60,
                              headers={"Content-Type": "application/json"})
            except requests.RequestException as exc:
                log.warning("warm-up request to version %s failed: %s", self.version, exc)
                return

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
