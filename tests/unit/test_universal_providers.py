"""UniversalModelWrapper without a store: every provider's export and runner, the provider
registry, the manifest and pickle formats earlier models were saved with, and the settings.

The round trip through a store (Azurite) and the registry is tests/universal."""

from __future__ import annotations

import base64
import json

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from wrappers import universal
from wrappers.base import file_sha256
from wrappers.transfer import FileEntry, Manifest
from wrappers.transfer.cache import ModelFileCache
from wrappers.universal.providers.base import artifacts_context

TEXTS = ["the wine was excellent and fruity", "terrible sour taste"]

# cloudpickle of UniversalModelWrapper(batch_size=32) as logged by the single-module
# wrappers/universal.py: the python_model.pkl of every universal model saved before the split.
PICKLED_BEFORE_SPLIT = base64.b64decode(
    "gAWVRgAAAAAAAACMEndyYXBwZXJzLnVuaXZlcnNhbJSMFVVuaXZlcnNhbE1vZGVsV3JhcHBlcpSTlCmBlH2UjApi"
    "YXRjaF9zaXpllEsgc2Iu")


def _wine():
    from wrappers import wine

    fit = wine.train_wine()
    return fit, fit.x_test.head(5)


def _sklearn(tmp_path):
    fit, x = _wine()
    return dict(provider="sklearn", task="tabular-regression", model=fit.model, model_name="w",
                input_example=x, expected=pd.DataFrame({"prediction": fit.model.predict(x)}))


def _onnx_tabular(tmp_path):
    from wrappers.onnx import sklearn_to_onnx

    fit, x = _wine()
    path = sklearn_to_onnx(fit.model, x.shape[1], tmp_path / "wine.onnx")
    return dict(provider="onnx", task="tabular-regression", model=None, model_name=str(path),
                input_example=x, expected=pd.DataFrame({"prediction": fit.model.predict(x)}))


def _pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(6, 4)), columns=list("abcd"))
    with torch.no_grad():
        probs = torch.softmax(net(torch.tensor(x.to_numpy(), dtype=torch.float32)), dim=1)
    best = probs.argmax(dim=1)
    return dict(provider="torch", task="tabular-classification", model=net, model_name="mlp",
                input_example=x,
                expected=pd.DataFrame({"prediction": best.numpy(),
                                       "score": probs[torch.arange(len(best)), best].numpy()}))


def _assert_frames_close(got: pd.DataFrame, expected: pd.DataFrame):
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        if expected[column].dtype.kind in "fc":
            np.testing.assert_allclose(got[column], expected[column], rtol=1e-5, atol=1e-6)
        else:
            assert got[column].tolist() == expected[column].tolist()


def _draft(provider, task, feature_names):
    return universal.ModelManifest("m", provider.name, task, "v1", Manifest("azure://c/m/v1"),
                                   feature_names)


@pytest.mark.parametrize("build", [_sklearn, _onnx_tabular, _pytorch],
                         ids=["sklearn", "onnx-tabular", "pytorch"])
def test_every_tabular_provider_exports_files_that_predict_like_the_model(build, tmp_path):
    spec = build(tmp_path)
    provider = universal.provider_named(spec["provider"])
    out = provider.export(spec["model_name"], spec["model"], tmp_path / "export",
                          spec["input_example"])
    assert (out / provider.weights_file).is_file()

    draft = _draft(provider, spec["task"], list(spec["input_example"].columns))
    runner = universal.build_runner(out, draft, batch_size=8)
    # Columns in another order: the runner picks them by the manifest's feature names.
    shuffled = spec["input_example"][spec["input_example"].columns[::-1]]
    _assert_frames_close(runner.predict(shuffled), spec["expected"])


@pytest.mark.slow
def test_onnx_text_provider_answers_like_the_hf_pipeline(tiny_hf_dir, tmp_path):
    from wrappers import hf
    from wrappers.onnx import hf_to_onnx

    out = tmp_path / "tiny-bert-onnx"
    out.mkdir()
    hf_to_onnx(tiny_hf_dir, out / "model.onnx")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (out / name).write_bytes((tiny_hf_dir / name).read_bytes())
    (out / "labels.json").write_text(
        json.dumps(json.loads((tiny_hf_dir / "config.json").read_text())["id2label"]))
    original = hf.HFTextClassifier()
    original.load_context(artifacts_context(**{hf.ARTIFACT_KEY: str(tiny_hf_dir)}))

    provider = universal.provider_named("onnx")
    runner = provider.runner(out, _draft(provider, "text-classification", None), 8)
    got, want = runner.predict(TEXTS), original.predict(None, TEXTS)
    assert got["label"].tolist() == want["label"].tolist()
    np.testing.assert_allclose(got["score"], want["score"], atol=1e-5)

    (out / "tokenizer.json").unlink()
    (out / "tokenizer_config.json").unlink()
    with pytest.raises(ValueError, match="has no tokenizer"):
        provider.runner(out, _draft(provider, "text-classification", None), 8)


def test_providers_are_found_by_their_modules_and_named_by_aliases():
    assert sorted(universal.PROVIDERS) == ["huggingface", "onnx", "pytorch", "sklearn"]
    for spelling, name in [("HF", "huggingface"), ("transformers", "huggingface"),
                           ("torch", "pytorch"), ("scikit-learn", "sklearn"), ("ONNX", "onnx")]:
        assert universal.provider_named(spelling).name == name
    with pytest.raises(ValueError, match="unknown model provider 'keras'; use one of "
                                         "huggingface, onnx, pytorch, sklearn"):
        universal.provider_named("keras")


def test_unsupported_task_and_missing_example_fail_before_any_upload():
    with pytest.raises(ValueError, match="task 'text-classification' is not supported for "
                                         "sklearn models; supported: tabular-regression"):
        universal.log_model("w", "sklearn", "text-classification", storage="azure://none/x")
    with pytest.raises(ValueError, match="tabular-regression models need input_example"):
        universal.log_model("w", "onnx", "tabular-regression", storage="azure://none/x")


def test_export_names_the_missing_weights_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no model.pt for a pytorch model"):
        universal.provider_named("pytorch").export(str(tmp_path / "empty"), None,
                                                   tmp_path / "out")
    with pytest.raises(ValueError, match="not an in-memory object"):
        universal.provider_named("hf").export("org/model", object(), tmp_path / "out")


def test_wrapper_loads_from_a_seeded_cache_with_no_store(tmp_path, monkeypatch):
    spec = _sklearn(tmp_path)
    provider = universal.provider_named("sklearn")
    out = provider.export("w", spec["model"], tmp_path / "export")
    files = Manifest("azure://nowhere/w/v1", [
        FileEntry(p.name, f"azure://nowhere/w/v1/{p.name}", p.stat().st_size, file_sha256(p))
        for p in sorted(out.iterdir())])
    monkeypatch.setenv(universal.CACHE_ENV, str(tmp_path / "cache"))
    ModelFileCache().adopt(out, files)
    manifest_path = universal.ModelManifest(
        "w", "sklearn", "tabular-regression", "v1", files,
        list(spec["input_example"].columns)).write(tmp_path / universal.MANIFEST_FILE)

    model = cloudpickle.loads(cloudpickle.dumps(universal.UniversalModelWrapper()))
    model.load_context(artifacts_context(**{universal.MANIFEST_ARTIFACT: str(manifest_path)}))
    assert (model.cache_stats.hits, model.cache_stats.downloads) == (len(files.files), 0)
    _assert_frames_close(model.predict(None, spec["input_example"]), spec["expected"])


def test_models_pickled_before_the_split_load_and_new_ones_pickle_the_same():
    model = cloudpickle.loads(PICKLED_BEFORE_SPLIT)
    assert type(model) is universal.UniversalModelWrapper
    assert model.batch_size == 32
    # Same bytes: models saved now also load where the code predates the split.
    assert cloudpickle.dumps(universal.UniversalModelWrapper(batch_size=32)) == \
        PICKLED_BEFORE_SPLIT


def test_manifest_written_before_the_split_reads(tmp_path):
    path = tmp_path / "universal-manifest.json"
    path.write_text(json.dumps({
        "format": "wrappers.universal/1", "model": "wine-elasticnet", "provider": "sklearn",
        "task": "tabular-regression", "version": "a1b2c3d4e5f60718",
        "feature_names": ["alcohol", "pH"],
        "components": {"tokenizer": False, "preprocessor": False, "label_map": None},
        "files": {"format": "wrappers.transfer.manifest/1",
                  "store_uri": "azure://mlflow/m/wine-elasticnet/a1b2c3d4e5f60718",
                  "content_sha256": "0" * 64,
                  "files": [{"path": "model.skops", "size": 3,
                             "uri": "azure://mlflow/m/wine-elasticnet/a1b2c3d4e5f60718/"
                                    "model.skops", "sha256": "f" * 64}]}}))
    manifest = universal.ModelManifest.read(path)
    assert (manifest.provider, manifest.feature_names) == ("sklearn", ["alcohol", "pH"])
    assert manifest.files.entry("model.skops").size == 3
    assert json.loads(path.read_text())["files"]["files"] == \
        manifest.to_dict()["files"]["files"]

    path.write_text(json.dumps({"format": "something-else/2"}))
    with pytest.raises(ValueError, match="is not a UniversalModelWrapper manifest"):
        universal.ModelManifest.read(path)

