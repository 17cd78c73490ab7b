"""The model kinds' settings (wrappers/model_settings.py) as a user meets them, and the ONNX
fast-path contract the serving engine relies on."""

from __future__ import annotations

import numpy as np
import pytest

from wrappers import base, onnx
from wrappers.settings import SettingsInvalid
from wrappers.universal.providers.base import artifacts_context


@pytest.fixture
def wine_onnx(tmp_path):
    from wrappers import wine

    fit = wine.train_wine()
    path = onnx.sklearn_to_onnx(fit.model, len(wine.FEATURES), tmp_path / "wine.onnx")
    return path, fit.x_test.head(7)


def test_onnx_threads_come_from_the_environment_when_the_session_is_built(wine_onnx,
                                                                          monkeypatch):
    path, _ = wine_onnx
    monkeypatch.setenv("ONNX_INTRA_OP_THREADS", "2")
    assert onnx.inference_session(path).get_session_options().intra_op_num_threads == 2
    monkeypatch.delenv("ONNX_INTRA_OP_THREADS")
    assert onnx.inference_session(path).get_session_options().intra_op_num_threads == 1


def test_bad_onnx_threads_value_names_the_variable_and_an_example(wine_onnx, monkeypatch):
    monkeypatch.setenv("ONNX_INTRA_OP_THREADS", "two")
    with pytest.raises(SettingsInvalid) as err:
        onnx.inference_session(wine_onnx[0])
    assert "ONNX_INTRA_OP_THREADS='two'" in str(err.value)
    assert "e.g. ONNX_INTRA_OP_THREADS=1" in str(err.value)


def test_git_sha_from_the_environment_tags_logged_models(monkeypatch):
    monkeypatch.setenv("GIT_SHA", "3e34714")
    assert base.provenance_tags("wine")[base.TAG_GIT_SHA] == "3e34714"


def test_onnx_tabular_model_declares_what_the_serving_fast_path_uses(wine_onnx):
    from wrappers import wine

    path, rows = wine_onnx
    model = onnx.OnnxTabularModel(wine.FEATURES)
    model.load_context(artifacts_context(**{onnx.ONNX_ARTIFACT: str(path)}))

    assert model.serving_fast_path == "onnx-tabular"
    # What services/serving/engines/fast runs instead of predict: same values, bit for bit.
    shuffled = rows[rows.columns[::-1]]
    x = shuffled[model.feature_names].to_numpy(dtype=np.float64)
    fast = model.session.run(None, {model.input_name: x})[0].reshape(-1)
    np.testing.assert_array_equal(fast, model.predict(None, shuffled))


def test_top_class_is_the_softmax_winner():
    logits = np.array([[0.0, 1.0, 3.0], [1000.0, 0.0, -1000.0]])
    best, scores = base.top_class(logits)
    assert best.tolist() == [2, 0]
    expected = np.exp(3.0) / (np.exp(0.0) + np.exp(1.0) + np.exp(3.0))
    np.testing.assert_allclose(scores, [expected, 1.0])
