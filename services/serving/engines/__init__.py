"""Serving engines: what a worker does with the served version, behind one interface.

- ``fast``: the model in each worker process, MLflow's scoring protocol answered from it
  (``fast/``);
- ``mlflow``: `mlflow models serve` children behind a switchable proxy (``mlflow/``).

Each engine implements :class:`services.serving.engines.base.Engine` in its own package and
owns everything engine-specific: its worker-side control, its ASGI app, its backends. Nothing
outside this folder branches on the engine's name. To add one: a package here with a class
implementing ``Engine``, and a line in ``ENGINES`` (SERVING_ENGINE accepts its name from then
on).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.serving.engines.base import Engine

# name -> "module:class"; imported on first use, so an engine's dependencies (aiohttp for the
# proxy, the fast paths' numpy) load only in containers that use it.
ENGINES: dict[str, str] = {
    "fast": "services.serving.engines.fast.engine:FastEngine",
    "mlflow": "services.serving.engines.mlflow.engine:MlflowEngine",
}


def engine_class(name: str) -> type[Engine]:
    """The engine registered as ``name`` (settings validated it is one of ``ENGINES``)."""
    module, _, attr = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), attr)
