"""Serving settings from the environment, and what a user sees when they are wrong."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.serving.settings import ServingSettings


@pytest.fixture
def env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SERVING_") or name in ("MLFLOW_TRACKING_URI",
                                                   "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_only_the_model_name_is_required(env):
    env.setenv("SERVING_MODEL_NAME", "wine")
    s = ServingSettings()
    assert (s.model_name, s.model_alias, s.engine, s.host, s.port) == \
        ("wine", "production", "fast", "0.0.0.0", 8080)
    assert s.workers == len(os.sched_getaffinity(0))
    assert s.intra_op_threads == 1  # one worker per CPU, one intra-op thread each
    assert s.tracking_uri == "http://mlflow:5000"
    assert s.alias_uri == "models:/wine@production"


def test_variables_reach_their_fields(env):
    env.setenv("SERVING_MODEL_NAME", "sentiment")
    env.setenv("SERVING_MODEL_ALIAS", "staging")
    env.setenv("SERVING_ENGINE", "mlflow")
    env.setenv("SERVING_WORKERS", "3")
    env.setenv("SERVING_POLL_INTERVAL", "0.5")
    env.setenv("SERVING_BATCHING", "on")
    env.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    env.setenv("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "7")
    s = ServingSettings()
    assert (s.model_alias, s.engine, s.workers, s.poll_interval, s.batching) == \
        ("staging", "mlflow", 3, 0.5, "on")
    assert s.tracking_uri == "http://tracking:5000"
    assert s.request_timeout == 7  # mlflow's own variable is honoured


def _entrypoint(env_vars: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVING_")}
    return subprocess.run([sys.executable, "-m", "services.serving"], env={**env, **env_vars},
                          capture_output=True, text=True, timeout=60)


def test_missing_model_name_exits_2_naming_the_variable():
    out = _entrypoint({})
    assert out.returncode == 2
    assert "invalid serving settings:" in out.stderr
    assert "SERVING_MODEL_NAME: field required (Registered model to serve" in out.stderr
    assert "e.g. SERVING_MODEL_NAME=wine" in out.stderr
    assert "docker-compose.yml" in out.stderr  # where to set it


def test_invalid_values_name_the_variable_and_the_valid_options():
    out = _entrypoint({"SERVING_MODEL_NAME": "wine@production", "SERVING_ENGINE": "tgi",
                       "SERVING_PORT": "eighty"})
    assert out.returncode == 2
    assert "SERVING_ENGINE='tgi': input should be 'fast' or 'mlflow'" in out.stderr
    assert "SERVING_PORT='eighty':" in out.stderr
    assert "SERVING_MODEL_NAME='wine@production'" in out.stderr
    assert "give the bare name and alias" in out.stderr
    assert "e.g. SERVING_MODEL_NAME=wine" in out.stderr


def test_the_engine_list_is_the_engine_registry(env):
    """An engine registered in services/serving/engines is a valid SERVING_ENGINE value."""
    from services.serving.engines import ENGINES, engine_class

    env.setenv("SERVING_MODEL_NAME", "wine")
    for name in ENGINES:
        env.setenv("SERVING_ENGINE", name)
        assert ServingSettings().engine == name
        assert engine_class(name).name == name


def test_empty_variables_mean_the_default(env):
    """docker-compose.yml passes `${SERVING_WORKERS:-}`: unset in .env must not be an error."""
    env.setenv("SERVING_MODEL_NAME", "wine")
    env.setenv("SERVING_WORKERS", "")
    env.setenv("SERVING_BATCHING", "")
    s = ServingSettings()
    assert s.workers == len(os.sched_getaffinity(0)) and s.batching == "auto"
