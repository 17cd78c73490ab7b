"""Over the wire: the same corpus to `mlflow models serve` and to the fast engine
(`python -m services.serving`), both serving the same registered version; status, content type
and body must be identical for every request.

Corpus: random valid wine rows in batches of 1 to 512, in every request format MLflow accepts
(dataframe_split with and without index, reordered columns, dataframe_records, instances,
inputs as records and as columns, CSV, a charset parameter), `params`, inputs MLflow converts
leniently, and the bad inputs: schema violations, wrong types, nulls, empty data, non-JSON,
unknown keys, wrong and missing content types, wrong routes and methods.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import requests

from tests.support.net import free_port
from tests.support.processes import ServerProcess, mlflow_models_serve, python_env
from tests.support.serving import (
    COLUMNS,
    JSON_CT,
    ROW,
    Store,
    request_bodies,
    split_body,
    wine_rows,
)
from wrappers import onnx, wine

pytestmark = pytest.mark.slow

BATCH_SIZES = [1, 2, 7, 64, 511, 512]

BAD = {
    "missing column": (JSON_CT, split_body([ROW[:-1]], COLUMNS[:-1])),
    "records missing column": (JSON_CT, json.dumps(
        {"dataframe_records": [dict(zip(COLUMNS[:-1], ROW, strict=False))]}).encode()),
    "truncated JSON": (JSON_CT, b'{"dataframe_split": {"columns": ["pH"], "data": [[3.3]'),
    "not JSON": (JSON_CT, b"fixed acidity=7.4"),
    "unknown key": (JSON_CT, json.dumps({"rows": [ROW]}).encode()),
    "two keys": (JSON_CT, json.dumps({"instances": [ROW], "inputs": [ROW]}).encode()),
    "bare list": (JSON_CT, json.dumps([ROW]).encode()),
    "empty data": (JSON_CT, split_body([])),
    "null value": (JSON_CT, split_body([ROW[:-1] + [None]])),
    "text value": (JSON_CT, split_body([ROW[:-1] + ["twelve"]])),
    "ragged row": (JSON_CT, split_body([ROW, ROW[:-2]])),
    "nested value": (JSON_CT, split_body([ROW[:-1] + [[12.8]]])),
    "bad CSV": ("text/csv", b"fixed acidity,pH\n1,x\n"),
    "empty body": (JSON_CT, b""),
    "text/plain": ("text/plain", split_body([ROW])),
    "latin-1 charset": ("application/json; charset=latin-1", split_body([ROW])),
}

LENIENT = {
    "numeric string": (JSON_CT, split_body([ROW[:-1] + ["12.8"]])),
    "boolean": (JSON_CT, split_body([ROW[:-1] + [True]])),
    "integers": (JSON_CT, split_body([[int(v) for v in ROW]])),
    "extra column": (JSON_CT, split_body([ROW + [1.0]], COLUMNS + ["vintage"])),
    "params": (JSON_CT, split_body([ROW], params={"unused": 1})),
    "upper-case charset": ("application/json; charset=UTF-8", split_body([ROW])),
}


class Server(ServerProcess):
    def __init__(self, cmd: list[str], env: dict, log: Path):
        # The fast engine reads its port from the environment, `mlflow models serve` from argv.
        port = free_port()
        super().__init__(cmd, {**env, "SERVING_PORT": str(port)}, log, port=port)
        try:
            self.wait_ready(240)
        except RuntimeError as exc:
            pytest.fail(str(exc))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("conformance")
    cwd = os.getcwd()
    os.chdir(root)  # ./mlruns
    try:
        with Store(root) as s:
            wine.log_model(register_as="wine", alias="production")
            onnx.log_wine_model(register_as="wine-onnx", alias="production")
            yield s
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module", params=["wine", "wine-onnx"])
def servers(request, store, tmp_path_factory):
    name = request.param
    logs = tmp_path_factory.mktemp(f"logs-{name}")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SERVING_") and k != "MLFLOW_REGISTRY_URI"}
    # Some of MLflow's messages print a Python set of field names, whose order varies from
    # process to process (string hashing is randomised): two `mlflow models serve` processes
    # differ there too. A fixed hash seed makes the bodies comparable byte for byte.
    env.update(python_env(MLFLOW_TRACKING_URI=store.uri, PYTHONHASHSEED="0"))
    reference = Server(mlflow_models_serve(f"models:/{name}@production", "{port}"), env,
                       logs / "mlflow.log")
    try:
        fast = Server([sys.executable, "-m", "services.serving"],
                      {**env, "SERVING_MODEL_NAME": name, "SERVING_HOST": "127.0.0.1",
                       "SERVING_ENGINE": "fast"}, logs / "fast.log")
    except BaseException:
        reference.stop()
        raise
    yield name, reference, fast
    fast.stop()
    reference.stop()


def answer(server: Server, method: str, path: str, body: bytes = b"",
           content_type: str | None = JSON_CT, session=requests) -> tuple[int, str, bytes]:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    r = session.request(method, server.url + path, data=body, headers=headers, timeout=60)
    return r.status_code, r.headers.get("content-type", ""), r.content


def corpus():
    for n in BATCH_SIZES:
        for fmt, (ct, body) in request_bodies(wine_rows(n, seed=n)).items():
            yield f"{fmt} x{n}", ct, body
    yield from ((what, ct, body) for what, (ct, body) in LENIENT.items())
    yield from ((what, ct, body) for what, (ct, body) in BAD.items())


def test_every_request_gets_the_same_answer_from_both_engines(servers):
    name, reference, fast = servers
    ref_session, fast_session = requests.Session(), requests.Session()
    compared, differ = 0, []
    for what, content_type, body in corpus():
        want = answer(reference, "POST", "/invocations", body, content_type, ref_session)
        got = answer(fast, "POST", "/invocations", body, content_type, fast_session)
        if got != want:
            differ.append(f"{what}:\n  mlflow {want[0]} {want[1]} {want[2][:600]!r}"
                          f"\n  fast   {got[0]} {got[1]} {got[2][:600]!r}")
        compared += 1
    assert not differ, f"{name}: {len(differ)} of {compared} answers differ\n" + "\n".join(differ)
    # The corpus covers the successes and the failures (not only one kind of answer).
    assert compared == len(BATCH_SIZES) * 9 + len(LENIENT) + len(BAD)


def test_no_content_type_and_other_routes_answer_alike(servers):
    name, reference, fast = servers
    for method, path, body, ct in [
        ("POST", "/invocations", split_body([ROW]), None),
        ("GET", "/ping", b"", None),
        ("GET", "/health", b"", None),
        ("GET", "/version", b"", None),
        ("GET", "/invocations", b"", None),
        ("GET", "/nope", b"", None),
    ]:
        want = answer(reference, method, path, body, ct)
        got = answer(fast, method, path, body, ct)
        assert got[0] == want[0] and got[2] == want[2], f"{name}: {method} {path}"


def test_predictions_are_the_estimators(servers):
    """Both engines answer what the sklearn estimator predicts (within 1e-5 for ONNX)."""
    name, _, fast = servers
    rows = wine_rows(100, seed=3)
    import pandas as pd

    want = wine.train_wine().model.predict(pd.DataFrame(rows, columns=COLUMNS))
    got = json.loads(answer(fast, "POST", "/invocations", split_body(rows))[2])["predictions"]
    diff = max(abs(a - b) for a, b in zip(got, want, strict=True))
    assert diff == 0 if name == "wine" else diff < 1e-5
