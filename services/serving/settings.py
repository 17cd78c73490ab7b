"""Settings of a serving container, all from the environment (docker-compose.yml)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

ENGINES = ("fast", "mlflow")


class SettingsError(ValueError):
    pass


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class ServingSettings:
    model_name: str = field(default_factory=lambda: _env("SERVING_MODEL_NAME", ""))
    """Registered model to serve (required)."""
    model_alias: str = field(default_factory=lambda: _env("SERVING_MODEL_ALIAS", "production"))
    """Alias to serve and follow."""
    engine: str = field(default_factory=lambda: _env("SERVING_ENGINE", "fast"))
    """fast (in-process, hot swap) or mlflow (`mlflow models serve` child behind a proxy)."""
    host: str = field(default_factory=lambda: _env("SERVING_HOST", "0.0.0.0"))
    port: int = field(default_factory=lambda: int(_env("SERVING_PORT", "8080")))
    poll_interval: float = field(default_factory=lambda: float(_env("SERVING_POLL_INTERVAL", "3")))
    """Seconds between registry polls for the alias."""
    tracking_uri: str = field(default_factory=lambda: _env("MLFLOW_TRACKING_URI",
                                                           "http://mlflow:5000"))
    backend_start_timeout: float = field(
        default_factory=lambda: float(_env("SERVING_BACKEND_START_TIMEOUT", "600")))
    """mlflow engine: how long a new `mlflow models serve` child may take to answer /ping."""
    drain_seconds: float = field(default_factory=lambda: float(_env("SERVING_DRAIN_SECONDS", "5")))
    """mlflow engine: grace period for in-flight requests before the old child is stopped."""

    def __post_init__(self):
        if not self.model_name:
            raise SettingsError("SERVING_MODEL_NAME is not set: name the registered model to "
                                "serve, e.g. SERVING_MODEL_NAME=wine")
        if self.engine not in ENGINES:
            raise SettingsError(f"SERVING_ENGINE={self.engine!r} is not one of "
                                f"{', '.join(ENGINES)}")

    @property
    def alias_uri(self) -> str:
        return f"models:/{self.model_name}@{self.model_alias}"
