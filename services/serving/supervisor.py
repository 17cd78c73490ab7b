"""The serving container's main process: a worker pool, an alias follower, an engine.

:class:`~services.serving.pool.WorkerPool` binds the port and keeps the workers alive;
:class:`~services.serving.follower.AliasFollower` moves them to the version the alias points
at; the engine (``engines/``, chosen by SERVING_ENGINE) says what preparing and activating a
version means and restarts what it runs besides the workers. One thread ticks all three every
poll interval; the main thread waits for SIGTERM/SIGINT, then workers stop accepting, finish
in-flight requests (SERVING_GRACEFUL_TIMEOUT) and exit; so does this process.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from services.serving.engines import engine_class
from services.serving.follower import AliasFollower
from services.serving.pool import WorkerPool
from services.serving.settings import ServingSettings

log = logging.getLogger("serving")


class Supervisor:
    def __init__(self, settings: ServingSettings):
        self.settings = settings
        self.stop = threading.Event()
        self.engine = engine_class(settings.engine)(settings)

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; the exit code."""
        s = self.settings
        # Workers inherit this process's environment (spawn): thread pool sizes, registry.
        os.environ.update(s.child_environment())
        # A fresh directory per start: stale files of dead pids would be summed into /metrics.
        # prometheus_client reads the variable itself, in this process (switch metrics) and in
        # every worker, to keep its values in files there that /metrics sums.
        metrics_dir = Path(tempfile.mkdtemp(prefix="serving-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        pool = WorkerPool(s, self.engine.worker_processes(), metrics_dir, self.stop)
        follower = AliasFollower(s, pool, self.engine)
        try:
            pool.start()
            log.info("serving %s with the %s engine on %s:%d: %d worker(s), %d intra-op "
                     "thread(s) each, registry %s polled every %gs", s.alias_uri, s.engine,
                     s.host, s.port, s.workers, s.intra_op_threads, s.tracking_uri,
                     s.poll_interval)
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
            ticker = threading.Thread(target=self._tick_until_stopped, args=(pool, follower),
                                      name="alias-follower", daemon=True)
            ticker.start()
            while not self.stop.wait(0.5):
                pass
            pool.shutdown(s.graceful_timeout)
            ticker.join(timeout=5)
        finally:
            self.stop.set()
            self.engine.stop()
            follower.cleanup()
            shutil.rmtree(metrics_dir, ignore_errors=True)
        log.info("stopped")
        return 0

    def _on_signal(self, signum, _frame) -> None:
        if not self.stop.is_set():
            log.info("%s: stopping; in-flight requests get up to %gs",
                     signal.Signals(signum).name, self.settings.graceful_timeout)
        self.stop.set()

    def _tick_until_stopped(self, pool: WorkerPool, follower: AliasFollower) -> None:
        s = self.settings
        while not self.stop.is_set():
            try:
                for worker in pool.restart_dead():
                    follower.bring_up(worker)
                if not self.stop.is_set():
                    self.engine.keep_alive(pool, follower.served)
                follower.poll()
            except Exception:  # a bug here must not end following; it is logged and retried
                log.exception("unexpected error while following %s; retrying", s.alias_uri)
            self.stop.wait(s.poll_interval)
