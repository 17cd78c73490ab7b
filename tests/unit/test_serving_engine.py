"""The fast engine in-process: every request format, error bodies and metrics, each answer
compared with MLflow's own scoring handler (``scoring_server.invocations``) on the same model.

Models are logged once per module into a tmp sqlite store and loaded from their downloaded
folder, as a serving worker does. The ASGI app is called directly (``asgi_call``): the same
calls uvicorn makes, minus the socket.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pandas as pd
import pytest

from services.serving.engines.fast import model as fast_model
from services.serving.engines.fast.app import FastState, build_app
from services.serving.engines.fast.parsing import NumericColumns, parse_csv, parse_json
from services.serving.engines.fast.protocols.mlflow_scoring import reference_invocations
from tests.support.serving import (
    COLUMNS,
    JSON_CT,
    ROW,
    Store,
    asgi_call,
    asgi_call_async,
    metric_value,
    request_bodies,
    split_body,
    wine_rows,
)
from wrappers import wine


def state_serving(model, name="wine", **kwargs) -> tuple[FastState, object]:
    state = FastState(name, "production", **kwargs)
    if model is not None:
        state.activate(model)
    return state, build_app(state)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("serving-engine")) as s:
        wine.log_model(register_as="wine", alias="production")
        wine.log_model(alpha=0.1, l1_ratio=0.2, register_as="wine")
        yield s


@pytest.fixture(scope="module")
def wine_v1(store):
    return fast_model.load(store.download("wine", "1"), "1", "auto")


@pytest.fixture(scope="module")
def wine_v2(store):
    return fast_model.load(store.download("wine", "2"), "2", "auto")


def reference(model, content_type, body):
    return reference_invocations(body, content_type, model.pyfunc, model.input_schema)


# --- numeric fast path ------------------------------------------------------------------------


def test_wine_takes_the_linear_fast_path_verified_at_load(wine_v1):
    assert wine_v1.summary.path == "sklearn-linear"
    assert wine_v1.csv_fast


@pytest.mark.parametrize("n_rows", [1, 3, 64, 512])
def test_every_format_answers_exactly_what_mlflow_answers(wine_v1, n_rows):
    rows = wine_rows(n_rows, seed=n_rows)
    _, app = state_serving(wine_v1)
    sklearn_says = wine.train_wine().model.predict(pd.DataFrame(rows, columns=COLUMNS))
    for fmt, (content_type, body) in request_bodies(rows).items():
        status, headers, got = asgi_call(app, "POST", "/invocations", body, content_type)
        want = reference(wine_v1, content_type, body)
        assert (status, got) == (want.status, want.body), fmt
        assert headers[b"content-type"] == b"application/json"
        # The user-visible value: what the estimator itself predicts for these rows.
        assert json.loads(got)["predictions"] == sklearn_says.tolist(), fmt


def test_inputs_mlflow_converts_leniently_take_mlflows_path(wine_v1):
    _, app = state_serving(wine_v1)
    leniently_converted = {
        "numeric string": split_body([ROW[:-1] + ["12.8"]]),
        "boolean": split_body([ROW[:-1] + [True]]),
        "extra column": split_body([ROW + [1.0]], COLUMNS + ["vintage"]),
        "params": split_body([ROW], params={"unused": 1}),
    }
    for what, body in leniently_converted.items():
        status, _, got = asgi_call(app, "POST", "/invocations", body)
        want = reference(wine_v1, JSON_CT, body)
        assert (status, got) == (want.status, want.body), what
        assert status == 200, what
    # "12.8" means 12.8 to MLflow, so the prediction equals the numeric request's.
    numeric = json.loads(asgi_call(app, "POST", "/invocations", split_body([ROW]))[2])
    as_text = json.loads(asgi_call(app, "POST", "/invocations",
                                   leniently_converted["numeric string"])[2])
    assert as_text == numeric


@pytest.mark.parametrize("body, content_type, status, error_code, names", [
    (split_body([ROW[:-1]], COLUMNS[:-1]), JSON_CT, 400, "INVALID_PARAMETER_VALUE", "alcohol"),
    (json.dumps({"dataframe_records": [dict(zip(COLUMNS[:-1], ROW, strict=False))]}).encode(),
     JSON_CT, 400, "INVALID_PARAMETER_VALUE", "alcohol"),
    (b'{"dataframe_split": {"columns": ["pH"], "data": [[3.3]', JSON_CT, 400, "BAD_REQUEST",
     "valid JSON"),
    (json.dumps({"rows": [ROW]}).encode(), JSON_CT, 400, "BAD_REQUEST", "dataframe_split"),
    (json.dumps([ROW]).encode(), JSON_CT, 400, "BAD_REQUEST", "Received a list"),
    (split_body([]), JSON_CT, 400, "BAD_REQUEST", "evaluating the model"),
    (split_body([ROW[:-1] + [None]]), JSON_CT, 400, "BAD_REQUEST", "evaluating the model"),
    (split_body([ROW[:-1] + ["twelve"]]), JSON_CT, 400, "BAD_REQUEST", "alcohol"),
    (b"fixed acidity,pH\n1,x\n", "text/csv", 400, "BAD_REQUEST", "CSV"),
])
def test_bad_input_gets_mlflows_status_error_code_and_message(wine_v1, body, content_type,
                                                              status, error_code, names):
    _, app = state_serving(wine_v1)
    got_status, headers, got = asgi_call(app, "POST", "/invocations", body, content_type)
    want = reference(wine_v1, content_type, body)
    assert got_status == want.status == status
    error = json.loads(got)
    assert error["error_code"] == json.loads(want.body)["error_code"] == error_code
    assert names in error["message"]
    assert headers[b"content-type"] == b"application/json"


def test_content_type_errors_are_mlflows_plain_text(wine_v1):
    _, app = state_serving(wine_v1)
    status, headers, body = asgi_call(app, "POST", "/invocations", split_body([ROW]),
                                      "text/plain")
    assert status == 415 and headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert b"application/json" in body and b"Got 'text/plain'" in body
    status, _, body = asgi_call(app, "POST", "/invocations", split_body([ROW]),
                                "application/json; charset=latin-1")
    assert (status, body) == (415, b"The scoring server only supports UTF-8")
    # No content type at all: MLflow's handler fails on it and FastAPI answers 500.
    status, _, body = asgi_call(app, "POST", "/invocations", split_body([ROW]), None)
    assert (status, body) == (500, b"Internal Server Error")


def test_routes_answer_like_mlflows_fastapi_app(wine_v1):
    from mlflow.version import VERSION

    _, app = state_serving(wine_v1)
    assert asgi_call(app, "GET", "/ping")[::2] == (200, b"\n")
    assert asgi_call(app, "GET", "/health")[::2] == (200, b"\n")
    assert asgi_call(app, "GET", "/version")[::2] == (200, VERSION.encode())
    assert asgi_call(app, "GET", "/nope")[::2] == (404, b'{"detail":"Not Found"}')
    status, headers, body = asgi_call(app, "GET", "/invocations")
    assert (status, body) == (405, b'{"detail":"Method Not Allowed"}')
    assert headers[b"allow"] == b"POST"
    assert asgi_call(app, "POST", "/ping")[0] == 405


def test_nothing_loaded_answers_503_naming_the_alias_and_the_fix():
    _, app = state_serving(None)
    for method, path in (("GET", "/ping"), ("GET", "/health"), ("POST", "/invocations")):
        status, _, body = asgi_call(app, method, path, split_body([ROW]))
        assert status == 503, path
        error = json.loads(body)
        assert error["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert "models:/wine@production" in error["message"]
        assert "scripts/registry.py set-alias wine VERSION production" in error["message"]


def test_hot_swap_serves_the_new_version_from_the_next_request(wine_v1, wine_v2):
    state, app = state_serving(wine_v1)
    body = split_body([ROW])
    before = json.loads(asgi_call(app, "POST", "/invocations", body)[2])["predictions"]
    previous = state.activate(wine_v2)
    after = json.loads(asgi_call(app, "POST", "/invocations", body)[2])["predictions"]
    assert previous is wine_v1 and previous.inflight == 0
    assert after != before
    assert after == wine.train_wine(alpha=0.1, l1_ratio=0.2).model.predict(
        pd.DataFrame([ROW], columns=COLUMNS)).tolist()


def test_metrics_count_requests_latency_and_the_path_that_answered(wine_v1):
    from services.serving import metrics

    _, app = state_serving(wine_v1)
    metrics.set_served("wine", "production", "1", "fast")
    before = asgi_call(app, "GET", "/metrics")[2].decode()
    for _ in range(3):
        asgi_call(app, "POST", "/invocations", split_body([ROW]))
    asgi_call(app, "POST", "/invocations", split_body([ROW[:-1] + [True]]))  # MLflow's path
    asgi_call(app, "POST", "/invocations", b"not json")
    status, headers, text = asgi_call(app, "GET", "/metrics")
    after = text.decode()
    assert status == 200 and headers[b"content-type"].startswith(b"text/plain")

    def delta(name, **labels):
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("serving_requests_total", path="/invocations", status=200) == 4
    assert delta("serving_requests_total", path="/invocations", status=400) == 1
    assert delta("serving_request_duration_seconds_count") == 5
    assert delta("serving_predictions_total", route="sklearn-linear") == 3
    assert delta("serving_predictions_total", route="mlflow") == 1
    assert metric_value(after, "serving_model_info", model="wine", alias="production",
                        version="1", engine="fast") == 1


# --- parsing ----------------------------------------------------------------------------------


def test_parser_builds_the_fortran_ordered_matrix_mlflow_hands_sklearn():
    columns = NumericColumns(tuple(COLUMNS))
    rows = wine_rows(5)
    x = parse_json(split_body(rows), columns)
    assert x.flags.f_contiguous and x.dtype == np.float64
    np.testing.assert_array_equal(x, rows)
    # Column order follows the signature, whatever order the request used.
    x = parse_json(split_body(rows[:, ::-1], COLUMNS[::-1]), columns)
    np.testing.assert_array_equal(x, rows)
    csv = pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False).encode()
    np.testing.assert_array_equal(parse_csv(csv, columns), rows)


def test_a_remembered_request_head_parses_every_body_as_a_full_parse_would():
    """After the first ``dataframe_split`` body, only the rows after its head are parsed; the
    matrix is the full parse's, and whatever does not fit that head still gets MLflow's path."""
    columns = NumericColumns(tuple(COLUMNS))
    reordered = COLUMNS[::-1]
    x = parse_json(split_body(wine_rows(2)), columns)
    assert len(columns.split_heads) == 1
    np.testing.assert_array_equal(x, wine_rows(2))
    parse_json(split_body(wine_rows(2)[:, ::-1], reordered), columns)
    assert len(columns.split_heads) == 2
    bodies = [split_body(wine_rows(n, seed=n)) for n in (1, 3, 64)] + [
        split_body(wine_rows(5)[:, ::-1], reordered),
        split_body([ROW[:-1] + [1e400]]),  # overflows to inf: MLflow's path
        split_body([ROW[:-1] + [True]]),
        split_body([ROW, ROW[:-1]]),
        split_body([[int(v) for v in ROW]]),
        split_body([]),
        split_body([ROW])[:-2] + b', "index": [0]}}',
        split_body([ROW])[:-2] + b'}, "params": {}}',
        split_body([ROW])[:-1] + b" }",
    ]
    for body in bodies:
        got, want = parse_json(body, columns), parse_json(body, NumericColumns(tuple(COLUMNS)))
        if want is None:
            assert got is None, body
        else:
            assert got is not None and got.flags.f_contiguous, body
            np.testing.assert_array_equal(got, want)
    # A head that holds more than the columns is never remembered.
    with_index = json.dumps({"dataframe_split": {"columns": COLUMNS, "index": [0],
                                                 "data": [ROW]}}).encode()
    other = NumericColumns(tuple(COLUMNS))
    np.testing.assert_array_equal(parse_json(with_index, other), [ROW])
    assert not other.split_heads


def test_flat_float_replies_are_the_json_encoders_bytes():
    from services.serving.engines.fast.runners import _ndarray_reply

    for pred in (np.array([5.5]), np.array([1e-7, -0.0, 1e300, 3.0]), np.array([np.nan, 1.0]),
                 np.array([-np.inf]), np.array([], dtype=float), np.array([1, 2]),
                 np.array([[1.5, 2.5]]), np.float32([0.1])):
        assert _ndarray_reply(pred).body == json.dumps({"predictions": pred.tolist()}).encode()


@pytest.mark.parametrize("body", [
    split_body([ROW[:-1] + [True]]),
    split_body([ROW[:-1] + [None]]),
    split_body([ROW[:-1] + ["1.0"]]),
    split_body([ROW[:-1] + [1e400]]),
    b'{"dataframe_split": {"columns": ' + json.dumps(COLUMNS).encode() + b', "data": [['
    + b", ".join(str(v).encode() for v in ROW[:-1]) + b", NaN]]}}",
    split_body([ROW, ROW[:-1]]),
    split_body([ROW[:-1]], COLUMNS[:-1]),
    split_body([ROW + [1]], COLUMNS + ["x"]),
    split_body([ROW], COLUMNS[:-1] + ["fixed acidity"]),
    split_body([]),
    split_body([ROW], params={"a": 1}),
    split_body([ROW[:-1] + [2 ** 70]]),
    json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [ROW], "index": [[0]]}}).encode(),
    json.dumps({"inputs": [ROW]}).encode(),
    json.dumps({"instances": [ROW]}).encode(),
    json.dumps({"inputs": {c: [1.0] for c in COLUMNS[:-1]}}).encode(),
    b"[1, 2]",
    b"\xff\xfe",
])
def test_parser_leaves_anything_unusual_to_mlflow(body):
    assert parse_json(body, NumericColumns(tuple(COLUMNS))) is None


# --- ONNX -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_onnx_wine_takes_the_onnxruntime_fast_path_with_mlflows_answers(store):
    from wrappers import onnx

    onnx.log_wine_model(register_as="wine-onnx", alias="production")
    model = fast_model.load(store.download("wine-onnx", "1"), "1", "auto")
    assert model.summary.path == "onnx"
    _, app = state_serving(model, name="wine-onnx")
    for fmt, (content_type, body) in request_bodies(wine_rows(40, seed=7)).items():
        status, _, got = asgi_call(app, "POST", "/invocations", body, content_type)
        want = reference(model, content_type, body)
        assert (status, got) == (want.status, want.body), fmt


# --- text models and micro-batching -----------------------------------------------------------

TEXTS = ["the wine was excellent and fruity", "terrible sour taste", "ok",
         "an unseen sentence with words outside the tiny vocabulary " * 3, "great value"]


@pytest.fixture(scope="module")
def text_models(store, tiny_hf_dir):
    from wrappers import hf, onnx

    hf.log_model(str(tiny_hf_dir), register_as="sentiment", alias="production")
    onnx.log_hf_model(str(tiny_hf_dir), register_as="sentiment-onnx", alias="production")
    return {"torch": store.download("sentiment", "1"),
            "onnx": store.download("sentiment-onnx", "1")}


def _concurrently(app, bodies: list[bytes]):
    async def all_at_once():
        return await asyncio.gather(*(asgi_call_async(app, "POST", "/invocations", b)
                                      for b in bodies))
    return asyncio.run(all_at_once())


def _text_bodies() -> list[bytes]:
    bodies = [json.dumps({"inputs": [t]}).encode() for t in TEXTS]
    bodies += [json.dumps({"dataframe_split": {"columns": ["text"], "data": [[t]]}}).encode()
               for t in TEXTS]
    bodies.append(json.dumps({"inputs": TEXTS[:3]}).encode())
    return bodies * 3


@pytest.mark.slow
def test_batching_auto_is_on_only_where_batched_answers_are_bit_identical(text_models):
    onnx_model = fast_model.load(text_models["onnx"], "1", "auto")
    torch_model = fast_model.load(text_models["torch"], "1", "auto")
    assert onnx_model.summary.batch_exact and onnx_model.batching
    assert "(bit-identical)" in onnx_model.summary.describe()
    # torch's kernels round differently for different batch shapes: off, and the log says why.
    assert not torch_model.summary.batch_exact and not torch_model.batching
    assert "SERVING_BATCHING=on" in torch_model.summary.batching
    assert not fast_model.load(text_models["onnx"], "1", "off").batching


@pytest.mark.slow
def test_concurrent_requests_are_batched_and_each_gets_its_own_exact_answer(text_models):
    from services.serving import metrics

    model = fast_model.load(text_models["onnx"], "1", "auto")
    _, app = state_serving(model, name="sentiment-onnx")
    bodies = _text_bodies()
    batches_before = metrics.BATCH_ROWS._sum.get(), metrics.BATCH_ROWS._count.get() \
        if hasattr(metrics.BATCH_ROWS, "_count") else None
    rows_before = metric_value(asgi_call(app, "GET", "/metrics")[2].decode(),
                               "serving_batch_rows_sum")
    calls_before = metric_value(asgi_call(app, "GET", "/metrics")[2].decode(),
                                "serving_batch_rows_count")
    answers = _concurrently(app, bodies)
    for body, (status, _, got) in zip(bodies, answers, strict=True):
        want = reference(model, JSON_CT, body)
        assert (status, got) == (want.status, want.body)
    after = asgi_call(app, "GET", "/metrics")[2].decode()
    rows = metric_value(after, "serving_batch_rows_sum") - rows_before
    calls = metric_value(after, "serving_batch_rows_count") - calls_before
    assert rows == 5 * 3 + 5 * 3 + 3 * 3  # every row went through the batcher
    assert calls < len(bodies)  # ... in fewer predict calls than requests
    del batches_before


@pytest.mark.slow
def test_an_invalid_request_among_concurrent_ones_gets_mlflows_error(text_models):
    model = fast_model.load(text_models["onnx"], "1", "on")
    _, app = state_serving(model, name="sentiment-onnx")
    good = [json.dumps({"inputs": [t]}).encode() for t in TEXTS]
    bad = json.dumps({"inputs": [[]]}).encode()  # parses, then fails schema enforcement
    bodies = [*good[:2], bad, *good[2:]]
    answers = _concurrently(app, bodies)
    for body, (status, _, got) in zip(bodies, answers, strict=True):
        want = reference(model, JSON_CT, body)
        assert status == want.status
        if status == 200:
            assert got == want.body
        else:
            assert json.loads(got)["error_code"] == json.loads(want.body)["error_code"]
    assert [a[0] for a in answers] == [200, 200, 400, 200, 200, 200]


def test_a_failing_batch_is_retried_request_by_request():
    """A row that breaks ``predict`` fails its own request only; the rest keep their rows."""
    from concurrent.futures import ThreadPoolExecutor

    from services.serving.engines.fast.batching import MicroBatcher

    calls = []

    def predict(frame):  # a real model in miniature: 1/x, undefined at 0
        calls.append(len(frame))
        if (frame["x"] == 0).any():
            raise ZeroDivisionError("x = 0")
        return (1 / frame["x"]).to_numpy()

    async def scenario():
        batcher = MicroBatcher(predict, ThreadPoolExecutor(1), max_rows=64, max_wait=0.0)
        frames = [pd.DataFrame({"x": [float(v), float(v) + 1]}) for v in (1, 2, 0, 4, 5)]
        return await asyncio.gather(*(batcher.predict(f) for f in frames),
                                    return_exceptions=True)

    results = asyncio.run(scenario())
    assert isinstance(results[2], ZeroDivisionError)
    for v, got in zip((1, 2, 4, 5), results[:2] + results[3:], strict=True):
        np.testing.assert_array_equal(got, [1 / v, 1 / (v + 1)])
    # All five queued before the batcher ran: one batch of their 10 rows, which failed, then
    # each request alone.
    assert calls == [10, 2, 2, 2, 2, 2]


@pytest.mark.slow
def test_batching_forced_on_for_torch_trades_last_bits_for_throughput(text_models):
    model = fast_model.load(text_models["torch"], "1", "on")
    _, app = state_serving(model, name="sentiment")
    bodies = [json.dumps({"inputs": [t]}).encode() for t in TEXTS] * 2
    for body, (status, _, got) in zip(bodies, _concurrently(app, bodies), strict=True):
        want = json.loads(reference(model, JSON_CT, body).body)["predictions"]
        got = json.loads(got)["predictions"]
        assert status == 200
        assert [p["label"] for p in got] == [p["label"] for p in want]
        np.testing.assert_allclose([p["score"] for p in got], [p["score"] for p in want],
                                   rtol=0, atol=1e-6)
