"""Supervisor ↔ worker messages over a multiprocessing pipe: one reply per command.

A switch is two-phase so that every worker changes version within milliseconds of the others:
``Load`` everywhere (slow: download done, now load + verify + warm up), and only when all
workers answered ``Loaded``, ``Activate`` everywhere (a reference swap). ``Activated`` comes
back once the old version's in-flight requests have finished. ``Discard`` drops a loaded
version that will not be activated (another worker failed to load it).

An engine may extend a command with what only it needs (the mlflow engine's
``ActivateBackend`` carries the backend's URL); the follower and the pool only see these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class LoadSummary(Protocol):
    """What an engine reports about a loaded version, for the switch's log line."""

    def describe(self) -> str:
        """One line: how the version is served (e.g. "path sklearn-linear; batching off")."""
        ...


# --- commands (supervisor → worker) -----------------------------------------------------------


@dataclass(frozen=True)
class Load:
    version: str
    path: str


@dataclass(frozen=True)
class Activate:
    version: str


@dataclass(frozen=True)
class Discard:
    version: str


Command = Load | Activate | Discard

# --- replies (worker → supervisor) ------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    version: str
    summary: LoadSummary


@dataclass(frozen=True)
class Activated:
    version: str
    drain_seconds: float  # how long the replaced version's in-flight requests took to finish


@dataclass(frozen=True)
class Discarded:
    version: str


@dataclass(frozen=True)
class Failed:
    version: str
    error: str


Reply = Loaded | Activated | Discarded | Failed
