"""Fixtures shared by every tier: a fresh MLflow tracking store per test, tiny models."""

from __future__ import annotations

import pytest

# Azurite / s3rver / fault-proxy fixtures for tests/stores and tests/universal.
pytest_plugins = ["tests.support.store_fixtures"]


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch):
    """A fresh sqlite tracking + registry store per test; artifacts land under tmp_path."""
    import mlflow

    monkeypatch.chdir(tmp_path)  # default artifact root (./mlruns) is relative to cwd
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    # mlflow.set_*_uri also write these variables; monkeypatch restores them after the test,
    # so no store leaks into a later test's subprocesses.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # The fluent API caches the active experiment id across stores; "0" exists in every store.
    mlflow.set_experiment(experiment_id="0")
    yield uri
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def tiny_hf_dir(tmp_path_factory):
    """A tiny random-init BERT classifier + WordPiece tokenizer, built once per session."""
    pytest.importorskip("torch", reason="needs the hf extra: pip install -e '.[hf]'")
    from wrappers.hf import build_tiny_text_classifier

    return build_tiny_text_classifier(tmp_path_factory.mktemp("tiny-hf"))
