"""Register logged models and move aliases (``staging``, ``production``) — aliases only.

MLflow keeps no history of where an alias pointed, so every move made through this module
records the version it replaced in a registered-model tag (``wrappers.alias_history.<alias>``);
:func:`rollback` pops from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from wrappers.errors import AliasNotFound, ModelNotFound, NoRollbackTarget

STAGING = "staging"
PRODUCTION = "production"
HISTORY_TAG = "wrappers.alias_history.{alias}"
HISTORY_LIMIT = 50  # tag values are capped at a few KB


@dataclass(frozen=True)
class RegisteredModelSummary:
    name: str
    aliases: dict[str, str]  # alias -> version
    latest_version: str | None
    description: str | None = None


def _client(client: MlflowClient | None) -> MlflowClient:
    return client or MlflowClient()


def _get_model(client: MlflowClient, name: str):
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code):
            known = [m.name for m in client.search_registered_models()]
            raise ModelNotFound(name, known) from exc
        raise


def aliases_of(name: str, client: MlflowClient | None = None) -> dict[str, str]:
    return {a: str(v) for a, v in _get_model(_client(client), name).aliases.items()}


def _history(client: MlflowClient, name: str, alias: str) -> list[str]:
    raw = _get_model(client, name).tags.get(HISTORY_TAG.format(alias=alias))
    return json.loads(raw) if raw else []


def _save_history(client: MlflowClient, name: str, alias: str, history: list[str]) -> None:
    client.set_registered_model_tag(
        name, HISTORY_TAG.format(alias=alias), json.dumps(history[-HISTORY_LIMIT:])
    )


def register(model_uri: str, name: str, tags: dict[str, str] | None = None) -> str:
    """Create a new version of ``name`` from ``model_uri`` (the registry of the active
    tracking URI), tagged with ``tags``; returns the version number."""
    import mlflow

    mv = mlflow.register_model(model_uri, name, tags=tags or None)
    return str(mv.version)


def set_alias(name: str, alias: str, version: str | int, client: MlflowClient | None = None):
    """Point ``alias`` at ``version``, remembering the version it pointed at before."""
    client = _client(client)
    version = str(version)
    current = aliases_of(name, client).get(alias)
    client.get_model_version(name, version)  # raises a clear MLflow error if it does not exist
    client.set_registered_model_alias(name, alias, version)
    if current is not None and current != version:
        _save_history(client, name, alias, [*_history(client, name, alias), current])


def delete_alias(name: str, alias: str, client: MlflowClient | None = None) -> str:
    """Remove ``alias``; returns the version it pointed at. Unknown alias → AliasNotFound."""
    client = _client(client)
    existing = aliases_of(name, client)
    if alias not in existing:
        raise AliasNotFound(name, alias, existing)
    client.delete_registered_model_alias(name, alias)
    return existing[alias]


def version_for_alias(name: str, alias: str, client: MlflowClient | None = None) -> str:
    existing = aliases_of(name, client)
    if alias not in existing:
        raise AliasNotFound(name, alias, existing)
    return existing[alias]


def promote(
    name: str,
    source: str = STAGING,
    target: str = PRODUCTION,
    client: MlflowClient | None = None,
) -> str:
    """Move ``target`` to the version ``source`` points at; returns that version."""
    client = _client(client)
    version = version_for_alias(name, source, client)
    set_alias(name, target, version, client)
    return version


def rollback(name: str, alias: str = PRODUCTION, client: MlflowClient | None = None) -> str:
    """Move ``alias`` back to the version it had before the last move; returns it."""
    client = _client(client)
    history = _history(client, name, alias)
    current = aliases_of(name, client).get(alias)
    # Skip entries equal to the current version (an out-of-band move may have restored one).
    while history and history[-1] == current:
        history.pop()
    if not history:
        raise NoRollbackTarget(name, alias)
    previous = history.pop()
    client.set_registered_model_alias(name, alias, previous)
    _save_history(client, name, alias, history)
    return previous


def list_models(client: MlflowClient | None = None) -> list[RegisteredModelSummary]:
    client = _client(client)
    out = []
    for rm in client.search_registered_models(order_by=["name ASC"]):
        versions = [int(v.version) for v in rm.latest_versions or []]
        out.append(
            RegisteredModelSummary(
                name=rm.name,
                aliases={a: str(v) for a, v in rm.aliases.items()},
                latest_version=str(max(versions)) if versions else None,
                description=rm.description,
            )
        )
    return out

