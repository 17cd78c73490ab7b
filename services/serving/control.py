"""Supervisor ↔ worker messages over a multiprocessing pipe: one reply per command.

A switch is two-phase so that every worker changes version within milliseconds of the others:
``Load`` everywhere (slow: download done, now load + verify + warm up), and only when all
workers answered ``Loaded``, ``Activate`` everywhere (a reference swap). ``Activated`` comes
back once the old version's in-flight requests have finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    version: str
    path: str


@dataclass(frozen=True)
class Activate:
    version: str
    backend_url: str | None = None  # mlflow engine: where the proxy forwards to


@dataclass(frozen=True)
class Discard:
    version: str  # a loaded version that will not be activated (another worker failed)


@dataclass(frozen=True)
class Loaded:
    version: str
    summary: dict


@dataclass(frozen=True)
class Activated:
    version: str
    previous: str | None
    drain_seconds: float


@dataclass(frozen=True)
class Failed:
    version: str
    error: str


class WorkerHandle:
    """The supervisor's side of one worker process."""

    def __init__(self, index: int, process, conn):
        self.index, self.process, self.conn = index, process, conn
        self.version: str | None = None  # the version it serves

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, command) -> bool:
        try:
            self.conn.send(command)
            return True
        except (OSError, EOFError, BrokenPipeError):
            return False

    def receive(self, deadline: float):
        """The reply to the last command; None if the worker died or the deadline passed."""
        while True:
            remaining = deadline - time.monotonic()
            try:
                if self.conn.poll(max(0.0, min(remaining, 1.0))):
                    return self.conn.recv()
            except (OSError, EOFError):
                return None
            if remaining <= 0 or not self.alive:
                return None
