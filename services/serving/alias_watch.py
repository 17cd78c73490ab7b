"""Poll the registry for the version an alias points at; log while waiting, never crash."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("serving.alias")


class AliasWatcher:
    """Calls ``on_version(version)`` each time ``NAME@ALIAS`` resolves to a new version.

    Runs in a daemon thread. Tracking-server outages and a missing alias are logged at growing
    intervals (1st, 2nd, 4th, 8th… attempt) instead of once per poll; the last served version
    keeps serving meanwhile. ``on_version`` runs in the watcher thread: a slow load delays the
    next poll, not requests. An exception from it is logged and retried at the next poll.
    """

    def __init__(self, name: str, alias: str, interval: float,
                 on_version: Callable[[str], None]):
        self.name, self.alias, self.interval = name, alias, interval
        self.on_version = on_version
        self.current: str | None = None
        self._stop = threading.Event()
        self._misses = 0
        self._thread = threading.Thread(target=self._run, name="alias-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def resolve(self) -> str | None:
        """The version the alias points at now; None when the alias is not set."""
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        try:
            return str(MlflowClient().get_model_version_by_alias(self.name, self.alias).version)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def _miss(self, msg: str, *args) -> None:
        self._misses += 1
        if self._misses & (self._misses - 1) == 0:  # 1, 2, 4, 8, ...
            log.warning(msg + " (attempt %d, polling every %.0fs)", *args, self._misses,
                        self.interval)

    def poll_once(self) -> None:
        try:
            version = self.resolve()
        except Exception as exc:  # noqa: BLE001 — server down, DNS, 5xx: all "try again"
            self._miss("registry not reachable: %s: %s", type(exc).__name__, str(exc)[:200])
            return
        if version is None:
            if self.current is None:
                self._miss("waiting for alias: models:/%s@%s is not set — set it with "
                           "`python scripts/registry.py set-alias %s VERSION %s`",
                           self.name, self.alias, self.name, self.alias)
            else:
                self._miss("alias models:/%s@%s was deleted; still serving version %s",
                           self.name, self.alias, self.current)
            return
        self._misses = 0
        if version == self.current:
            return
        t0 = time.monotonic()
        log.info("models:/%s@%s → version %s (was %s): loading", self.name, self.alias,
                 version, self.current or "nothing")
        try:
            self.on_version(version)
        except Exception:
            log.exception("loading version %s failed; still serving %s, retrying next poll",
                          version, self.current or "nothing")
            return
        log.info("now serving %s version %s (switch took %.1fs)", self.name, version,
                 time.monotonic() - t0)
        self.current = version

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval)
