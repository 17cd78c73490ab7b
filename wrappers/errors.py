"""Typed errors whose messages name the cause and the fix."""


class WrappersError(Exception):
    """Base class: every error this package raises on purpose."""


def set_alias_command(model: str, alias: str) -> str:
    """The command that points ``alias`` of ``model`` at a version, as error messages cite it."""
    return f"`python scripts/registry.py set-alias {model} VERSION {alias}`"


class TrackingServerUnreachable(WrappersError):
    def __init__(self, uri: str, cause: str):
        self.uri = uri
        super().__init__(
            f"MLflow tracking server at {uri} is not reachable ({cause}). "
            "Start the stack with `docker compose up -d` (then wait for `docker compose ps` to "
            "show mlflow healthy), or point --tracking-uri / MLFLOW_TRACKING_URI at a running "
            "server (a local file store works too: --tracking-uri sqlite:///mlflow.db)."
        )


class AliasNotFound(WrappersError):
    def __init__(self, model: str, alias: str, existing: dict[str, str]):
        self.model, self.alias = model, alias
        have = ", ".join(f"{a}→v{v}" for a, v in sorted(existing.items())) or "none"
        super().__init__(
            f"alias '{alias}' not set on model '{model}' (aliases set: {have}) — "
            f"set it with {set_alias_command(model, alias)}"
        )


class ModelNotFound(WrappersError):
    def __init__(self, model: str, known: list[str]):
        self.model = model
        super().__init__(
            f"registered model '{model}' does not exist (known models: "
            f"{', '.join(sorted(known)) or 'none'}) — log one with --register {model}"
        )


class NoRollbackTarget(WrappersError):
    def __init__(self, model: str, alias: str):
        super().__init__(
            f"no earlier version recorded for alias '{alias}' on model '{model}', so there is "
            f"nothing to roll back to — move it explicitly with {set_alias_command(model, alias)}"
        )


class MissingDependency(WrappersError):
    def __init__(self, package: str, extra: str):
        super().__init__(
            f"{package} is not installed; it is needed for this model kind. "
            f"Install it with: pip install -e '.[{extra}]'"
        )
