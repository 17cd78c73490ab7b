"""The interface every serving engine implements, and the bits their worker controls share.

The supervisor process holds one engine object and calls its supervisor-side methods
(``prepare``, ``activation``, ``retire``, ``keep_alive``, ``stop``); each worker process builds
its own from the same settings and calls ``serve`` once, for the ASGI app uvicorn runs and the
control that executes the supervisor's commands (messages.py) in that worker.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from services.serving.messages import Activate, Command, LoadSummary, Reply

if TYPE_CHECKING:
    from services.serving.pool import WorkerHandle, WorkerPool
    from services.serving.settings import ServingSettings

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


@dataclass(frozen=True)
class Served:
    """The version every worker serves, and its downloaded model folder."""

    version: str
    path: Path


class WorkerControl(Protocol):
    """Worker side: executes one command from the supervisor, returns its one reply."""

    def handle(self, command: Command) -> Reply: ...


class Engine(Protocol):
    """One way of serving the followed version (registered by name in ``ENGINES``)."""

    name: ClassVar[str]

    def __init__(self, settings: ServingSettings) -> None: ...

    def worker_processes(self) -> int:
        """How many worker processes the pool runs for this engine."""
        ...

    # --- supervisor side ----------------------------------------------------------------------

    def prepare(self, version: str, path: Path, pool: WorkerPool,
                workers: list[WorkerHandle] | None) -> LoadSummary:
        """Phase one of a switch: make ``version`` (downloaded at ``path``) ready to activate in
        ``workers`` (None: all) next to the served one. Raises ModelLoadFailed leaving nothing
        behind. Also how a restarted worker is brought up to the served version."""
        ...

    def activation(self, version: str) -> Activate:
        """Phase two's command: switch a worker to the prepared ``version``."""
        ...

    def retire(self, version: str) -> None:
        """``version`` was replaced in every worker: release what it holds."""
        ...

    def keep_alive(self, pool: WorkerPool, served: Served | None) -> None:
        """Restart hook, every poll: restart what the engine runs besides the workers."""
        ...

    def stop(self) -> None:
        """The container stops: stop what the engine started."""
        ...

    # --- worker side --------------------------------------------------------------------------

    def serve(self) -> tuple[ASGIApp, WorkerControl]:
        """In a worker process: the app uvicorn serves and the control for commands."""
        ...


def drain(inflight: Callable[[], int], limit: float) -> float:
    """Wait until the replaced version has no request in flight; the seconds it took."""
    t0 = time.monotonic()
    while inflight() > 0 and time.monotonic() - t0 < limit:
        time.sleep(0.002)
    return time.monotonic() - t0


def describe_exception(exc: BaseException) -> str:
    """``Type: message (at file:line)`` of where it was raised, for the supervisor's log."""
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"

