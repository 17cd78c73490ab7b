"""How transfers behave: block size, parallelism, retries, timeouts, progress (TRANSFER_*).

Read when a store is opened, not at import: a process (or a test) that changes the environment
between two transfers gets the new values.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from pydantic import ByteSize, Field, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from wrappers.settings import EnvSettings, invalid_settings

MiB = 1 << 20

PROGRESS_AUTO = "auto"


class TransferSettings(EnvSettings):
    """Settings of every Azure / S3 transfer; keyword arguments override the environment."""

    model_config = SettingsConfigDict(env_prefix="TRANSFER_")
    component: ClassVar[str] = "transfer"

    block_size: ByteSize = Field(default=ByteSize(4 * MiB), gt=0, examples=["4MiB"])
    """Bytes per Azure block / S3 part; S3 raises it to its 5 MiB minimum."""

    max_concurrency: int = Field(default=4, ge=1, examples=[4])
    """Blocks (or ranges) in flight at once; 1 = serial."""

    max_attempts: int = Field(default=6, ge=1, examples=[6])
    """Attempts per request, the first included, before the transfer fails."""

    backoff_initial: float = Field(default=0.2, ge=0, examples=[0.2])
    """Seconds before the second retry; doubles each time, then jittered (first retry: now)."""

    backoff_max: float = Field(default=20.0, ge=0, examples=[20])
    """Longest wait between two retries, in seconds."""

    connection_timeout: float = Field(default=20.0, gt=0, examples=[20])
    """Seconds to wait for a connection to the store before the request is retried."""

    read_timeout: float = Field(default=120.0, gt=0, examples=[120])
    """Seconds without a byte from the server before the request is retried."""

    verify_blocks: bool = Field(default=False, examples=["true"])
    """Send each block's MD5 so the service rejects a block corrupted on the wire at upload
    time. Off by default: it halves upload throughput on a 2-core host (MD5 on both ends,
    benchmarks/transfer.py), and the file's sha256, checked on every download, already
    turns any corruption into an error."""

    progress: bool | None = Field(default=None, examples=["auto"])
    """Progress bar on stderr: true, false, or auto = only when stderr is a terminal."""

    def __init__(self, **values: Any):
        # Callers build this directly (TransferSettings(max_concurrency=8)); a bad environment
        # variable must still fail naming the variable, as load() does.
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise invalid_settings(type(self), exc) from None

    @field_validator("progress", mode="before")
    @classmethod
    def _auto_means_none(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == PROGRESS_AUTO:
            return None
        return value

    @property
    def show_progress(self) -> bool:
        """Whether to draw a progress bar in this process."""
        if self.progress is None:
            return sys.stderr.isatty()
        return self.progress

    def with_(self, **changes: Any) -> TransferSettings:
        """A copy with ``changes`` applied, validated like the constructor."""
        return type(self)(**{**self.model_dump(), **changes})
