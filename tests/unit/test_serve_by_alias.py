"""`mlflow models serve` on models:/wine@production, spoken to over HTTP like a user's curl."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import pytest
import requests

from tests.support.net import free_port
from tests.support.serving import WINE_BODY
from wrappers import wine


@pytest.fixture
def served_wine(tracking_uri, tmp_path):
    wine.log_model(register_as="wine", alias="production")
    port = free_port()
    # mlflow execs `uvicorn` from PATH: make it the one next to this interpreter.
    bindir = os.path.dirname(sys.executable)
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri,
           "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 — held across the yield
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/wine@production",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow models serve exited {proc.returncode}: "
                        f"{(tmp_path / 'serve.log').read_text()[-2000:]}")
        try:
            if requests.get(url + "/ping", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    else:
        pytest.fail("mlflow models serve did not answer /ping within 90 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.mark.slow
def test_served_alias_answers_the_documented_body(served_wine):
    resp = requests.post(served_wine + "/invocations", json=WINE_BODY, timeout=10)
    assert resp.status_code == 200, resp.text
    [prediction] = resp.json()["predictions"]
    assert 3.0 <= prediction <= 8.0
    split = WINE_BODY["dataframe_split"]
    row = pd.DataFrame(split["data"], columns=split["columns"]).astype("float64")
    expected = wine.train_wine().model.predict(row)[0]
    assert prediction == pytest.approx(expected, abs=1e-12)

    bad = {"dataframe_split": {**WINE_BODY["dataframe_split"],
                               "columns": [c.replace("alcohol", "alcohool")
                                           for c in WINE_BODY["dataframe_split"]["columns"]]}}
    resp = requests.post(served_wine + "/invocations", json=bad, timeout=10)
    assert 400 <= resp.status_code < 500
    assert "alcohol" in resp.json()["message"]

    resp = requests.post(served_wine + "/invocations", json=WINE_BODY, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["predictions"] == [prediction]
