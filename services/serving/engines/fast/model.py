"""One loaded model version in a fast worker: which paths serve it, checked when it loads.

Loading picks, for this particular model, the cheapest way to answer that gives MLflow's
exact bytes, by trying it against MLflow's own handler on synthetic requests:

1. a numeric fast path (runners.py) when the signature is all-double named columns;
2. else micro-batching (batching.py) when batched predictions equal one-at-a-time ones
   (or SERVING_BATCHING=on) and make a row measurably cheaper;
3. else MLflow's handler itself, in the prediction thread.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from services.serving.asgi import Reply
from services.serving.engines.fast.parsing import NumericColumns, parse_csv, parse_json
from services.serving.engines.fast.protocols.mlflow_scoring import (
    accepts_params,
    predictions_reply,
    reference_invocations,
)

log = logging.getLogger("serving.fast")

BATCH_PROBE_ROWS = 16
BATCH_MIN_SPEEDUP = 1.5  # per-row cost of a batch vs one request alone, for `auto`


@dataclass
class FastLoadSummary:
    """How a fast worker serves a version, decided at load (logged with the switch)."""

    path: str = "mlflow"  # the answering path: a runner's name, or MLflow's own handler
    why: str | None = None  # why MLflow's handler, when a fast path was not even tried
    batching: str | None = None  # on/off and why, when batching was considered
    batch_speedup: float | None = None  # per-row cost, one request alone vs batched
    batch_exact: bool | None = None  # batched answers bit-identical to one at a time
    load_s: float = 0.0
    ready_s: float = 0.0  # load + verification + warm-up

    def describe(self) -> str:
        parts = [f"path {self.path}"]
        if self.why:
            parts.append(self.why)
        if self.batching:
            parts.append(f"batching {self.batching}")
        if self.batch_speedup is not None:
            exact = "bit-identical" if self.batch_exact else "not bit-identical"
            parts.append(f"a batched row costs 1/{self.batch_speedup:g} of a lone request "
                         f"({exact})")
        parts.append(f"load {self.load_s:g}s, verify + warm-up "
                     f"{max(0.0, self.ready_s - self.load_s):.3g}s")
        return "; ".join(parts)


@dataclass
class LoadedModel:
    version: str
    pyfunc: object
    input_schema: object
    takes_params: bool
    columns: NumericColumns | None = None
    runner: object | None = None  # reply(x) for the numeric fast path
    csv_fast: bool = False
    batching: bool = False
    summary: FastLoadSummary = field(default_factory=FastLoadSummary)
    inflight: int = 0
    batcher: object | None = None  # MicroBatcher, created by the worker's event loop


def load(path: str, version: str, batching: str) -> LoadedModel:
    """Load the model folder ``path``, choose and verify its serving paths, warm it up."""
    from mlflow.pyfunc.scoring_server import load_model_with_mlflow_config

    t0 = time.perf_counter()
    pyfunc = load_model_with_mlflow_config(path)
    schema = pyfunc.metadata.get_input_schema()
    model = LoadedModel(version, pyfunc, schema, accepts_params(pyfunc))
    model.summary.load_s = round(time.perf_counter() - t0, 3)

    model.columns = NumericColumns.from_schema(schema)
    if model.columns is not None:
        _choose_runner(model)
    if model.runner is None and batching != "off":
        model.batching = _decide_batching(model, forced=batching == "on")
    _warm_up(model, path)
    model.summary.ready_s = round(time.perf_counter() - t0, 3)
    return model


# --- numeric fast path ------------------------------------------------------------------------


def _sample_rows(model: LoadedModel, n: int, rng) -> np.ndarray:
    """Plausible rows: the input example's, jittered; standard normal without an example."""
    names = list(model.columns.names)
    base = None
    try:
        example = model.pyfunc.input_example
        base = example[names].to_numpy(dtype=np.float64)
    except Exception:  # noqa: BLE001 — no example, or not a frame with these columns
        pass
    if base is None or len(base) == 0 or not np.isfinite(base).all():
        return rng.standard_normal((n, len(names)))
    rows = base[rng.integers(len(base), size=n)]
    return rows * rng.uniform(0.8, 1.2, rows.shape)


def _probe_bodies(model: LoadedModel) -> list[tuple[str, bytes]]:
    import pandas as pd

    rng = np.random.default_rng(20240601)
    names = list(model.columns.names)
    bodies = []
    for n in (1, 2, 7, 64):
        x = _sample_rows(model, n, rng)
        bodies.append(("application/json", json.dumps(
            {"dataframe_split": {"columns": names, "data": x.tolist()}}).encode()))
        records = [dict(zip(names, row, strict=True)) for row in x.tolist()]
        bodies.append(("application/json", json.dumps({"inputs": records}).encode()))
        bodies.append(("text/csv", pd.DataFrame(x, columns=names).to_csv(index=False).encode()))
    return bodies


def _fast_reply(model: LoadedModel, runner, content_type: str, body: bytes) -> Reply | None:
    parse = parse_csv if content_type == "text/csv" else parse_json
    x = parse(body, model.columns)
    return None if x is None else runner.reply(x)


def _choose_runner(model: LoadedModel) -> None:
    from services.serving.engines.fast.runners import numeric_runners

    bodies = _probe_bodies(model)
    expected = [reference_invocations(body, ct, model.pyfunc, model.input_schema)
                for ct, body in bodies]
    if any(r.status != 200 for r in expected):
        bad = next(r for r in expected if r.status != 200)
        model.summary.path = "mlflow"
        model.summary.why = (f"synthetic requests fail in MLflow's own path "
                                f"({bad.status}: {bad.body[:200]!r})")
        return
    for runner in numeric_runners(model.pyfunc, model.columns, model.takes_params):
        mismatch = None
        csv_ok = True
        for (ct, body), want in zip(bodies, expected, strict=True):
            try:
                got = _fast_reply(model, runner, ct, body)
            except Exception as exc:  # noqa: BLE001 — this runner cannot serve this model
                mismatch = f"{type(exc).__name__}: {exc}"
                break
            if got is None and ct == "text/csv":
                csv_ok = False
                continue
            if got is None or got.status != want.status or got.body != want.body:
                mismatch = f"{ct} answer differs from MLflow's"
                break
        if mismatch is None:
            model.runner, model.csv_fast = runner, csv_ok
            model.summary.path = runner.name
            return
        log.info("fast path %s not used for this model: %s", runner.name, mismatch)
    model.summary.path = "mlflow"


# --- micro-batching ---------------------------------------------------------------------------


def _probe_frames(model: LoadedModel) -> list:
    """Single-row frames to compare alone vs batched: the input example's rows, and for a
    one-string-column signature a few texts of very different lengths (padding differs)."""
    import pandas as pd

    try:
        example = model.pyfunc.input_example
    except Exception:  # noqa: BLE001
        return []
    if not isinstance(example, pd.DataFrame) or len(example) == 0:
        return []
    frames = [example.iloc[[i]].reset_index(drop=True) for i in range(len(example))]
    if example.shape[1] == 1 and pd.api.types.is_string_dtype(example.dtypes.iloc[0]):
        column = example.columns[0]
        for text in ("ok", "a somewhat longer sentence about nothing in particular",
                     " ".join(["words"] * 60)):
            frames.append(pd.DataFrame({column: [text]}))
    return frames


def _timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _decide_batching(model: LoadedModel, forced: bool) -> bool:
    import pandas as pd

    from services.serving.engines.fast.batching import split_output

    frames = _probe_frames(model)
    if not frames:
        model.summary.batching = "on" if forced else "off (no input example to verify with)"
        return forced
    predict = model.pyfunc.predict
    try:
        singles = [predictions_reply(predict(f)).body for f in frames]
        order = [i % len(frames) for i in range(max(BATCH_PROBE_ROWS, len(frames)))]
        batch = pd.concat([frames[i] for i in order], ignore_index=True)
        pieces = split_output(predict(batch), [1] * len(order))
    except Exception as exc:  # noqa: BLE001
        model.summary.batching = f"off (probe failed: {type(exc).__name__}: {exc})"
        return False
    if pieces is None:
        model.summary.batching = "off (output is not one row per input row)"
        return False
    differing = sum(predictions_reply(p).body != singles[i]
                    for p, i in zip(pieces, order, strict=True))
    t_single = sum(_timed(lambda f=f: predict(f), 3) for f in frames) / len(frames)
    t_row = _timed(lambda: predict(batch), 3) / len(order)
    speedup = t_single / t_row if t_row > 0 else 0.0
    model.summary.batch_speedup = round(speedup, 1)
    model.summary.batch_exact = differing == 0
    if forced:
        model.summary.batching = (f"on (SERVING_BATCHING=on; {differing}/{len(order)} probe "
                                     f"rows differ from unbatched predictions)")
        return True
    if differing:
        model.summary.batching = (
            f"off ({differing}/{len(order)} probe rows batched differ from unbatched in the "
            f"last bits, so answers would not be MLflow's; SERVING_BATCHING=on trades that for "
            f"{speedup:.1f}x cheaper rows)")
        return False
    if speedup < BATCH_MIN_SPEEDUP:
        model.summary.batching = f"off (a batched row is only {speedup:.1f}x cheaper)"
        return False
    model.summary.batching = f"on (exact on the probe, {speedup:.1f}x cheaper per row)"
    return True


# --- warm-up ----------------------------------------------------------------------------------


def _warm_up(model: LoadedModel, path: str) -> None:
    """The logged serving example through every path this model uses, a few times."""
    try:
        example = model.pyfunc.metadata.get_serving_input(path)
    except Exception:  # noqa: BLE001
        example = None
    if not example:
        return
    body = example.encode()
    for _ in range(3):
        reply = reference_invocations(body, "application/json", model.pyfunc,
                                      model.input_schema)
        if model.runner is not None:
            _fast_reply(model, model.runner, "application/json", body)
    if reply.status != 200:
        log.warning("the model's own serving_input_example.json answers %d: %s", reply.status,
                    reply.body[:300])
