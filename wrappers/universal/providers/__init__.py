"""The providers UniversalModelWrapper knows: every module in this package except ``base``
defines ``PROVIDER``, an instance of a :class:`~wrappers.universal.providers.base.Provider`
subclass, and is found here by its file alone."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from wrappers.universal.manifest import ModelManifest
from wrappers.universal.providers.base import (
    TABULAR_TASKS,
    TEXT_CLASSIFICATION,
    Provider,
    Runner,
)

__all__ = ["PROVIDERS", "TABULAR_TASKS", "TEXT_CLASSIFICATION", "Provider", "Runner",
           "build_runner", "provider_named"]


def _discover() -> dict[str, Provider]:
    found: dict[str, Provider] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        provider = importlib.import_module(f"{__name__}.{module.name}").PROVIDER
        found[provider.name] = provider
    return dict(sorted(found.items()))


#: Canonical name → provider.
PROVIDERS: dict[str, Provider] = _discover()
_BY_SPELLING = {spelling: p for p in PROVIDERS.values() for spelling in (p.name, *p.aliases)}


def provider_named(name: str) -> Provider:
    """The provider a user means by ``name`` (any case, or an alias such as ``torch``)."""
    try:
        return _BY_SPELLING[name.lower()]
    except KeyError:
        raise ValueError(f"unknown model provider {name!r}; use one of "
                         f"{', '.join(PROVIDERS)}") from None


def build_runner(root: Path, manifest: ModelManifest, batch_size: int) -> Runner:
    """The runner for ``manifest``'s provider and task, loaded from the files in ``root``."""
    if manifest.provider not in PROVIDERS:
        raise ValueError(f"no runner for provider {manifest.provider!r} (this code knows "
                         f"{', '.join(PROVIDERS)})")
    return PROVIDERS[manifest.provider].runner(root, manifest, batch_size)
