"""Typed errors of the serving container; each message names the cause and the fix.

Invalid settings raise the project's shared :class:`wrappers.settings.SettingsInvalid`
(startup refuses, exit code 2).
"""

from __future__ import annotations


class ServingError(Exception):
    """Base class: every error services.serving raises on purpose."""


class ModelLoadFailed(ServingError):
    """A version could not be downloaded, loaded or verified; the served one keeps serving."""

    def __init__(self, name: str, version: str, cause: str):
        super().__init__(
            f"loading {name} version {version} failed: {cause} — the current version keeps "
            f"serving; fix the model (try `mlflow models predict -m models:/{name}/{version} "
            f"--env-manager local -i <example>`) or move the alias to a working version"
        )


class BackendStartFailed(ServingError):
    """`mlflow models serve` for a version did not answer /ping in time (mlflow engine)."""

    def __init__(self, version: str, cause: str, log_tail: str = ""):
        tail = f"\n--- last lines of its output ---\n{log_tail}" if log_tail else ""
        super().__init__(
            f"`mlflow models serve` for version {version} did not become ready: {cause} — "
            "the current version keeps serving; raise SERVING_LOAD_TIMEOUT if the model is "
            f"just slow to load{tail}"
        )
