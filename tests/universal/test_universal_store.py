"""UniversalModelWrapper end to end on Azurite: save → register → serve by alias in a fresh
process → second load from the cache; one contract test over every provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import requests

from tests.support.processes import ServerProcess, mlflow_models_serve, python_env
from tests.support.provider_cases import (
    CASES,
    TEXTS,
    assert_frames_close,
    build_case,
    hf_predictions,
    sklearn_case,
)
from tests.support.servers import REPO
from wrappers import universal
from wrappers.base import file_sha256
from wrappers.transfer import ContainerNotFound

pytestmark = pytest.mark.azurite

LOAD_AND_PREDICT = """
import json, sys
import mlflow
model = mlflow.pyfunc.load_model(sys.argv[1])
out = model.predict(json.loads(sys.argv[2]))
stats = model.unwrap_python_model().cache_stats
print(json.dumps({"predictions": out.to_dict(orient="records"),
                  "downloads": stats.downloads, "hits": stats.hits}))
"""


def _child_env(tracking_uri: str, cache: Path) -> dict[str, str]:
    return python_env(MLFLOW_TRACKING_URI=tracking_uri, UNIVERSAL_MODEL_CACHE=str(cache),
                      PYTHONPATH=str(REPO))


def _assert_same_predictions(got: list[dict], expected: pd.DataFrame):
    assert [r["label"] for r in got] == expected["label"].tolist()
    assert [r["score"] for r in got] == pytest.approx(expected["score"].tolist(), abs=1e-6)


@pytest.mark.slow
def test_hf_model_in_azurite_is_served_by_alias_and_reloaded_from_cache(
        tracking_uri, tiny_hf_dir, container, fault_proxy, tmp_path):
    expected = hf_predictions(tiny_hf_dir, TEXTS)

    logged = universal.UniversalModelWrapper.save(
        str(tiny_hf_dir), "huggingface", "text-classification",
        storage=f"azure://{container}/models", register_as="sentiment-universal",
        alias="production")

    # The registry holds a manifest, not the weights.
    local = Path(mlflow.artifacts.download_artifacts(logged.model_uri))
    artifacts = sorted(p.relative_to(local / "artifacts").as_posix()
                       for p in (local / "artifacts").rglob("*") if p.is_file())
    assert artifacts == ["universal-manifest.json"]
    weights_sha = file_sha256(tiny_hf_dir / "model.safetensors")
    assert all(file_sha256(p) != weights_sha for p in local.rglob("*") if p.is_file())
    manifest = universal.ModelManifest.read(local / "artifacts" / universal.MANIFEST_FILE)
    entry = manifest.files.entry("model.safetensors")
    assert entry.sha256 == weights_sha
    assert entry.uri.startswith(f"azure://{container}/models/{tiny_hf_dir.name}/")

    # A fresh process serves it by alias, fetching the files through the proxy.
    fault_proxy.reset_log()
    cache = tmp_path / "serving-cache"
    env = _child_env(tracking_uri, cache)
    server = ServerProcess(mlflow_models_serve("models:/sentiment-universal@production", "{port}"),
                           env, tmp_path / "serve.log", cwd=REPO)
    try:
        server.wait_ready(120)
        resp = requests.post(server.url + "/invocations", json={"inputs": TEXTS}, timeout=30)
        assert resp.status_code == 200, resp.text
        _assert_same_predictions(resp.json()["predictions"], expected)
    finally:
        server.stop()
    blob_gets = fault_proxy.requests(method="GET")
    assert {r.path.rsplit("/", 1)[-1] for r in blob_gets} >= {"model.safetensors",
                                                               "config.json"}

    # Another fresh process on the same host: everything from the cache, no request at all.
    fault_proxy.reset_log()
    out = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, "models:/sentiment-universal@production",
         json.dumps(TEXTS)], env=env, capture_output=True, text=True, timeout=180, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    _assert_same_predictions(result["predictions"], expected)
    assert result["downloads"] == 0 and result["hits"] == len(manifest.files.files)
    assert fault_proxy.requests(outcome=None) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_provider_round_trips_through_azurite(name, tracking_uri, container, azure_env,
                                                   tmp_path, monkeypatch, request):
    case = build_case(name, tmp_path, request)
    universal.UniversalModelWrapper.save(
        case.model_name, case.provider, case.task, storage=f"azure://{container}/models",
        register_as=f"u-{name}", alias="staging", **case.save_kwargs())
    # A cache the saving step did not seed: the load must download every file.
    monkeypatch.setenv(universal.CACHE_ENV, str(tmp_path / "fresh-cache"))
    model = mlflow.pyfunc.load_model(f"models:/u-{name}@staging")
    got = model.predict(case.model_input)

    assert model.unwrap_python_model().cache_stats.downloads > 0
    assert_frames_close(got, case.expected)


@pytest.mark.slow
def test_corrupt_cached_file_is_downloaded_again(tracking_uri, container, azure_env, tmp_path,
                                                 monkeypatch):
    case = sklearn_case(tmp_path)
    universal.UniversalModelWrapper.save(
        "wine-elasticnet", "sklearn", "tabular-regression", storage=f"azure://{container}/m",
        model=case.model, input_example=case.input_example, register_as="wine-u")
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv(universal.CACHE_ENV, str(cache_dir))
    first = mlflow.pyfunc.load_model("models:/wine-u/1")
    stats = first.unwrap_python_model().cache_stats
    assert (stats.downloads, stats.repaired) == (1, 0)  # model.skops (a regressor: no labels)

    weights = universal.ModelFileCache(cache_dir).blob_path(
        first.unwrap_python_model().manifest.files.entry("model.skops").sha256)
    weights.write_bytes(b"not a model" + weights.read_bytes()[11:])  # same size, wrong bytes

    again = mlflow.pyfunc.load_model("models:/wine-u/1")
    stats = again.unwrap_python_model().cache_stats
    assert (stats.repaired, stats.downloads) == (1, 1)
    pd.testing.assert_frame_equal(again.predict(case.input_example), case.expected)


def test_missing_container_fails_before_anything_is_logged(tracking_uri, azure_env, tmp_path):
    case = sklearn_case(tmp_path)
    with pytest.raises(ContainerNotFound, match="'no-such-container' does not exist"):
        universal.UniversalModelWrapper.save(
            "wine-elasticnet", "sklearn", "tabular-regression",
            storage="azure://no-such-container/m", model=case.model,
            input_example=case.input_example, register_as="never")
    assert mlflow.search_runs(search_all_experiments=True).empty
    assert mlflow.MlflowClient().search_registered_models() == []


@pytest.mark.slow
def test_save_universal_cli_registers_and_aliases(tracking_uri, container, azure_env, tmp_path,
                                                  tiny_hf_dir):
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "save_universal.py"), "--tiny",
         "--storage", f"azure://{container}/cli", "--register", "cli-universal",
         "--alias", "production", "--no-progress", "--json"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout[out.stdout.index("{"):])
    assert (result["registered_name"], result["alias"]) == ("cli-universal", "production")
    assert result["tags"][universal.TAG_STORE_URI].startswith(f"azure://{container}/cli/")

    missing = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "save_universal.py"), "--model",
         str(tiny_hf_dir), "--storage", "azure://no-such-container/cli"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=300, cwd=tmp_path)
    assert missing.returncode == 2
    assert "container 'no-such-container' does not exist" in missing.stderr
