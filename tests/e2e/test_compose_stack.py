"""The user's path through the real docker-compose.yml: up, demo, curl, UI, stores, host
client, alias promotion under load, restart durability. Marker: e2e (needs a Docker engine).

Runs the README quickstart — `docker compose --profile demo up -d` — in its own compose project
(E2E_COMPOSE_PROJECT, default mlops-e2e) with whatever .env the checkout has (CI appends
compose/offline.env for locally built images). Ports are the .env ones on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PROJECT = os.environ.get("E2E_COMPOSE_PROJECT", "mlops-e2e")
HOST = "127.0.0.1"
MLFLOW = f"http://{HOST}:{os.environ.get('MLFLOW_PORT', '5000')}"
SERVING = {
    "wine": f"http://{HOST}:{os.environ.get('SERVING_WINE_PORT', '8081')}",
    "hf": f"http://{HOST}:{os.environ.get('SERVING_HF_PORT', '8082')}",
    "onnx": f"http://{HOST}:{os.environ.get('SERVING_ONNX_PORT', '8083')}",
}
S3_ENDPOINT = f"http://{HOST}:{os.environ.get('MINIO_PORT', '9000')}"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")
AZURE_HOST_CONN = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={AZURITE_KEY};"
    f"BlobEndpoint=http://{HOST}:{os.environ.get('AZURITE_PORT', '10000')}/devstoreaccount1;"
)
WINE_COLUMNS = ["fixed acidity", "volatile acidity", "citric acid", "residual sugar",
                "chlorides", "free sulfur dioxide", "total sulfur dioxide", "density", "pH",
                "sulphates", "alcohol"]
WINE_ROW = [6.2, 0.66, 0.48, 1.2, 0.029, 29, 75, 0.98, 3.33, 0.39, 12.8]
WINE_BODY = {"dataframe_split": {"columns": WINE_COLUMNS, "data": [WINE_ROW]}}
TIMINGS: dict[str, float] = {}


def compose(*args: str, timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["docker", "compose", "-p", PROJECT, *args]
    print("$", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n"
                             f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def wait_until(what: str, fn, timeout: float, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = fn()
            if result:
                return result
        except requests.RequestException as exc:
            last = exc
        time.sleep(interval)
    logs = compose("logs", "--tail", "60", check=False).stdout[-6000:]
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last})\n{logs}")


def ping(url: str) -> bool:
    return requests.get(url + "/ping", timeout=3).status_code == 200


def predict(url: str, body, timeout: float = 10) -> requests.Response:
    return requests.post(url + "/invocations", json=body, timeout=timeout)


def expected_wine(alpha: float = 0.5, l1_ratio: float = 0.5) -> float:
    from wrappers import wine

    row = pd.DataFrame([WINE_ROW], columns=WINE_COLUMNS).astype("float64")
    return float(wine.train_wine(alpha, l1_ratio).model.predict(row)[0])


def host_env(**extra) -> dict[str, str]:
    """A user's shell: only the tracking URI (plus PATH/HOME) — nothing else MLflow-related."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["MLFLOW_TRACKING_URI"] = MLFLOW
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def stack():
    compose("down", "-v", "--remove-orphans", check=False)
    t = time.monotonic()
    compose("--profile", "demo", "build")
    TIMINGS["image build (cached after first run)"] = time.monotonic() - t

    t0 = time.monotonic()
    compose("--profile", "demo", "up", "-d")  # the README quickstart
    wait_until("MLflow /health", lambda: requests.get(MLFLOW + "/health", timeout=3).ok, 300)
    TIMINGS["cold up → mlflow healthy"] = time.monotonic() - t0
    for name, url in SERVING.items():
        wait_until(f"serving-{name} /ping", lambda url=url: ping(url), 600)
    TIMINGS["cold up → 3 serving containers answering"] = time.monotonic() - t0
    yield
    if os.environ.get("E2E_KEEP_STACK") != "1":
        compose("--profile", "demo", "down", "-v", "--remove-orphans", check=False)
    print("\nE2E TIMINGS")
    for k, v in TIMINGS.items():
        print(f"  {k:<48} {v:7.1f} s")


def test_wine_container_answers_the_documented_curl(stack):
    resp = predict(SERVING["wine"], WINE_BODY)
    assert resp.status_code == 200, resp.text
    [value] = resp.json()["predictions"]
    assert 3.0 <= value <= 8.0
    assert value == pytest.approx(expected_wine(), abs=1e-9)


def test_onnx_container_equals_sklearn_within_1e5(stack):
    resp = predict(SERVING["onnx"], WINE_BODY)
    assert resp.status_code == 200, resp.text
    [value] = resp.json()["predictions"]
    assert abs(value - expected_wine()) < 1e-5


def test_hf_container_labels_and_scores_texts(stack):
    texts = ["the wine was excellent and fruity", "terrible sour taste", "ok"]
    resp = predict(SERVING["hf"], {"inputs": texts})
    assert resp.status_code == 200, resp.text
    preds = resp.json()["predictions"]
    assert len(preds) == 3
    for p in preds:
        assert p["label"] in {"negative", "positive"}
        assert 0.5 <= p["score"] <= 1.0


@pytest.mark.parametrize("name", ["wine", "onnx"])
def test_malformed_body_is_4xx_naming_problem_then_next_request_ok(stack, name):
    url = SERVING[name]
    bad_column = {"dataframe_split": {"columns": [c.replace("alcohol", "alcohool")
                                                  for c in WINE_COLUMNS], "data": [WINE_ROW]}}
    resp = predict(url, bad_column)
    assert 400 <= resp.status_code < 500
    assert "alcohol" in resp.json()["message"]

    resp = requests.post(url + "/invocations", data="{not json",
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert 400 <= resp.status_code < 500
    assert resp.json()["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE",
                                         "MALFORMED_REQUEST")

    assert predict(url, WINE_BODY).status_code == 200


def test_ui_page_and_registry_list_three_production_aliases(stack):
    ui = requests.get(MLFLOW + "/", timeout=10)
    assert ui.status_code == 200
    assert "<html" in ui.text.lower() and "mlflow" in ui.text.lower()

    resp = requests.get(MLFLOW + "/api/2.0/mlflow/registered-models/search", timeout=10)
    models = {m["name"]: {a["alias"]: a["version"] for a in m.get("aliases", [])}
              for m in resp.json()["registered_models"]}
    for name in ("wine", "wine-onnx", "sentiment"):
        assert "production" in models[name], models


def _hf_run_id() -> str:
    exp = requests.get(MLFLOW + "/api/2.0/mlflow/experiments/get-by-name",
                       params={"experiment_name": "hf-azure"}, timeout=10).json()["experiment"]
    assert exp["artifact_location"].startswith("wasbs://")
    runs = requests.post(MLFLOW + "/api/2.0/mlflow/runs/search",
                         json={"experiment_ids": [exp["experiment_id"]]}, timeout=10).json()
    return runs["runs"][0]["info"]["run_id"]


def test_azure_backed_artifact_downloads_through_the_server(stack):
    run_id = _hf_run_id()
    # What the UI's artifact browser calls.
    resp = requests.get(MLFLOW + "/get-artifact",
                        params={"path": "hf_config/config.json", "run_uuid": run_id}, timeout=20)
    assert resp.status_code == 200, resp.text[:500]
    assert resp.json()["id2label"] == {"0": "negative", "1": "positive"}


def test_model_files_are_in_minio_bucket_and_azurite_container(stack):
    import boto3
    from azure.storage.blob import ContainerClient
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1",
                      aws_access_key_id=os.environ.get("MINIO_ROOT_USER", "minioadmin"),
                      aws_secret_access_key=os.environ.get("MINIO_ROOT_PASSWORD",
                                                           "minioadmin-change-me"),
                      config=Config(s3={"addressing_style": "path"}))
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=os.environ.get("MLFLOW_S3_BUCKET", "mlflow"), Prefix="artifacts/")
        for o in page.get("Contents", [])]
    assert any(k.endswith("/MLmodel") for k in keys), keys[:20]
    assert any(k.endswith("model.skops") or k.endswith("model.pkl") for k in keys), keys[:20]

    container = ContainerClient.from_connection_string(AZURE_HOST_CONN, "mlflow")
    blobs = [b.name for b in container.list_blobs(name_starts_with="experiments/hf-azure/")]
    assert any(b.endswith("/MLmodel") for b in blobs), blobs[:20]
    assert any(b.endswith("model.safetensors") for b in blobs), blobs[:20]


def test_plain_host_client_logs_registers_and_loads(stack, tmp_path):
    code = """
import mlflow, numpy as np
from sklearn.linear_model import LinearRegression
X = np.random.RandomState(0).rand(10, 2); y = X @ [1.0, 2.0] + 3
m = LinearRegression().fit(X, y)
with mlflow.start_run():
    info = mlflow.sklearn.log_model(m, name="model", registered_model_name="host-client",
                                    input_example=X[:2])
loaded = mlflow.pyfunc.load_model(f"models:/host-client/{info.registered_model_version}")
print("PRED", float(loaded.predict(np.array([[1.0, 1.0]]))[0]))
"""
    t = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], env=host_env(), cwd=tmp_path,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    pred = float(out.stdout.split("PRED ")[1].split()[0])
    assert pred == pytest.approx(6.0, abs=1e-9)
    TIMINGS["host client log+register+load"] = time.monotonic() - t


def test_images_hold_only_what_their_containers_run(stack):
    """The serving image runs the installed services/wrappers, the user CLIs (its demo job calls
    them) and the demo job; benchmarks/, tools/ and tests/ stay out of every image
    (.dockerignore)."""
    files = compose("exec", "-T", "serving-wine", "find", "/app", "-name", "__pycache__",
                    "-prune", "-o", "-type", "f", "-print").stdout.split()
    assert {f.split("/")[2] for f in files} == {"compose", "scripts"}, files
    assert [f for f in files if f.startswith("/app/compose/")] == ["/app/compose/demo/run_demo.sh"]
    assert all(f.endswith(".py") for f in files if f.startswith("/app/scripts/")), files
    probe = ("import importlib.util as u; "
             "print([m for m in ('benchmarks', 'tools', 'tests') if u.find_spec(m)])")
    for service in ("serving-wine", "mlflow"):
        out = compose("exec", "-T", service, "python", "-c", probe)
        assert out.stdout.strip() == "[]", (service, out.stdout)


def _in_container(name: str, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", name, "python", "-c", code],
                          capture_output=True, text=True, timeout=timeout)


def test_universal_model_in_azurite_is_served_by_the_serving_image(stack):
    """README "Large models in Azure Blob": save with the stack's image (weights to Azurite,
    a manifest to MLflow), then serve the alias with the serving image like any other model."""
    texts = ["the wine was excellent", "terrible sour taste", "ok"]
    out = compose("--profile", "demo", "run", "--rm", "-T", "demo", "python",
                  "scripts/save_universal.py", "--tiny", "--storage", "azure://mlflow/universal",
                  "--register", "sentiment-universal", "--alias", "production", "--no-progress",
                  timeout=600)
    assert "sentiment-universal" in out.stdout + out.stderr
    # Only the manifest went to the MLflow artifact store; the weights are in Azurite.
    from azure.storage.blob import BlobServiceClient

    blobs = [b.name for b in BlobServiceClient.from_connection_string(AZURE_HOST_CONN)
             .get_container_client("mlflow").list_blobs(name_starts_with="universal/")]
    assert any(b.endswith(".safetensors") for b in blobs), blobs

    name = f"{PROJECT}-universal"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    t0 = time.monotonic()
    # Its own empty weight cache: the save above seeded the shared model-cache volume, and this
    # container is to fetch the weights from Azurite as a fresh host would.
    compose("run", "-d", "--rm", "--name", name, "-e", "SERVING_MODEL_NAME=sentiment-universal",
            "-e", "UNIVERSAL_MODEL_CACHE=/tmp/universal-cache", "serving-hf")
    try:
        body = json.dumps({"inputs": texts})
        code = ("import urllib.request as u; r = u.urlopen(u.Request("
                "'http://127.0.0.1:8080/invocations', data=" + repr(body.encode()) + ", "
                "headers={'Content-Type': 'application/json'}), timeout=30); "
                "print(r.read().decode())")
        try:
            result = wait_until("the universal model served",
                                lambda: (r := _in_container(name, code)).returncode == 0 and r,
                                300, interval=2)
        except AssertionError as exc:
            logs = subprocess.run(["docker", "logs", "--tail", "80", name],
                                  capture_output=True, text=True, check=False)
            raise AssertionError(f"{exc}\n{name}:\n{logs.stdout}{logs.stderr}") from None
        TIMINGS["universal model: container start → serving"] = time.monotonic() - t0
        got = json.loads(result.stdout)["predictions"]
        assert [set(p) for p in got] == [{"label", "score"}] * len(texts)
        # The same tiny model (same seed, same tokenizer) as the demo's `sentiment`, so the
        # same answers as serving-hf, whose weights came through the MLflow artifact store.
        want = predict(SERVING["hf"], {"inputs": texts}).json()["predictions"]
        assert [p["label"] for p in got] == [p["label"] for p in want]
        np.testing.assert_allclose([p["score"] for p in got], [p["score"] for p in want],
                                   atol=1e-6)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_alias_move_switches_serving_with_zero_failed_requests(stack, tmp_path):
    before = expected_wine()
    after = expected_wine(alpha=0.1, l1_ratio=0.2)
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/train_wine.py"), "--alpha", "0.1",
         "--l1-ratio", "0.2", "--register", "wine", "--json"],
        env=host_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    new_version = json.loads(out.stdout)["version"]

    statuses: list[int] = []
    values: list[float] = []
    switched_at: list[float] = []
    stop = threading.Event()

    def load_loop():
        session = requests.Session()
        deadline = time.monotonic() + 180  # bounded: stops by itself
        while not stop.is_set() and time.monotonic() < deadline and len(statuses) < 20000:
            try:
                r = session.post(SERVING["wine"] + "/invocations", json=WINE_BODY, timeout=10)
                statuses.append(r.status_code)
                if r.status_code == 200:
                    v = r.json()["predictions"][0]
                    values.append(v)
                    if abs(v - after) < 1e-9 and not switched_at:
                        switched_at.append(time.monotonic())
            except requests.RequestException:
                statuses.append(-1)

    thread = threading.Thread(target=load_loop)
    thread.start()
    time.sleep(2)
    t_move = time.monotonic()
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/registry.py"), "set-alias", "wine", new_version,
         "production"], env=host_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    wait_until("new wine version served", lambda: bool(switched_at), 150, interval=0.2)
    time.sleep(2)  # keep the load on across the old version's retirement
    stop.set()
    thread.join(timeout=30)
    TIMINGS["alias move → new version answering"] = switched_at[0] - t_move

    assert len(statuses) > 50
    bad = [s for s in statuses if s != 200]
    assert not bad, f"{len(bad)} failed requests of {len(statuses)}: {sorted(set(bad))}"
    assert any(abs(v - before) < 1e-9 for v in values)
    assert abs(values[-1] - after) < 1e-9
    # once switched, never back to the old version
    first_new = next(i for i, v in enumerate(values) if abs(v - after) < 1e-9)
    assert all(abs(v - after) < 1e-9 for v in values[first_new:])


def test_down_then_up_keeps_runs_models_aliases_and_artifacts(stack):
    models_before = requests.get(MLFLOW + "/api/2.0/mlflow/registered-models/search",
                                 timeout=10).json()["registered_models"]
    aliases_before = {m["name"]: m.get("aliases") for m in models_before}
    wine_before = predict(SERVING["wine"], WINE_BODY).json()["predictions"]

    compose("--profile", "demo", "down")  # volumes kept
    t0 = time.monotonic()
    compose("--profile", "demo", "up", "-d")
    wait_until("MLflow /health", lambda: requests.get(MLFLOW + "/health", timeout=3).ok, 300)
    for name, url in SERVING.items():
        wait_until(f"serving-{name} /ping after restart", lambda url=url: ping(url), 600)
    TIMINGS["warm up (volumes kept) → serving"] = time.monotonic() - t0

    models_after = requests.get(MLFLOW + "/api/2.0/mlflow/registered-models/search",
                                timeout=10).json()["registered_models"]
    assert {m["name"]: m.get("aliases") for m in models_after} == aliases_before
    assert predict(SERVING["wine"], WINE_BODY).json()["predictions"] == wine_before
    assert predict(SERVING["hf"], {"inputs": ["still here"]}).status_code == 200
    resp = requests.get(MLFLOW + "/get-artifact",
                        params={"path": "hf_config/config.json", "run_uuid": _hf_run_id()},
                        timeout=20)
    assert resp.status_code == 200
    demo_logs = compose("--profile", "demo", "logs", "demo").stdout
    assert "already set, skipping" in demo_logs
    np.testing.assert_allclose(wine_before, [expected_wine(alpha=0.1, l1_ratio=0.2)], atol=1e-9)
