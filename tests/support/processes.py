"""Local HTTP servers that tests and benchmarks start as subprocesses: `mlflow models serve`,
`python -m services.serving`, a bare uvicorn app.

Each runs in its own session (process group), so stopping it also stops the workers it
spawned; its output goes to a log file whose tail is shown when it fails to come up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.net import free_port


def python_env(**extra: str) -> dict[str, str]:
    """This environment with this interpreter's bin/ first on PATH: `mlflow models serve`
    execs `uvicorn` from PATH, which must be the one installed next to this Python."""
    bindir = os.path.dirname(sys.executable)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), **extra}


def mlflow_models_serve(model_uri: str, port: int | str) -> list[str]:
    """The command line of `mlflow models serve` for ``model_uri`` on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
            "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)]


class ServerProcess:
    """A server subprocess on a free 127.0.0.1 port. ``command`` may contain ``{port}``."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path,
                 cwd: Path | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.command = [c.replace("{port}", str(self.port)) for c in command]
        self._log = open(log_path, "wb")  # noqa: SIM115 — closed in stop()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.command, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=cwd,
                                     start_new_session=True)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_ready(self, timeout: float, path: str = "/ping") -> ServerProcess:
        """Return once GET ``path`` answers 200; RuntimeError naming the command and the log
        tail if the process exits or ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{' '.join(self.command[:5])} exited with "
                                   f"{self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + path, timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{' '.join(self.command[:5])} did not answer {path} with 200 "
                           f"within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the process group (graceful), SIGKILL it after ``timeout`` seconds."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
