"""Where the tracking server is, and a fast, clear failure when it is not there."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlparse

import requests
from pydantic import Field

from wrappers.errors import TrackingServerUnreachable
from wrappers.settings import EnvSettings

# The compose stack publishes the MLflow server here (docker-compose.yml, MLFLOW_PORT).
DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"


class TrackingSettings(EnvSettings):
    """Which MLflow tracking server the CLIs talk to (MLflow's own variable name)."""

    component: ClassVar[str] = "tracking"

    tracking_uri: str = Field(default=DEFAULT_TRACKING_URI, validation_alias="MLFLOW_TRACKING_URI",
                              examples=[DEFAULT_TRACKING_URI], min_length=1)
    """Tracking server URL (or a sqlite:/// / file: store) used when --tracking-uri is not
    given."""


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """--tracking-uri, else $MLFLOW_TRACKING_URI (read now), else the compose stack's server."""
    return explicit or TrackingSettings.load().tracking_uri


def ensure_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail in seconds (not after MLflow's minutes of retries) when an HTTP server is down."""
    if urlparse(uri).scheme not in ("http", "https"):
        return  # file / sqlite / postgres stores are opened directly by the client
    try:
        resp = requests.get(uri.rstrip("/") + "/health", timeout=timeout)
    except requests.RequestException as exc:
        raise TrackingServerUnreachable(uri, type(exc).__name__ + ": " + str(exc)[:200]) from exc
    if resp.status_code != 200:
        raise TrackingServerUnreachable(uri, f"GET /health answered {resp.status_code}")


def use_tracking_uri(explicit: str | None = None, check: bool = True) -> str:
    """Resolve, check and activate the tracking URI for this process; returns it."""
    import mlflow

    uri = resolve_tracking_uri(explicit)
    if check:
        ensure_reachable(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str, artifact_location: str | None = None) -> str:
    """Create ``name`` (artifacts at ``artifact_location``, e.g. a wasbs:// URI) if missing.

    An existing experiment keeps its location: MLflow cannot move one, so a mismatch is
    reported instead of silently writing elsewhere.
    """
    import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        return mlflow.create_experiment(name, artifact_location=artifact_location)
    if artifact_location and exp.artifact_location.rstrip("/") != artifact_location.rstrip("/"):
        raise ValueError(
            f"experiment '{name}' already stores artifacts at {exp.artifact_location}, not "
            f"{artifact_location}; pick another --experiment name for the new location"
        )
    return exp.experiment_id
