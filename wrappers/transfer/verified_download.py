"""Downloads that land only when complete and verified: temp file → sha256 → atomic rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from wrappers.base import file_sha256
from wrappers.transfer.errors import IntegrityError, TransferError


def download_verified(dest: Path, expected_sha256: str, uri: str,
                      fetch: Callable[[Path], None],
                      describe: Callable[[Exception], TransferError]) -> Path:
    """``fetch`` writes the object into a temp file beside ``dest``; the file becomes ``dest``
    only if it hashes to ``expected_sha256``. On any failure the temp file is removed and
    ``describe(error)`` is raised, so ``dest`` never holds a partial or unverified copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Beside dest, not in /tmp: the rename must stay on one filesystem to be atomic.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        fetch(tmp)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, Exception) and not isinstance(exc, TransferError):
            raise describe(exc) from exc
        raise
    return move_into_place_if_verified(tmp, dest, expected_sha256, uri)


def move_into_place_if_verified(tmp: Path, dest: Path, expected_sha256: str, uri: str) -> Path:
    """Rename ``tmp`` to ``dest`` only if it hashes to ``expected_sha256``; else delete it.

    The rename is atomic on one filesystem, so ``dest`` is either absent, the previous file,
    or the complete verified download — never a partial one.
    """
    actual = file_sha256(tmp)
    if actual != expected_sha256:
        tmp.unlink(missing_ok=True)
        raise IntegrityError(uri, expected_sha256, actual)
    os.replace(tmp, dest)
    return dest
