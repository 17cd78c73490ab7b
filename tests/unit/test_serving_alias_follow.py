"""services.serving as a subprocess on 127.0.0.1: waits for the alias, serves it, follows it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.conftest import free_port
from tests.unit.test_serve_by_alias import WINE_BODY
from wrappers import registry, wine


def wait_for(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def serving(tracking_uri, tmp_path, request):
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "SERVING_MODEL_NAME": "wine",
           "SERVING_PORT": str(port), "SERVING_HOST": "127.0.0.1",
           "SERVING_POLL_INTERVAL": "0.5", "SERVING_DRAIN_SECONDS": "1",
           "SERVING_ENGINE": request.param,
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    log_path = tmp_path / "serving.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.serving"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}", log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("serving", ["fast", "mlflow"], indirect=True)
def test_waits_for_alias_then_follows_it_with_zero_failed_requests(serving):
    url, log_path = serving
    wait_for(lambda: requests.get(url + "/ping", timeout=2).status_code == 503, 60,
             "the server to answer /ping with 503 while the alias is unset")
    assert "models:/wine@production" in requests.get(url + "/ping", timeout=2).json()["message"]

    v1 = wine.log_model(alpha=0.5, l1_ratio=0.5, register_as="wine", alias="production")
    wait_for(lambda: requests.get(url + "/ping", timeout=2).status_code == 200, 120,
             "version 1 to be served")
    first = requests.post(url + "/invocations", json=WINE_BODY, timeout=10).json()
    v2 = wine.log_model(alpha=0.1, l1_ratio=0.2, register_as="wine")
    assert (v1.version, v2.version) == ("1", "2")

    statuses, values = [], []
    stop = threading.Event()

    def loop():
        s = requests.Session()
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            r = s.post(url + "/invocations", json=WINE_BODY, timeout=10)
            statuses.append(r.status_code)
            if r.ok:
                values.append(r.json()["predictions"][0])

    t = threading.Thread(target=loop)
    t.start()
    time.sleep(0.5)
    registry.set_alias("wine", "production", v2.version)
    old = first["predictions"][0]
    wait_for(lambda: values and values[-1] != old, 120, "version 2 to be served")
    time.sleep(2.5)  # across the old backend's drain + stop
    stop.set()
    t.join()

    assert statuses and all(s == 200 for s in statuses), sorted(set(statuses))
    new = values[-1]
    assert new != old
    switch = values.index(new)
    assert set(values[:switch]) == {old} and set(values[switch:]) == {new}
    assert "now serving wine version 2" in log_path.read_text()
    metrics = requests.get(url + "/metrics", timeout=5).text
    assert 'serving_model_info{alias="production"' in metrics and 'version="2"' in metrics
