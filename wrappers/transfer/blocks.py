"""The upload loop both stores share: read a file block by block, skip the blocks the store
already holds, send the others from a bounded thread pool, fail on the first block that fails.

A store supplies only what differs: how a block is named or matched (Azure: a deterministic
block id; S3: the part's MD5, compared with the ETag of a part the server holds), how one block
is sent (``stage_block`` / ``upload_part``), and how an SDK error reads (``describe``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from wrappers.transfer.errors import TransferError
from wrappers.transfer.progress_bar import TransferProgress
from wrappers.transfer.settings import TransferSettings


@dataclass(frozen=True)
class Block:
    """One block of the file: ``number`` counts from 1 (S3 part numbers do too)."""

    number: int
    offset: int
    data: bytes


class BlockPlan(NamedTuple):
    """What the store knows of a block before sending it."""

    token: str | None  # the block's name in the commit (Azure id, S3 ETag), if known yet
    held: bool  # the store holds exactly these bytes (then token is set): do not send


@dataclass
class SentBlocks:
    """The outcome of one pass over the file."""

    tokens: list[str] = field(default_factory=list)  # in block order, for the commit
    sent: int = 0
    bytes_sent: int = 0
    sha256: str | None = None  # of the whole file, when the loop was asked to hash it

    @property
    def total(self) -> int:
        return len(self.tokens)


class ParallelBlockUpload:
    """Send a file's missing blocks with ``settings.max_concurrency`` threads.

    At most ``2 × max_concurrency`` blocks are read but not yet sent, so memory stays bounded
    whatever the file size. Per-request retries are the SDK's; a block that still fails stops
    the loop, waits for the blocks in flight, and raises ``describe(error, block)``.
    """

    def __init__(self, settings: TransferSettings, description: str,
                 plan: Callable[[Block], BlockPlan],
                 send: Callable[[Block, BlockPlan], str],
                 describe: Callable[[BaseException, Block], TransferError]):
        self.settings = settings
        self.description = description
        self.plan = plan
        self.send = send
        self.describe = describe

    def run(self, path: Path, block_size: int, hash_file: bool = False) -> SentBlocks:
        """Upload the blocks of ``path`` the store does not hold; ``hash_file`` also returns
        the file's sha256, computed on the same single read."""
        result = SentBlocks()
        tokens: dict[int, str] = {}
        file_hash = hashlib.sha256() if hash_file else None
        inflight: dict[Future, tuple[Block, BlockPlan]] = {}
        window = 2 * self.settings.max_concurrency
        progress = TransferProgress(path.stat().st_size, self.description,
                                    self.settings.show_progress)
        pool = ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="block")
        try:
            with open(path, "rb") as fh:
                number, offset = 1, 0
                while data := fh.read(block_size):
                    if file_hash is not None:
                        file_hash.update(data)
                    block = Block(number, offset, data)
                    plan = self.plan(block)
                    if plan.held:
                        tokens[number] = plan.token
                        progress.advance(len(data))
                    else:
                        if len(inflight) >= window:
                            self._reap(inflight, FIRST_COMPLETED, tokens)
                        future = pool.submit(self._send, block, plan, progress)
                        inflight[future] = (block, plan)
                        result.sent += 1
                        result.bytes_sent += len(data)
                    number += 1
                    offset += len(data)
            self._reap(inflight, ALL_COMPLETED, tokens)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            progress.close()
            raise
        pool.shutdown(wait=True)
        progress.close()
        result.tokens = [tokens[n] for n in sorted(tokens)]
        result.sha256 = file_hash.hexdigest() if file_hash is not None else None
        return result

    def _send(self, block: Block, plan: BlockPlan, progress: TransferProgress) -> str:
        token = self.send(block, plan)
        progress.advance(len(block.data))
        return token

    def _reap(self, inflight: dict[Future, tuple[Block, BlockPlan]], return_when: str,
              tokens: dict[int, str]) -> None:
        done, _ = wait(inflight, return_when=return_when)
        for future in done:
            block, _plan = inflight.pop(future)
            if exc := future.exception():
                raise self.describe(exc, block) from exc
            tokens[block.number] = future.result()


def effective_block_size(file_size: int, block_size: int, max_blocks: int,
                         min_block_size: int = 1) -> int:
    """``block_size``, raised to the service's minimum, and further when the file would need
    more blocks than the service allows."""
    needed = -(-file_size // max_blocks)
    return max(block_size, min_block_size, needed)
