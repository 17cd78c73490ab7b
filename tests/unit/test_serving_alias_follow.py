"""`python -m services.serving` as a subprocess on 127.0.0.1, as the container runs it: waits for
the tracking server and the alias (503 meanwhile), serves the alias, follows it to a new version
under load with zero failed requests, keeps serving when it is deleted, survives a killed
worker, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.net import free_port
from tests.support.serving import WINE_BODY, metric_value
from wrappers import registry, wine


class ServingProcess:
    """The serving entrypoint in a subprocess, its log in a file."""

    def __init__(self, tmp_path: Path, tracking_uri: str, model: str = "wine", **settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"serving-{self.port}.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SERVING_") and k != "MLFLOW_REGISTRY_URI"}
        env.update({
            "MLFLOW_TRACKING_URI": tracking_uri, "SERVING_MODEL_NAME": model,
            "SERVING_HOST": "127.0.0.1", "SERVING_PORT": str(self.port),
            "SERVING_POLL_INTERVAL": "0.5", "SERVING_GRACEFUL_TIMEOUT": "10",
            # mlflow models serve (mlflow engine) execs uvicorn from PATH.
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        })
        env.update({f"SERVING_{k.upper()}": str(v) for k, v in settings.items()})
        self.started = time.monotonic()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "services.serving"], env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serving exited with {self.proc.returncode} while waiting for "
                            f"{what}:\n{self.log()[-3000:]}")
            try:
                if result := predicate():
                    return result
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}:\n{self.log()[-3000:]}")

    def ping(self) -> int:
        return requests.get(self.url + "/ping", timeout=5).status_code

    def predict(self, body=WINE_BODY, session=requests) -> float:
        resp = session.post(self.url + "/invocations", json=body, timeout=30)
        resp.raise_for_status()
        return resp.json()["predictions"][0]

    def worker_pids(self) -> list[int]:
        # Per thread: a restarted worker is a child of the supervisor's follower thread.
        children = " ".join(p.read_text() for p in
                            Path(f"/proc/{self.proc.pid}/task").glob("*/children"))
        return sorted(int(p) for p in children.split()
                      if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes())

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def serving(tmp_path, tracking_uri):
    started = []

    def start(**settings) -> ServingProcess:
        started.append(ServingProcess(tmp_path, settings.pop("tracking_uri", tracking_uri),
                                      **settings))
        return started[-1]

    yield start
    for proc in started:
        proc.stop()


class RequestLoop(threading.Thread):
    """Predicts over one keep-alive connection until stopped (or a hard bound is hit)."""

    def __init__(self, server: ServingProcess, max_requests: int = 20000,
                 max_seconds: float = 90):
        super().__init__(daemon=True)
        self.server, self.max_requests, self.max_seconds = server, max_requests, max_seconds
        self.results: list[tuple[float, int, float | None]] = []  # (time, status, prediction)
        self.halt = threading.Event()

    def run(self):
        session = requests.Session()
        deadline = time.monotonic() + self.max_seconds
        while not self.halt.is_set() and time.monotonic() < deadline \
                and len(self.results) < self.max_requests:
            try:
                r = session.post(self.server.url + "/invocations", json=WINE_BODY, timeout=30)
                value = r.json()["predictions"][0] if r.status_code == 200 else None
                self.results.append((time.monotonic(), r.status_code, value))
            except requests.RequestException as exc:
                self.results.append((time.monotonic(), -1, repr(exc)))

    def first_time_of(self, value: float) -> float | None:
        return next((t for t, _, v in self.results if v == value), None)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["fast", "mlflow"])
def test_waits_for_the_alias_then_follows_it_under_load_with_zero_failed_requests(
        serving, engine):
    server = serving(engine=engine)
    server.wait_for(lambda: server.ping() == 503, 60, "/ping to answer 503 while the model "
                    "does not exist")
    waiting = requests.get(server.url + "/ping", timeout=5).json()
    assert "models:/wine@production" in waiting["message"]
    server.wait_for(lambda: "registered model 'wine' does not exist yet" in server.log(), 30,
                    "the waiting log line")

    wine.log_model(alpha=0.5, l1_ratio=0.5, register_as="wine", alias="production")
    server.wait_for(lambda: server.ping() == 200, 180, "version 1 to be served")
    old = server.predict()
    v2 = wine.log_model(alpha=0.1, l1_ratio=0.2, register_as="wine")
    assert v2.version == "2"

    loops = [RequestLoop(server), RequestLoop(server)]  # two connections: both workers busy
    for loop in loops:
        loop.start()
    time.sleep(1.0)
    moved_at = time.monotonic()
    registry.set_alias("wine", "production", "2")
    new = server.wait_for(lambda: (v := server.predict()) != old and v, 180,
                          "version 2 to be served")
    server.wait_for(lambda: all(len([r for r in loop.results if r[2] == new]) >= 200
                                for loop in loops), 60, "200 requests per loop on version 2")
    for loop in loops:
        loop.halt.set()
        loop.join()

    for loop in loops:
        statuses = {s for _, s, _ in loop.results}
        assert statuses == {200}, [r for r in loop.results if r[1] != 200][:5]
        values = [v for _, _, v in loop.results]
        switch = values.index(new)
        # Each connection saw old answers, then new ones — never a mix after the switch.
        assert set(values[:switch]) == {old} and set(values[switch:]) == {new}
    seen_new = min(loop.first_time_of(new) for loop in loops)
    log = server.log()
    assert "now serving wine version 2 (was 1): switch took" in log
    switch_line = next(line for line in log.splitlines() if "version 2 (was 1)" in line)
    print(f"\n[{engine}] {sum(len(loop.results) for loop in loops)} requests, all 200; alias "
          f"moved → first v2 answer after {seen_new - moved_at:.2f}s (poll interval 0.5s); "
          f"server log: {switch_line.split('serving: ')[-1]}")
    metrics = requests.get(server.url + "/metrics", timeout=5).text
    # One series per worker process serving it (the mlflow engine has one proxy process).
    assert metric_value(metrics, "serving_model_info", model="wine", alias="production",
                        version="2", engine=engine) == (2 if engine == "fast" else 1), metrics
    assert metric_value(metrics, "serving_model_info", version="1") == 0
    assert metric_value(metrics, "serving_model_switches_total") == 2

    registry.delete_alias("wine", "production")
    server.wait_for(lambda: "no longer resolves" in server.log(), 30,
                    "the alias-deleted warning")
    assert server.predict() == new  # still serving the last version
    assert server.stop() == 0
    assert server.log().rstrip().endswith("stopped")


@pytest.mark.slow
def test_a_killed_worker_is_restarted_on_the_served_version(serving):
    wine.log_model(register_as="wine", alias="production")
    server = serving(workers=2)
    server.wait_for(lambda: server.ping() == 200, 180, "version 1 to be served")
    expected = server.predict()
    victim = server.wait_for(lambda: len(server.worker_pids()) == 2 and server.worker_pids(),
                             30, "two workers")[0]
    os.kill(victim, signal.SIGKILL)
    server.wait_for(lambda: "serves version 1 again" in server.log(), 120,
                    "the worker to be restarted and loaded")
    assert victim not in server.worker_pids() and len(server.worker_pids()) == 2
    # Every fresh connection may land on the new worker: all of them answer.
    assert {server.predict() for _ in range(20)} == {expected}
    assert "exited with code -9; restarting it" in server.log()


@pytest.mark.slow
def test_starts_before_the_tracking_server_and_serves_once_it_is_up(serving, tmp_path):
    """Compose may start serving first; it waits (503, throttled log) instead of exiting."""
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = serving(tracking_uri=uri)
    server.wait_for(lambda: "not reachable" in server.log(), 60, "the unreachable log line")
    assert server.ping() == 503

    (tmp_path / "tracking").mkdir()
    tracking = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path}/tracking/mlflow.db",
         "--artifacts-destination", str(tmp_path / "tracking" / "artifacts"), "--workers", "1"],
        cwd=tmp_path / "tracking", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep
             + os.environ["PATH"]},
    )
    try:
        import mlflow

        server.wait_for(lambda: requests.get(uri + "/health", timeout=2).ok, 120,
                        "the tracking server")
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        wine.log_model(register_as="wine", alias="production")
        server.wait_for(lambda: server.ping() == 200, 120, "version 1 to be served")
        assert 3 <= server.predict() <= 8
        assert "now serving wine version 1 (was nothing)" in server.log()
        # Throttled: a few lines for the outage, not one per 0.5 s poll.
        assert server.log().count("not reachable") < 10
    finally:
        assert server.stop() == 0
        tracking.terminate()
        tracking.wait(timeout=30)
