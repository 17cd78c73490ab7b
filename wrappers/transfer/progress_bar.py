"""A byte-counting progress bar (tqdm) that worker threads can advance, or a silent one."""

from __future__ import annotations

import sys
import threading


class TransferProgress:
    """Bytes done, rate and ETA on stderr; ``enabled=False`` keeps CI logs clean."""

    def __init__(self, total: int, description: str, enabled: bool):
        self._lock = threading.Lock()
        self._done = 0
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit="B", unit_scale=True,
                             unit_divisor=1024, file=sys.stderr, leave=False, dynamic_ncols=True)

    def advance(self, n: int) -> None:
        with self._lock:
            self._done += n
            if self._bar is not None:
                self._bar.update(n)

    def reached(self, done: int) -> None:
        """For SDK hooks that report a running total rather than increments."""
        with self._lock:
            delta, self._done = done - self._done, max(done, self._done)
            if self._bar is not None and delta > 0:
                self._bar.update(delta)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> TransferProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
