"""The serving container's main process: workers, the alias they serve, and switching it.

It binds SERVING_PORT once and starts the worker processes on that socket (the kernel spreads
connections over them), then follows ``models:/NAME@ALIAS`` from one thread:

- until the alias resolves, workers answer /ping and /invocations with 503 (the compose
  healthcheck stays red) and the wait is logged at growing intervals;
- when it resolves to a new version: download it once, have every worker load, verify and
  warm it up next to the served one (mlflow engine: start a new `mlflow models serve`),
  then activate it everywhere at once and retire the old one after its in-flight requests;
- a failed load keeps the current version serving and is retried with growing delays;
- a dead worker (or mlflow child) is restarted and brought up to the served version;
- SIGTERM/SIGINT: workers stop accepting, finish in-flight requests (SERVING_GRACEFUL_TIMEOUT)
  and exit; so does this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

from services.serving.alias import (
    FAIL_FAST_HTTP,
    AliasMissing,
    AliasResolver,
    RegistryUnavailable,
    ThrottledLog,
)
from services.serving.control import Activate, Activated, Discard, Load, Loaded, WorkerHandle
from services.serving.errors import ModelLoadFailed, ServingError
from services.serving.settings import ServingSettings

log = logging.getLogger("serving")

# Set before any worker imports numpy/torch/onnxruntime, so each sizes its thread pools to its
# share of the CPUs; a value already in the environment wins.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "ONNX_INTRA_OP_THREADS")
RETRY_CAP_SECONDS = 600.0


class Supervisor:
    def __init__(self, settings: ServingSettings):
        self.settings = settings
        self.stop = threading.Event()
        self.lock = threading.Lock()  # guards the worker table against shutdown
        self.workers: list[WorkerHandle] = []
        self.served: str | None = None
        self.served_path: Path | None = None
        self.backend = None  # mlflow engine: the MlflowServeBackend of the served version
        self.starting_backends: list = []
        self.failures: dict[str, tuple[int, float]] = {}  # version -> (attempts, retry at)
        self.sock: socket.socket | None = None
        self._own_model_dir = settings.model_dir is None
        self.model_dir = settings.model_dir or Path(tempfile.mkdtemp(prefix="serving-models-"))
        self._mp = multiprocessing.get_context("spawn")
        self.throttle = ThrottledLog(log)

    # --- lifecycle ----------------------------------------------------------------------------

    def run(self) -> int:
        s = self.settings
        self._prepare_environment()
        self.sock = self._bind()
        log.info("serving %s with the %s engine on %s:%d: %d worker(s), %d intra-op thread(s) "
                 "each, registry %s polled every %gs", s.alias_uri, s.engine, s.host, s.port,
                 s.workers, s.intra_op_threads, s.tracking_uri, s.poll_interval)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        n_processes = s.workers if s.engine == "fast" else 1  # mlflow: one proxy process
        for index in range(n_processes):
            self.workers.append(self._spawn(index))
        follower = threading.Thread(target=self._follow, name="alias-follower", daemon=True)
        follower.start()
        while not self.stop.wait(0.5):
            pass
        self._shutdown()
        follower.join(timeout=5)
        return 0

    def _on_signal(self, signum, _frame) -> None:
        if not self.stop.is_set():
            log.info("%s: stopping; in-flight requests get up to %gs",
                     signal.Signals(signum).name, self.settings.graceful_timeout)
        self.stop.set()

    def _prepare_environment(self) -> None:
        threads = str(self.settings.intra_op_threads)
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, threads)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # A progress bar per download is noise in container logs.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ["MLFLOW_TRACKING_URI"] = self.settings.tracking_uri
        for name, value in FAIL_FAST_HTTP.items():
            os.environ.setdefault(name, value)
        # A fresh directory per start: stale files of dead pids would be summed into /metrics.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="serving-metrics-")

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
                                   args=(index, self.settings, self.sock, child))
        process.start()
        child.close()
        return WorkerHandle(index, process, parent)

    def _shutdown(self) -> None:
        with self.lock:
            workers = list(self.workers)
        for w in workers:
            if w.alive:
                w.process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + self.settings.graceful_timeout + 5
        for w in workers:
            w.process.join(timeout=max(0.1, deadline - time.monotonic()))
            if w.process.is_alive():
                log.warning("worker %d did not stop in time; killing it", w.index)
                w.process.kill()
                w.process.join()
        for backend in [self.backend, *self.starting_backends]:
            if backend is not None:
                backend.stop()
        if self.sock is not None:
            self.sock.close()
        if self._own_model_dir:
            shutil.rmtree(self.model_dir, ignore_errors=True)
        shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)
        log.info("stopped")

    # --- following the alias ------------------------------------------------------------------

    def _follow(self) -> None:
        s = self.settings
        resolver = AliasResolver(s.model_name, s.model_alias, s.tracking_uri)
        while not self.stop.is_set():
            try:
                self._supervise()
                self._poll(resolver)
            except Exception:  # a bug here must not end following; it is logged and retried
                log.exception("unexpected error while following %s; retrying", s.alias_uri)
            self.stop.wait(s.poll_interval)

    def _poll(self, resolver: AliasResolver) -> None:
        s = self.settings
        try:
            version = resolver.version()
        except RegistryUnavailable as exc:
            self.throttle.report(
                "unreachable", "registry %s not reachable (%s); %s — check MLFLOW_TRACKING_URI "
                "and that the mlflow service is up", s.tracking_uri, exc, self._serving_note())
            return
        except AliasMissing as missing:
            if self.served is None:
                self.throttle.report("missing", "waiting for %s: %s; /ping answers 503 until "
                                     "then", s.alias_uri, resolver.describe_missing(missing))
            else:
                self.throttle.report("deleted", "%s no longer resolves (%s); still serving "
                                     "version %s", s.alias_uri,
                                     resolver.describe_missing(missing), self.served)
            return
        self.throttle.clear()
        if version == self.served:
            return
        attempts, retry_at = self.failures.get(version, (0, 0.0))
        if time.monotonic() < retry_at:
            return
        try:
            self._switch(resolver, version)
            self.failures.pop(version, None)
        except ServingError as exc:
            delay = min(s.poll_interval * 2 ** (attempts + 1), RETRY_CAP_SECONDS)
            self.failures[version] = (attempts + 1, time.monotonic() + delay)
            log.error("%s; retrying in %.0fs", exc, delay)

    def _serving_note(self) -> str:
        return f"still serving version {self.served}" if self.served \
            else "nothing served yet, /ping answers 503"

    def _switch(self, resolver: AliasResolver, version: str) -> None:
        s = self.settings
        was = self.served
        log.info("%s → version %s (serving %s): downloading", s.alias_uri, version,
                 was or "nothing")
        t0 = time.monotonic()
        try:
            path = resolver.download(version, self.model_dir)
        except Exception as exc:  # noqa: BLE001 — registry/artifact store hiccups
            raise ModelLoadFailed(s.model_name, version,
                                  f"download failed: {type(exc).__name__}: {exc}") from None
        t_download = time.monotonic() - t0
        try:
            summary, backend = self._prepare(version, path)
        except ServingError:
            if path != self.served_path:
                shutil.rmtree(path, ignore_errors=True)
            raise
        t_prepared = time.monotonic() - t0
        replies = self._broadcast(Activate(version, backend.url if backend else None),
                                  s.request_timeout + 30)
        drained = max((r.drain_seconds for r in replies.values()
                       if isinstance(r, Activated)), default=0.0)
        old_backend, old_path = self.backend, self.served_path
        self.backend, self.served, self.served_path = backend, version, path
        for w in self.workers:
            w.version = version
        t_total = time.monotonic() - t0
        if old_backend is not None:
            old_backend.stop()
        if old_path is not None and old_path != path:
            shutil.rmtree(old_path, ignore_errors=True)
        from services.serving import metrics

        metrics.SWITCHES.inc()
        metrics.SWITCH_SECONDS.set(t_total)
        log.info("now serving %s version %s (was %s): switch took %.2fs — download %.2fs, "
                 "load + verify + warm-up %.2fs [%s], activation %.0fms, old version drained "
                 "in %.0fms", s.model_name, version, was or "nothing", t_total, t_download,
                 t_prepared - t_download, _describe_summary(summary),
                 (t_total - t_prepared) * 1000, drained * 1000)

    def _prepare(self, version: str, path: Path):
        """Everything up to the switch itself; raises ModelLoadFailed leaving nothing behind."""
        s = self.settings
        if s.engine == "mlflow":
            from services.serving.engines.mlflow.backend import MlflowServeBackend

            backend = MlflowServeBackend(version, path, s.workers, s.request_timeout)
            self.starting_backends.append(backend)
            try:
                backend.start()
                backend.wait_ready(s.load_timeout)
                backend.warm_up()
            except ServingError:
                backend.stop()
                raise
            finally:
                self.starting_backends.remove(backend)
            return {"engine": "mlflow", "port": backend.port}, backend
        replies = self._broadcast(Load(version, str(path)), s.load_timeout)
        failed = {i: r for i, r in replies.items() if not isinstance(r, Loaded)}
        if failed:
            self._broadcast(Discard(version), 30)
            index, reply = next(iter(failed.items()))
            cause = getattr(reply, "error", None) or f"worker {index} died or timed out " \
                f"(SERVING_LOAD_TIMEOUT={s.load_timeout:g}s)"
            raise ModelLoadFailed(s.model_name, version, cause)
        return next(iter(replies.values())).summary, None

    def _broadcast(self, command, timeout: float) -> dict:
        """Send ``command`` to every worker, then collect the replies (in parallel)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            workers = list(self.workers)
        sent = [w for w in workers if w.send(command)]
        return {w.index: w.receive(deadline) for w in sent}

    # --- keeping workers alive ----------------------------------------------------------------

    def _supervise(self) -> None:
        s = self.settings
        for i, w in enumerate(list(self.workers)):
            if w.alive or self.stop.is_set():
                continue
            log.warning("worker %d exited with code %s; restarting it", w.index,
                        w.process.exitcode)
            _mark_dead(w.process.pid)
            with self.lock:
                if self.stop.is_set():
                    return
                fresh = self.workers[i] = self._spawn(w.index)
            if self.served is not None:
                self._bring_up(fresh)
        if self.backend is not None and not self.backend.alive and not self.stop.is_set():
            log.error("mlflow models serve for version %s exited with code %s; restarting it",
                      self.served, self.backend.proc.returncode)
            from services.serving.engines.mlflow.backend import MlflowServeBackend

            backend = MlflowServeBackend(self.served, self.served_path, s.workers,
                                         s.request_timeout)
            backend.start()
            backend.wait_ready(s.load_timeout)
            self.backend = backend
            self._broadcast(Activate(self.served, backend.url), s.request_timeout + 30)

    def _bring_up(self, w: WorkerHandle) -> None:
        s = self.settings
        deadline = time.monotonic() + s.load_timeout
        if s.engine == "fast":
            if not w.send(Load(self.served, str(self.served_path))):
                return
            reply = w.receive(deadline)
            if not isinstance(reply, Loaded):
                log.error("restarted worker %d could not load version %s: %s", w.index,
                          self.served, getattr(reply, "error", "no answer"))
                return
        if w.send(Activate(self.served, self.backend.url if self.backend else None)):
            w.receive(time.monotonic() + 30)
            w.version = self.served
            log.info("worker %d serves version %s again", w.index, self.served)


def _mark_dead(pid: int | None) -> None:
    if pid and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def _describe_summary(summary: dict) -> str:
    if summary.get("engine") == "mlflow":
        return f"mlflow models serve on 127.0.0.1:{summary['port']}"
    parts = [f"path {summary.get('path', 'mlflow')}"]
    if "why" in summary:
        parts.append(summary["why"])
    if "batching" in summary:
        parts.append(f"batching {summary['batching']}")
    return "; ".join(parts)
