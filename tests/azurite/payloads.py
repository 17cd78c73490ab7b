"""Test payloads: reproducible incompressible files of a given size."""

from __future__ import annotations

from pathlib import Path

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
