"""ONE contract for every model kind: log → register → alias → load by alias → predict →
the values the underlying framework gives for the same input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from wrappers.base import TAG_DATA_SHA256, TAG_KIND

TEXTS = [
    "the wine was excellent and fruity",
    "terrible sour taste",
    "an unseen sentence with words outside the tiny vocabulary",
    "",
]


@dataclass
class Case:
    kind: str
    log: Callable[..., Any]  # (tiny_hf_dir, register_as, alias) -> LoggedModel
    model_input: Callable[[], Any]
    expected: Callable[[Any], Any]  # (tiny_hf_dir) -> expected output
    tolerance: float


def _wine_rows():
    from wrappers import wine

    return wine.load_wine_data()[wine.FEATURES].sample(64, random_state=1)


def _sklearn_expected(_):
    from wrappers import wine

    return wine.train_wine().model.predict(_wine_rows())


def _pipeline_expected(hf_dir):
    import transformers

    pipe = transformers.pipeline("text-classification", model=str(hf_dir), device=-1)
    out = pipe(TEXTS, truncation=True)
    return pd.DataFrame({"label": [o["label"] for o in out], "score": [o["score"] for o in out]})


def _log_wine(_, **kw):
    from wrappers import wine

    return wine.log_model(**kw)


def _log_hf(hf_dir, **kw):
    from wrappers import hf

    return hf.log_model(str(hf_dir), **kw)


def _log_onnx_wine(_, **kw):
    from wrappers import onnx

    return onnx.log_wine_model(**kw)


def _log_onnx_hf(hf_dir, **kw):
    from wrappers import onnx

    return onnx.log_hf_model(str(hf_dir), **kw)


CASES = [
    Case("wine", _log_wine, _wine_rows, _sklearn_expected, 0.0),
    Case("hf", _log_hf, lambda: pd.DataFrame({"text": TEXTS}), _pipeline_expected, 1e-6),
    Case("onnx-sklearn", _log_onnx_wine, _wine_rows, _sklearn_expected, 1e-5),
    Case("onnx-hf", _log_onnx_hf, lambda: list(TEXTS), _pipeline_expected, 1e-5),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_logged_model_served_by_alias_predicts_like_its_framework(
    case, tracking_uri, tiny_hf_dir
):
    logged = case.log(tiny_hf_dir, register_as=f"m-{case.kind}", alias="production")
    assert logged.version == "1"
    assert logged.alias_uri == f"models:/m-{case.kind}@production"

    model = mlflow.pyfunc.load_model(logged.alias_uri)
    got = model.predict(case.model_input())
    want = case.expected(tiny_hf_dir)

    if isinstance(want, pd.DataFrame):
        assert list(got.columns) == ["label", "score"]
        assert got["label"].tolist() == want["label"].tolist()
        np.testing.assert_allclose(got["score"], want["score"], atol=case.tolerance, rtol=0)
        assert set(got["label"]) <= {"negative", "positive"}
    else:
        np.testing.assert_allclose(np.asarray(got).ravel(), want, atol=case.tolerance, rtol=0)
        assert 3 <= float(np.mean(got)) <= 8  # wine quality scale

    mv = MlflowClient().get_model_version(f"m-{case.kind}", "1")
    assert mv.tags[TAG_KIND] == case.kind
    assert len(mv.tags[TAG_DATA_SHA256]) == 64


def test_wine_metrics_are_logged_on_held_out_split(tracking_uri):
    from wrappers import wine

    logged = wine.log_model(alpha=0.1, l1_ratio=0.2)
    run = mlflow.get_run(logged.run_id)
    assert set(run.data.metrics) == {"rmse", "mae", "r2"}
    assert 0.4 < run.data.metrics["rmse"] < 1.0
    assert run.data.params == {"alpha": "0.1", "l1_ratio": "0.2", "seed": "42"}
    assert logged.registered_name is None and logged.version is None


def test_alias_without_register_fails_before_a_run_is_logged(tracking_uri):
    from wrappers import wine

    with pytest.raises(ValueError, match="--alias needs --register NAME"):
        wine.log_model(alias="production")
    assert mlflow.search_runs(search_all_experiments=True).empty
