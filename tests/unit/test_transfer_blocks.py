"""The upload loop both stores share, with an in-memory "store": which blocks it sends, in
what order it names them for the commit, how far it reads ahead, and how a failure reads."""

from __future__ import annotations

import hashlib
import random
import threading
import time

import pytest

from wrappers.transfer import TransferFailed, TransferSettings
from wrappers.transfer.blocks import (
    Block,
    BlockPlan,
    ParallelBlockUpload,
    effective_block_size,
)

KiB = 1 << 10


class MemoryBlocks:
    """Holds blocks by number, like a store's uncommitted block list."""

    def __init__(self, held: dict[int, bytes] | None = None, fail_on: int | None = None,
                 delay: float = 0.0):
        self.held = dict(held or {})
        self.fail_on = fail_on
        self.delay = delay
        self.sent: list[int] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def plan(self, block: Block) -> BlockPlan:
        token = hashlib.md5(block.data).hexdigest()
        return BlockPlan(token, self.held.get(block.number) == block.data)

    def send(self, block: Block, plan: BlockPlan) -> str:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if block.number == self.fail_on:
                raise ConnectionResetError("reset by peer")
            with self._lock:
                self.sent.append(block.number)
                self.held[block.number] = block.data
            return plan.token
        finally:
            with self._lock:
                self.in_flight -= 1

    def upload(self, path, block_size, concurrency=4, hash_file=False):
        def describe(exc, block):
            return TransferFailed("mem://x", f"upload (block {block.number})", exc)

        loop = ParallelBlockUpload(TransferSettings(max_concurrency=concurrency, progress=False),
                                   "upload x", self.plan, self.send, describe)
        return loop.run(path, block_size, hash_file=hash_file)


@pytest.fixture
def file_of_10_blocks(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(random.Random(1).randbytes(10 * KiB))  # ten distinct 1 KiB blocks
    return path


def test_every_block_is_sent_and_named_in_file_order(file_of_10_blocks):
    store = MemoryBlocks(delay=0.001)
    result = store.upload(file_of_10_blocks, KiB, hash_file=True)
    data = file_of_10_blocks.read_bytes()
    assert (result.total, result.sent, result.bytes_sent) == (10, 10, 10 * KiB)
    assert result.tokens == [hashlib.md5(data[i:i + KiB]).hexdigest()
                             for i in range(0, len(data), KiB)]
    assert sorted(store.sent) == list(range(1, 11))
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_blocks_the_store_holds_are_not_sent_again(file_of_10_blocks):
    data = file_of_10_blocks.read_bytes()
    held = {n: data[(n - 1) * KiB:n * KiB] for n in (1, 2, 3, 7)}
    held[4] = b"stale bytes of an older version"
    store = MemoryBlocks(held)
    result = store.upload(file_of_10_blocks, KiB)
    assert sorted(store.sent) == [4, 5, 6, 8, 9, 10]
    assert (result.total, result.sent, result.bytes_sent) == (10, 6, 6 * KiB)
    assert result.sha256 is None  # not asked to hash


def test_reads_ahead_at_most_twice_the_concurrency(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 64 * KiB)
    store = MemoryBlocks(delay=0.005)
    store.upload(path, KiB, concurrency=3)
    assert store.most_in_flight <= 3
    assert len(store.sent) == 64


def test_a_failed_block_stops_the_upload_with_the_stores_error(file_of_10_blocks):
    store = MemoryBlocks(fail_on=5)
    with pytest.raises(TransferFailed) as err:
        store.upload(file_of_10_blocks, KiB, concurrency=2)
    assert "upload (block 5) of mem://x failed" in str(err.value)
    assert "ConnectionResetError: reset by peer" in str(err.value)
    assert isinstance(err.value.__cause__, ConnectionResetError)
    assert 5 not in store.sent


def test_empty_file_has_no_blocks(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    result = MemoryBlocks().upload(path, KiB, hash_file=True)
    assert (result.total, result.sent) == (0, 0)
    assert result.sha256 == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size, block, max_blocks, minimum, expected", [
    (100, 10, 50, 1, 10),  # fits: the configured size
    (1000, 10, 50, 1, 20),  # too many blocks: raised to size / max_blocks, rounded up
    (1001, 10, 50, 1, 21),
    (100, 10, 50, 64, 64),  # below the service minimum (S3: 5 MiB)
])
def test_effective_block_size(size, block, max_blocks, minimum, expected):
    assert effective_block_size(size, block, max_blocks, minimum) == expected


def test_s3_part_size_respects_the_5mib_minimum_and_10000_parts():
    from wrappers.transfer.s3 import MIN_PART_SIZE, part_size_for

    assert part_size_for(100, 1 << 20) == MIN_PART_SIZE
    assert part_size_for(100_000 * (8 << 20), 8 << 20) == 10 * (8 << 20)
