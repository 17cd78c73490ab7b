"""Following ``models:/NAME@ALIAS``: poll, download, the two-phase switch, retries.

- until the alias resolves, workers answer /ping and /invocations with 503 (the compose
  healthcheck stays red) and the wait is logged at growing intervals (alias.ThrottledLog);
- when it resolves to a new version: download it once, have the engine prepare it next to the
  served one (fast: every worker loads, verifies and warms it up; mlflow: a new
  `mlflow models serve`), then activate it in every worker at once and retire the old one
  after its in-flight requests;
- a failed load keeps the current version serving and is retried with growing delays;
- a restarted worker goes through the same two phases, alone (:meth:`AliasFollower.bring_up`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from services.serving.alias import AliasMissing, AliasResolver, RegistryUnavailable, ThrottledLog
from services.serving.engines.base import Engine, Served
from services.serving.errors import ModelLoadFailed, ServingError
from services.serving.messages import Activated, LoadSummary
from services.serving.pool import WorkerHandle, WorkerPool
from services.serving.settings import ServingSettings

log = logging.getLogger("serving")

RETRY_CAP_SECONDS = 600.0


class AliasFollower:
    """Moves the pool's workers to the version the alias points at (one thread calls it)."""

    def __init__(self, settings: ServingSettings, pool: WorkerPool, engine: Engine):
        self.settings, self.pool, self.engine = settings, pool, engine
        self.served: Served | None = None
        self.failures: dict[str, tuple[int, float]] = {}  # version -> (attempts, retry at)
        self._own_model_dir = settings.model_dir is None
        self.model_dir = settings.model_dir or Path(tempfile.mkdtemp(prefix="serving-models-"))
        self.throttle = ThrottledLog(log)
        self.resolver: AliasResolver | None = None

    def poll(self) -> None:
        """Ask the registry once; switch when the alias points at a new version."""
        s = self.settings
        if self.resolver is None:
            self.resolver = AliasResolver(s.model_name, s.model_alias, s.tracking_uri)
        resolver = self.resolver
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
                                     resolver.describe_missing(missing), self.served.version)
            return
        self.throttle.clear()
        if self.served is not None and version == self.served.version:
            return
        attempts, retry_at = self.failures.get(version, (0, 0.0))
        if time.monotonic() < retry_at:
            return
        try:
            self.switch(version)
            self.failures.pop(version, None)
        except ServingError as exc:
            delay = min(s.poll_interval * 2 ** (attempts + 1), RETRY_CAP_SECONDS)
            self.failures[version] = (attempts + 1, time.monotonic() + delay)
            log.error("%s; retrying in %.0fs", exc, delay)

    def _serving_note(self) -> str:
        return f"still serving version {self.served.version}" if self.served \
            else "nothing served yet, /ping answers 503"

    def switch(self, version: str) -> None:
        """Download ``version``, prepare it everywhere, activate it everywhere, retire the old."""
        s = self.settings
        was = self.served
        log.info("%s → version %s (serving %s): downloading", s.alias_uri, version,
                 was.version if was else "nothing")
        t0 = time.monotonic()
        try:
            path = self.resolver.download(version, self.model_dir)
        except Exception as exc:  # noqa: BLE001 — registry/artifact store hiccups
            raise ModelLoadFailed(s.model_name, version,
                                  f"download failed: {type(exc).__name__}: {exc}") from None
        t_download = time.monotonic() - t0
        try:
            summary, drained = self._load_and_activate(Served(version, path), None)
        except ServingError:
            if was is None or path != was.path:
                shutil.rmtree(path, ignore_errors=True)
            raise
        self.served = Served(version, path)
        t_total = time.monotonic() - t0
        if was is not None:
            self.engine.retire(was.version)
            if was.path != path:
                shutil.rmtree(was.path, ignore_errors=True)
        from services.serving import metrics

        metrics.SWITCHES.inc()
        metrics.SWITCH_SECONDS.set(t_total)
        log.info("now serving %s version %s (was %s): switch took %.2fs — download %.2fs, "
                 "load + verify + warm-up %.2fs [%s], activation %.0fms, old version drained "
                 "in %.0fms", s.model_name, version, was.version if was else "nothing",
                 t_total, t_download, summary.prepared_s, summary.load.describe(),
                 summary.activated_s * 1000, drained * 1000)

    def bring_up(self, worker: WorkerHandle) -> None:
        """A restarted worker: the served version, through the same two phases, alone."""
        if self.served is None:
            return
        try:
            self._load_and_activate(self.served, [worker])
        except ServingError as exc:
            log.error("restarted worker %d could not load version %s: %s", worker.index,
                      self.served.version, exc)
            return
        log.info("worker %d serves version %s again", worker.index, self.served.version)

    def _load_and_activate(self, target: Served, workers: list[WorkerHandle] | None):
        """Phase one (the engine prepares ``target``: raises ModelLoadFailed leaving nothing
        behind), phase two (activate in ``workers``, default all); the timings and the
        longest drain of the replaced version."""
        t0 = time.monotonic()
        load = self.engine.prepare(target.version, target.path, self.pool, workers)
        t_prepared = time.monotonic()
        replies = self.pool.broadcast(self.engine.activation(target.version),
                                      self.settings.request_timeout + 30, workers)
        drained = max((r.drain_seconds for r in replies.values() if isinstance(r, Activated)),
                      default=0.0)
        return _Timings(load, t_prepared - t0, time.monotonic() - t_prepared), drained

    def cleanup(self) -> None:
        """Remove what this follower downloaded (a model directory it created itself)."""
        if self._own_model_dir:
            shutil.rmtree(self.model_dir, ignore_errors=True)


@dataclass(frozen=True)
class _Timings:
    load: LoadSummary
    prepared_s: float
    activated_s: float
