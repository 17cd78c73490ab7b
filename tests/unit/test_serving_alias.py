"""Resolving models:/NAME@ALIAS against a real registry, and the throttled waiting log."""

from __future__ import annotations

import logging

import pytest

from services.serving.alias import AliasMissing, AliasResolver, RegistryUnavailable, ThrottledLog
from tests.support.net import free_port
from wrappers import registry, wine


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_recurring_complaint_is_logged_at_doubling_intervals_up_to_the_cap(caplog):
    clock = Clock()
    throttle = ThrottledLog(logging.getLogger("test.throttle"), first=10, cap=40, clock=clock)
    logged_at = []
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        for second in range(0, 200):  # one poll per second
            clock.now = 1000.0 + second
            if throttle.report("down", "registry down"):
                logged_at.append(second)
    assert logged_at == [0, 10, 30, 70, 110, 150, 190]
    assert "registry down (for 10s, 11 checks)" in caplog.messages[1]


def test_a_new_situation_is_logged_at_once_and_restarts_the_schedule(caplog):
    clock = Clock()
    throttle = ThrottledLog(logging.getLogger("test.throttle"), first=10, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        assert throttle.report("down", "registry down")
        clock.now += 1
        assert not throttle.report("down", "registry down")
        assert throttle.report("missing", "alias missing")
        clock.now += 1
        assert not throttle.report("missing", "alias missing")
        throttle.clear()
        assert throttle.report("missing", "alias missing")
    assert caplog.messages == ["registry down", "alias missing", "alias missing"]


def test_resolver_tells_missing_model_from_missing_alias_and_finds_the_version(tracking_uri):
    resolver = AliasResolver("wine", "production", tracking_uri)
    with pytest.raises(AliasMissing) as missing:
        resolver.version()
    assert not missing.value.model_exists
    assert "registered model 'wine' does not exist" in resolver.describe_missing(missing.value)

    wine.log_model(register_as="wine", alias="staging")
    with pytest.raises(AliasMissing) as missing:
        resolver.version()
    assert missing.value.model_exists and missing.value.aliases == {"staging": "1"}
    assert "aliases set: staging→v1" in resolver.describe_missing(missing.value)
    assert "scripts/registry.py set-alias wine VERSION production" in \
        resolver.describe_missing(missing.value)

    registry.set_alias("wine", "production", "1")
    assert resolver.version() == "1"


def test_an_unreachable_tracking_server_fails_fast(monkeypatch):
    import time

    from services.serving.alias import FAIL_FAST_HTTP

    for name, value in FAIL_FAST_HTTP.items():  # what the supervisor sets
        monkeypatch.setenv(name, value)
    resolver = AliasResolver("wine", "production", f"http://127.0.0.1:{free_port()}")
    t0 = time.monotonic()
    with pytest.raises(RegistryUnavailable):
        resolver.version()
    assert time.monotonic() - t0 < 10  # one quick attempt, not MLflow's minutes of retries
