"""Which tracking server the CLIs use: --tracking-uri, else MLFLOW_TRACKING_URI (read at call
time), else the compose stack's published port."""

from __future__ import annotations

from wrappers.tracking import DEFAULT_TRACKING_URI, TrackingSettings, resolve_tracking_uri


def test_explicit_uri_wins(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-env:5000")
    assert resolve_tracking_uri("http://explicit:5000") == "http://explicit:5000"


def test_environment_is_read_at_each_call(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://first:5000")
    assert resolve_tracking_uri() == "http://first:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///second.db")
    assert resolve_tracking_uri() == "sqlite:///second.db"


def test_unset_or_empty_means_the_compose_stacks_server(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == DEFAULT_TRACKING_URI == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    assert TrackingSettings.load().tracking_uri == DEFAULT_TRACKING_URI
