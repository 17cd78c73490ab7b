"""Where ``models:/NAME@ALIAS`` points, and fetching that version — patiently and quietly.

The registry is asked again every poll interval forever (a serving container never exits
because the tracking server is late or the alias unset), but the same complaint is logged at
growing intervals — after 0 s, 10 s, 20 s, 40 s … then every 10 minutes — not once per poll.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("serving.alias")


class RegistryUnavailable(Exception):
    """The tracking server did not answer (down, starting, DNS, 5xx)."""


class AliasMissing(Exception):
    """The model or its alias does not exist (yet)."""

    def __init__(self, model_exists: bool, aliases: dict[str, str]):
        super().__init__(model_exists, aliases)
        self.model_exists, self.aliases = model_exists, aliases


class ThrottledLog:
    """Logs a recurring condition at 0, first, 2×first, 4×first … capped at ``cap`` seconds.

    ``report(kind, message)`` with the same ``kind`` as last time logs only when the next slot
    has come; a different kind (the situation changed) logs at once and restarts the schedule.
    """

    def __init__(self, logger: logging.Logger, first: float = 10.0, cap: float = 600.0,
                 clock: Callable[[], float] = time.monotonic):
        self.logger, self.first, self.cap, self.clock = logger, first, cap, clock
        self.kind: str | None = None
        self.since = self.next_at = 0.0
        self.gap = first
        self.count = 0

    def report(self, kind: str, message: str, *args, level: int = logging.WARNING) -> bool:
        now = self.clock()
        if kind != self.kind:
            self.kind, self.since, self.next_at, self.gap, self.count = kind, now, now, \
                self.first, 0
        self.count += 1
        if now < self.next_at:
            return False
        waited = now - self.since
        suffix = f" (for {_duration(waited)}, {self.count} checks)" if self.count > 1 else ""
        self.logger.log(level, message + suffix, *args)
        self.next_at = now + self.gap
        self.gap = min(self.gap * 2, self.cap)
        return True

    def clear(self) -> None:
        self.kind = None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


# MLflow's HTTP client retries a dead server for minutes by default; a poll should be one quick
# attempt, retries being the poll loop's job. The supervisor sets these unless already set.
FAIL_FAST_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                  "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                  "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


class AliasResolver:
    """Registry lookups for one ``NAME@ALIAS``; downloads of its versions."""

    def __init__(self, name: str, alias: str, tracking_uri: str):
        self.name, self.alias, self.tracking_uri = name, alias, tracking_uri
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def version(self) -> str:
        """The version the alias points at; AliasMissing / RegistryUnavailable otherwise."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(self.name, self.alias).version)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise AliasMissing(False, {}) from None
            if exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in str(exc).lower():
                raise AliasMissing(True, self._aliases()) from None
            raise RegistryUnavailable(f"{exc.error_code}: {str(exc)[:300]}") from None
        except Exception as exc:  # noqa: BLE001 — connection refused, DNS, timeouts
            raise RegistryUnavailable(f"{type(exc).__name__}: {str(exc)[:300]}") from None

    def _aliases(self) -> dict[str, str]:
        try:
            model = self.client.get_registered_model(self.name)
            return {a: str(v) for a, v in model.aliases.items()}
        except Exception:  # noqa: BLE001 — only for the log line
            return {}

    def download(self, version: str, root: Path) -> Path:
        """The version's model folder, downloaded once for every worker to load."""
        import mlflow

        dst = root / f"v{version}"
        dst.mkdir(parents=True, exist_ok=True)
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{self.name}/{version}", dst_path=str(dst),
            tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return Path(path)

    def describe_missing(self, missing: AliasMissing) -> str:
        if not missing.model_exists:
            return (f"registered model '{self.name}' does not exist yet — log one with "
                    f"`--register {self.name} --alias {self.alias}` (scripts/train_wine.py, "
                    "scripts/log_hf.py, scripts/log_onnx.py)")
        have = ", ".join(f"{a}→v{v}" for a, v in sorted(missing.aliases.items())) or "none"
        return (f"alias '{self.alias}' is not set on model '{self.name}' (aliases set: {have}) "
                f"— set it with `python scripts/registry.py set-alias {self.name} VERSION "
                f"{self.alias}`")
