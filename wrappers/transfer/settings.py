"""How transfers behave: block size, parallelism, retries, progress — env-driven (TRANSFER_*)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace

MiB = 1 << 20


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_progress() -> bool | None:
    raw = _env("TRANSFER_PROGRESS", "auto").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    return None


@dataclass(frozen=True)
class TransferSettings:
    block_size: int = field(
        default_factory=lambda: int(_env("TRANSFER_BLOCK_SIZE", str(4 * MiB))))
    """Bytes per Azure block / S3 part (S3 raises it to its 5 MiB minimum)."""
    max_concurrency: int = field(
        default_factory=lambda: int(_env("TRANSFER_MAX_CONCURRENCY", "4")))
    """Blocks (or ranges) in flight at once; 1 = serial."""
    max_attempts: int = field(default_factory=lambda: int(_env("TRANSFER_MAX_ATTEMPTS", "6")))
    """Attempts per request, the first included, before the transfer fails."""
    backoff_initial: float = field(
        default_factory=lambda: float(_env("TRANSFER_BACKOFF_INITIAL", "0.2")))
    """Seconds before the second retry; doubles each time, then jittered (first retry: now)."""
    backoff_max: float = field(default_factory=lambda: float(_env("TRANSFER_BACKOFF_MAX", "20")))
    connection_timeout: float = field(
        default_factory=lambda: float(_env("TRANSFER_CONNECTION_TIMEOUT", "20")))
    read_timeout: float = field(default_factory=lambda: float(_env("TRANSFER_READ_TIMEOUT", "120")))
    """Seconds without a byte from the server before the request is retried."""
    verify_blocks: bool = field(
        default_factory=lambda: _env("TRANSFER_VERIFY_BLOCKS", "0") in ("1", "true", "yes"))
    """Send each block's MD5 so the service rejects a block corrupted on the wire at upload
    time. Off by default: it halves upload throughput on a 2-core host (MD5 on both ends,
    scripts/bench_transfer.py), and the file's sha256, checked on every download, already
    turns any corruption into an error."""
    progress: bool | None = field(default_factory=_env_progress)
    """Progress bar on stderr: True, False, or None = only when stderr is a terminal."""

    def __post_init__(self):
        if self.block_size < 1:
            raise ValueError(f"block_size must be positive, got {self.block_size}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {self.max_concurrency}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    @property
    def show_progress(self) -> bool:
        if self.progress is None:
            return sys.stderr.isatty()
        return self.progress

    def with_(self, **changes) -> TransferSettings:
        return replace(self, **changes)
