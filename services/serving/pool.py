"""The worker processes: one listening socket, spawned workers on it, restarts, commands.

The pool binds SERVING_PORT once and starts the workers (spawn context: no state forked from
this process) on that socket; the kernel spreads connections over them. Commands reach every
worker at once (``broadcast``) and their replies are collected in parallel. A dead worker is
replaced by a fresh one with the same index; bringing it up to the served version is the
follower's job (it knows the version), the pool only reports which workers are new.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import threading
import time
from pathlib import Path

from services.serving.errors import ServingError
from services.serving.messages import Command, Reply
from services.serving.settings import ServingSettings

log = logging.getLogger("serving")


class WorkerHandle:
    """The supervisor's side of one worker process: its pipe and its process."""

    def __init__(self, index: int, process, conn):
        self.index, self.process, self.conn = index, process, conn

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, command: Command) -> bool:
        """Hand the worker a command; False if it is gone."""
        try:
            self.conn.send(command)
            return True
        except (OSError, EOFError, BrokenPipeError):
            return False

    def receive(self, deadline: float) -> Reply | None:
        """The reply to the last command; None if the worker died or the deadline passed."""
        while True:
            remaining = deadline - time.monotonic()
            try:
                if self.conn.poll(max(0.0, min(remaining, 1.0))):
                    return self.conn.recv()
            except (OSError, EOFError):
                return None
            if remaining <= 0 or not self.alive:
                return None


class WorkerPool:
    """``size`` worker processes sharing one listening socket."""

    def __init__(self, settings: ServingSettings, size: int, metrics_dir: Path,
                 stop: threading.Event):
        self.settings, self.size, self.metrics_dir, self.stop = settings, size, metrics_dir, stop
        self.lock = threading.Lock()  # guards the worker table against shutdown
        self.workers: list[WorkerHandle] = []
        self.sock: socket.socket | None = None
        self._mp = multiprocessing.get_context("spawn")

    def start(self) -> None:
        """Bind the port and start every worker."""
        self.sock = self._bind()
        with self.lock:
            self.workers = [self._spawn(index) for index in range(self.size)]

    def _bind(self) -> socket.socket:
        s = self.settings
        family = socket.AF_INET6 if ":" in s.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((s.host, s.port))
        except OSError as exc:
            raise ServingError(f"cannot listen on {s.host}:{s.port}: {exc} — another process "
                               "uses the port; set SERVING_PORT") from exc
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock

    def _spawn(self, index: int) -> WorkerHandle:
        from services.serving import worker

        parent, child = self._mp.Pipe()
        process = self._mp.Process(target=worker.run, name=f"serving-worker-{index}",
                                   args=(index, self.settings, self.sock, child,
                                         str(self.metrics_dir)))
        process.start()
        child.close()
        return WorkerHandle(index, process, parent)

    def broadcast(self, command: Command, timeout: float,
                  workers: list[WorkerHandle] | None = None) -> dict[int, Reply | None]:
        """Send ``command`` to every worker (or to ``workers``), then collect the replies: worker
        index → reply, None for a worker that died or did not answer within ``timeout``."""
        deadline = time.monotonic() + timeout
        if workers is None:
            with self.lock:
                workers = list(self.workers)
        sent = [w for w in workers if w.send(command)]
        return {w.index: w.receive(deadline) for w in sent}

    def restart_dead(self) -> list[WorkerHandle]:
        """Replace every worker that exited; returns the fresh ones (serving nothing yet)."""
        fresh = []
        for i, w in enumerate(list(self.workers)):
            if w.alive or self.stop.is_set():
                continue
            log.warning("worker %d exited with code %s; restarting it", w.index,
                        w.process.exitcode)
            self._forget_metrics_of(w.process.pid)
            with self.lock:
                if self.stop.is_set():
                    break
                self.workers[i] = self._spawn(w.index)
                fresh.append(self.workers[i])
        return fresh

    def _forget_metrics_of(self, pid: int | None) -> None:
        # Its live gauges (serving_model_info) must not be summed into /metrics any more.
        if pid:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid, str(self.metrics_dir))

    def shutdown(self, graceful_timeout: float) -> None:
        """SIGTERM every worker (uvicorn finishes in-flight requests), kill stragglers."""
        with self.lock:
            workers = list(self.workers)
        for w in workers:
            if w.alive:
                w.process.terminate()
        deadline = time.monotonic() + graceful_timeout + 5
        for w in workers:
            w.process.join(timeout=max(0.1, deadline - time.monotonic()))
            if w.process.is_alive():
                log.warning("worker %d did not stop in time; killing it", w.index)
                w.process.kill()
                w.process.join()
        if self.sock is not None:
            self.sock.close()
