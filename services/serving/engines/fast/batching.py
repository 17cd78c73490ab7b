"""Adaptive micro-batching: concurrent requests' rows in one ``predict`` call.

No timer by default: while a batch runs in the prediction thread, requests that arrive queue
up, and the next batch takes all of them (up to ``max_rows``). A lone request is predicted at
once, so batching costs nothing at low load and grows with it. ``max_wait`` > 0 additionally
holds an idle model back that long to gather a batch (a throughput-for-latency trade that
closed-loop clients — the common case — do not need).

Rows are concatenated only between requests whose parsed frames have the same columns and
dtypes. A failing batch is re-run request by request, so an invalid request gets exactly the
error it would get alone and does not take its batch-mates down with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor

log = logging.getLogger("serving.batching")


def batchable(data) -> bool:
    """What MLflow's parser produced is rows we can stack: a frame or an ≥1-D array."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return len(data) > 0
    return isinstance(data, np.ndarray) and data.ndim >= 1 and len(data) > 0


def rows_of(frame) -> int:
    return len(frame)


def frame_key(frame) -> tuple:
    """Inputs with the same key stack without changing any value's type."""
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return "frame", tuple(frame.columns), tuple(str(t) for t in frame.dtypes)
    # `{"inputs": ["a", "bb"]}` parses to a <U2 array: fixed-width strings of any width
    # stack into the wider width, values unchanged.
    return "array", frame.dtype.kind, frame.shape[1:]


def stack(frames: list):
    import numpy as np
    import pandas as pd

    if isinstance(frames[0], pd.DataFrame):
        return pd.concat(frames, ignore_index=True)
    return np.concatenate(frames, axis=0)


def split_output(raw, sizes: list[int]) -> list | None:
    """One slice of ``raw`` per request, or None when the output is not one row per input."""
    import numpy as np
    import pandas as pd

    total = sum(sizes)
    if isinstance(raw, (pd.DataFrame, pd.Series)):
        if len(raw) != total:
            return None
        take = raw.iloc.__getitem__
    elif isinstance(raw, (np.ndarray, list)):
        if len(raw) != total:
            return None
        take = raw.__getitem__
    else:
        return None
    out, start = [], 0
    for n in sizes:
        out.append(take(slice(start, start + n)))
        start += n
    return out


class MicroBatcher:
    """Queues parsed requests (frames or arrays); one task runs them in batches on ``executor``."""

    def __init__(self, predict: Callable, executor: Executor, max_rows: int,
                 max_wait: float, on_batch: Callable[[int], None] | None = None):
        self._predict = predict  # frame -> raw predictions; raises MlflowException on bad input
        self._executor = executor
        self.max_rows = max_rows
        self.max_wait = max_wait
        self._on_batch = on_batch
        self._queue: deque = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def predict(self, frame):
        """Raw predictions for ``frame`` (its slice of a batch's output)."""
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._loop, self._wakeup = loop, asyncio.Event()
            self._task = loop.create_task(self._run())
        future = loop.create_future()
        self._queue.append((frame, frame_key(frame), future))
        self._wakeup.set()
        return await future

    def _take(self) -> list:
        frame, key, future = self._queue.popleft()
        batch, rows = [(frame, future)], rows_of(frame)
        skipped = []
        while self._queue and rows < self.max_rows:
            item = self._queue.popleft()
            n = rows_of(item[0])
            if item[1] != key or rows + n > self.max_rows:
                skipped.append(item)
                continue
            batch.append((item[0], item[2]))
            rows += n
        self._queue.extendleft(reversed(skipped))  # they go first next time
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            if self.max_wait and sum(rows_of(f) for f, _, _ in self._queue) < self.max_rows:
                await asyncio.sleep(self.max_wait)
            batch = [(f, fut) for f, fut in self._take() if not fut.cancelled()]
            if not batch:
                continue
            await self._run_batch(loop, batch)

    async def _run_batch(self, loop, batch) -> None:
        frames = [f for f, _ in batch]
        if len(frames) == 1:
            pieces = None
            try:
                result = await loop.run_in_executor(self._executor, self._predict, frames[0])
                pieces = [result]
            except Exception as exc:  # noqa: BLE001 — handed to the waiting request
                _settle(batch[0][1], exc=exc)
                return
        else:
            pieces = await loop.run_in_executor(self._executor, self._predict_many, frames)
        if self._on_batch:
            self._on_batch(sum(rows_of(f) for f in frames))
        if pieces is None:  # the batch failed or its output did not split: one by one
            for frame, future in batch:
                try:
                    result = await loop.run_in_executor(self._executor, self._predict, frame)
                except Exception as exc:  # noqa: BLE001
                    _settle(future, exc=exc)
                else:
                    _settle(future, result=result)
            return
        for (_, future), piece in zip(batch, pieces, strict=True):
            _settle(future, result=piece)

    def _predict_many(self, frames) -> list | None:
        try:
            raw = self._predict(stack(frames))
        except Exception:  # noqa: BLE001 — someone's request is invalid; retried alone
            return None
        pieces = split_output(raw, [rows_of(f) for f in frames])
        if pieces is None:
            log.warning("batched output of type %s does not split into one row per input "
                        "row; predicting these requests one by one", type(raw).__name__)
        return pieces

    def close(self) -> None:
        """Stop the batching task; callable from any thread (the worker's control thread)."""
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)


def _settle(future: asyncio.Future, result=None, exc: BaseException | None = None) -> None:
    if future.done():  # timed out and cancelled by the request
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
