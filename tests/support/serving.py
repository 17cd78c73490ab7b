"""Helpers shared by the serving tests (unit and integration): the wine request bodies in every
format MLflow accepts, an in-process ASGI client, Prometheus text parsing, a module-wide store."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from wrappers import wine

JSON_CT = "application/json"
COLUMNS = list(wine.FEATURES)
ROW = [6.2, 0.66, 0.48, 1.2, 0.029, 29, 75, 0.98, 3.33, 0.39, 12.8]

# The README's example request: one wine, dataframe_split.
WINE_BODY = {
    "dataframe_split": {
        "columns": COLUMNS,
        "data": [ROW],
    }
}


def asgi_call(app, method: str, path: str, body: bytes = b"",
              content_type: str | None = JSON_CT) -> tuple[int, dict, bytes]:
    """One HTTP request through an ASGI app; (status, headers, body)."""
    return asyncio.run(asgi_call_async(app, method, path, body, content_type))


async def asgi_call_async(app, method, path, body=b"", content_type=JSON_CT):
    """:func:`asgi_call` on the running event loop (for concurrent requests)."""
    sent, pending = [], [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    headers = [(b"content-type", content_type.encode())] if content_type is not None else []
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": headers}
    await app(scope, receive, send)
    start = sent[0]
    return (start["status"], dict(start["headers"]),
            b"".join(m.get("body", b"") for m in sent[1:]))


def wine_rows(n: int, seed: int = 0) -> np.ndarray:
    """``n`` plausible wines: dataset rows, jittered by up to 10 %."""
    data = wine.load_wine_data()[COLUMNS].to_numpy()
    rng = np.random.default_rng(seed)
    return data[rng.integers(len(data), size=n)] * rng.uniform(0.9, 1.1, (n, len(COLUMNS)))


def split_body(rows, columns=COLUMNS, **extra) -> bytes:
    """A ``dataframe_split`` request body (``extra``: other top-level keys, e.g. params)."""
    rows = rows.tolist() if isinstance(rows, np.ndarray) else rows
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}, **extra}).encode()


def request_bodies(rows: np.ndarray) -> dict[str, tuple[str, bytes]]:
    """The same rows in every request format MLflow accepts for a named-column model."""
    records = [dict(zip(COLUMNS, r, strict=True)) for r in rows.tolist()]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    reordered = COLUMNS[::-1]
    return {
        "dataframe_split": (JSON_CT, split_body(rows)),
        "dataframe_split+index": (JSON_CT, json.dumps(
            {"dataframe_split": frame.to_dict(orient="split")}).encode()),
        "dataframe_split reordered": (JSON_CT, split_body(
            frame[reordered].to_numpy(), reordered)),
        "dataframe_records": (JSON_CT, json.dumps({"dataframe_records": records}).encode()),
        "instances": (JSON_CT, json.dumps({"instances": records}).encode()),
        "inputs records": (JSON_CT, json.dumps({"inputs": records}).encode()),
        "inputs columns": (JSON_CT, json.dumps(
            {"inputs": {c: frame[c].tolist() for c in COLUMNS}}).encode()),
        "charset": ("application/json; charset=utf-8", split_body(rows)),
        "csv": ("text/csv", frame.to_csv(index=False).encode()),
    }


class Store:
    """A tmp sqlite tracking store for a whole module (models are slow to log per test)."""

    def __init__(self, root: Path):
        self.root, self.uri = root, f"sqlite:///{root}/mlflow.db"

    def __enter__(self):
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        mlflow.set_experiment(experiment_id="0")
        return self

    def __exit__(self, *exc):
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)

    def download(self, name: str, version: str) -> str:
        """The version's model folder, as the supervisor downloads it for its workers."""
        return mlflow.artifacts.download_artifacts(
            f"models:/{name}/{version}", dst_path=str(self.root / f"{name}-v{version}"))


def metric_value(text: str, name: str, **labels) -> float:
    """A sample's value from Prometheus text, summed over series matching ``labels`` (0 when
    absent)."""
    want = {k: str(v) for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:]+)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if all(got.get(k) == v for k, v in want.items()):
            total += float(m.group(4))
    return total
