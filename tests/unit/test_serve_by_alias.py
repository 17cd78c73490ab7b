"""`mlflow models serve` on models:/wine@production, spoken to over HTTP like a user's curl."""

from __future__ import annotations

import pandas as pd
import pytest
import requests

from tests.support.processes import ServerProcess, mlflow_models_serve, python_env
from tests.support.serving import WINE_BODY
from wrappers import wine


@pytest.fixture
def served_wine(tracking_uri, tmp_path):
    wine.log_model(register_as="wine", alias="production")
    server = ServerProcess(mlflow_models_serve("models:/wine@production", "{port}"),
                           python_env(MLFLOW_TRACKING_URI=tracking_uri), tmp_path / "serve.log")
    try:
        server.wait_ready(90)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server.url
    server.stop(timeout=20)


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
