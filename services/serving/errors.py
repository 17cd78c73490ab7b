"""Typed errors of the serving container; each message names the cause and the fix."""

from __future__ import annotations


class ServingError(Exception):
    """Base class: every error services.serving raises on purpose."""


class SettingsInvalid(ServingError):
    """The environment does not describe a servable model (startup refuses, exit code 2)."""

    def __init__(self, validation_error, fields: dict):
        lines = []
        for err in validation_error.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            field = fields.get(name)
            alias = getattr(field, "validation_alias", None)
            env = alias.choices[0] if alias is not None else f"SERVING_{name.upper()}"
            hint = f" ({field.description.splitlines()[0]})" if field and field.description \
                else ""
            lines.append(f"  {env}: {err['msg']}{hint}")
        super().__init__("invalid serving settings:\n" + "\n".join(lines)
                         + "\nset them in the service's environment (docker-compose.yml)")


class ModelLoadFailed(ServingError):
    def __init__(self, name: str, version: str, cause: str):
        self.version = version
        super().__init__(
            f"loading {name} version {version} failed: {cause} — the current version keeps "
            f"serving; fix the model (try `mlflow models predict -m models:/{name}/{version} "
            f"--env-manager local -i <example>`) or move the alias to a working version"
        )


class BackendStartFailed(ServingError):
    def __init__(self, version: str, cause: str, log_tail: str = ""):
        tail = f"\n--- last lines of its output ---\n{log_tail}" if log_tail else ""
        super().__init__(
            f"`mlflow models serve` for version {version} did not become ready: {cause} — "
            "the current version keeps serving; raise SERVING_LOAD_TIMEOUT if the model is "
            f"just slow to load{tail}"
        )

