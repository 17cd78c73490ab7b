"""Test payloads: reproducible incompressible files of a given size, and an upload of one that
is killed midway (the starting point of the resume tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.fault_proxy import FaultInjectingProxy
from tests.support.servers import REPO

MiB = 1 << 20


def random_file(path: Path, size: int, seed: int = 0) -> Path:
    """``size`` pseudo-random bytes (incompressible, reproducible) written in 8 MiB pieces."""
    import random

    rng = random.Random(seed)
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 8 * MiB)
            fh.write(rng.randbytes(n))
            left -= n
    return path


UPLOAD_IN_CHILD = """
import sys
from wrappers.transfer import TransferSettings, open_store
store = open_store(sys.argv[1], TransferSettings(block_size=int(sys.argv[3]), max_concurrency=2,
                                                 progress=False))
store.upload_file(sys.argv[2], "model.bin")
"""


def upload_killed_midway(proxy: FaultInjectingProxy, uri: str, src: Path, block_size: int,
                         sent: Callable[[], int], kill_after: int) -> None:
    """Upload ``src`` to ``uri``/model.bin in a child process whose traffic goes through
    ``proxy``; SIGKILL the child once ``sent()`` (the block/part uploads the proxy forwarded)
    reaches ``kill_after``, as a crash or an OOM kill would."""
    child: dict[str, subprocess.Popen] = {}

    def kill_when_enough_sent(_record):
        if sent() == kill_after and "proc" in child:
            os.kill(child["proc"].pid, signal.SIGKILL)

    proxy.on_forwarded = kill_when_enough_sent
    try:
        child["proc"] = subprocess.Popen(
            [sys.executable, "-c", UPLOAD_IN_CHILD, uri, str(src), str(block_size)],
            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = child["proc"].communicate(timeout=120)
        proxy.wait_idle()
    finally:
        proxy.on_forwarded = None
    assert child["proc"].returncode == -signal.SIGKILL, (out, err)
