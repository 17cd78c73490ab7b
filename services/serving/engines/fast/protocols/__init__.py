"""The protocols the fast engine speaks: one module each, registered in ``PROTOCOLS``.

A protocol module defines ``routes(state: FastState) -> dict[str, Route]``: the exact paths it
answers, and per path the handler of each HTTP method. A handler is
``async def handler(scope, receive) -> Reply``; it reads the body itself (``asgi.read_body``)
when it needs one and takes the model from ``state.current`` once per request (a hot swap
replaces that reference, so a request finishes on the version it started with).

The app (``app.py``) does the rest alike for every protocol: routing, FastAPI's 404 for an
unknown path and 405 for a wrong method, /metrics, request counts and latency.

To add one — Open Inference Protocol V2, OpenAI's ``/v1/chat/completions`` — write
``protocols/<name>.py`` with its ``routes`` and add ``"<name>"`` to ``PROTOCOLS``. Paths that
name the model (V2's ``/v2/models/{name}/infer``) are exact once the served name is known:
build them from ``state.model_name``. Two protocols claiming one path is an error at startup.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.serving.asgi import Reply, method_not_allowed

if TYPE_CHECKING:
    from services.serving.engines.fast.app import FastState

Handler = Callable[[dict, Callable[[], Awaitable[dict]]], Awaitable[Reply]]

# Modules of this package, in the order their routes are added.
PROTOCOLS: tuple[str, ...] = ("mlflow_scoring",)


@dataclass(frozen=True)
class Route:
    """One path: its handlers by method, and what a request with another method gets."""

    handlers: dict[str, Handler]
    #: Observed in serving_request_duration_seconds (routes that run the model).
    timed: bool = False
    not_allowed: Reply = field(default=None)  # default: FastAPI's 405 naming the methods

    def __post_init__(self):
        if self.not_allowed is None:
            allowed = ", ".join(self.handlers).encode()
            object.__setattr__(self, "not_allowed", method_not_allowed(allowed))


def routes(state: FastState) -> dict[str, Route]:
    """Every registered protocol's routes, by path."""
    table: dict[str, Route] = {}
    for name in PROTOCOLS:
        module = importlib.import_module(f"{__name__}.{name}")
        for path, route in module.routes(state).items():
            if path in table:
                raise ValueError(f"protocol {name!r} claims {path}, which another protocol "
                                 f"in PROTOCOLS already serves")
            table[path] = route
    return table
