"""UniversalModelWrapper without a store: every provider's export and runner (the cases of
tests/support/provider_cases.py), the provider registry, and the manifest and pickle formats
earlier models were saved with. The same cases through Azurite and the registry:
tests/universal/test_universal_store.py."""

from __future__ import annotations

import base64
import json

import cloudpickle
import pandas as pd
import pytest

from tests.support.provider_cases import (
    CASES,
    NEEDS_HF_MODEL,
    ProviderCase,
    assert_frames_close,
    build_case,
    sklearn_case,
)
from wrappers import universal
from wrappers.base import file_sha256
from wrappers.transfer import FileEntry, Manifest
from wrappers.transfer.cache import ModelFileCache
from wrappers.universal.providers.base import artifacts_context

# cloudpickle of UniversalModelWrapper(batch_size=32) as logged by the single-module
# wrappers/universal.py: the python_model.pkl of every universal model saved before the split.
PICKLED_BEFORE_SPLIT = base64.b64decode(
    "gAWVRgAAAAAAAACMEndyYXBwZXJzLnVuaXZlcnNhbJSMFVVuaXZlcnNhbE1vZGVsV3JhcHBlcpSTlCmBlH2UjApi"
    "YXRjaF9zaXpllEsgc2Iu")


def _draft(provider, case: ProviderCase):
    features = None if case.input_example is None else list(case.input_example.columns)
    return universal.ModelManifest("m", provider.name, case.task, "v1",
                                   Manifest("azure://c/m/v1"), features)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in NEEDS_HF_MODEL else name
    for name in sorted(CASES)])
def test_every_provider_exports_files_that_answer_like_its_framework(name, tmp_path, request):
    case = build_case(name, tmp_path, request)
    provider = universal.provider_named(case.provider)
    out = provider.export(case.model_name, case.model, tmp_path / "export", case.input_example)
    assert (out / provider.weights_file).is_file()

    runner = universal.build_runner(out, _draft(provider, case), batch_size=8)
    model_input = case.model_input
    if isinstance(model_input, pd.DataFrame):
        # Columns in another order: the runner picks them by the manifest's feature names.
        model_input = model_input[model_input.columns[::-1]]
    assert_frames_close(runner.predict(model_input), case.expected)


def test_onnx_text_model_without_tokenizer_names_the_missing_file(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"")
    provider = universal.provider_named("onnx")
    draft = universal.ModelManifest("m", "onnx", "text-classification", "v1",
                                    Manifest("azure://c/m/v1"))
    with pytest.raises(ValueError, match="has no tokenizer .tokenizer.json next to model.onnx"):
        provider.runner(tmp_path, draft, 8)


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
    case = sklearn_case(tmp_path)
    provider = universal.provider_named("sklearn")
    out = provider.export(case.model_name, case.model, tmp_path / "export")
    files = Manifest("azure://nowhere/w/v1", [
        FileEntry(p.name, f"azure://nowhere/w/v1/{p.name}", p.stat().st_size, file_sha256(p))
        for p in sorted(out.iterdir())])
    monkeypatch.setenv(universal.CACHE_ENV, str(tmp_path / "cache"))
    ModelFileCache().adopt(out, files)
    manifest_path = universal.ModelManifest(
        "w", "sklearn", "tabular-regression", "v1", files,
        list(case.input_example.columns)).write(tmp_path / universal.MANIFEST_FILE)

    model = cloudpickle.loads(cloudpickle.dumps(universal.UniversalModelWrapper()))
    model.load_context(artifacts_context(**{universal.MANIFEST_ARTIFACT: str(manifest_path)}))
    assert (model.cache_stats.hits, model.cache_stats.downloads) == (len(files.files), 0)
    assert_frames_close(model.predict(None, case.input_example), case.expected)


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

