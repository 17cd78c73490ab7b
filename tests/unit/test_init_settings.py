"""The init job's settings and its bounded wait: defaults that fit the compose stack, variables
that keep their names, a bad value named before any store is touched."""

from __future__ import annotations

import logging

import pytest

from services.init import __main__ as init_job
from services.init.settings import InitSettings
from wrappers.settings import SettingsInvalid

READ = ("MLFLOW_S3_ENDPOINT_URL", "MLFLOW_S3_BUCKET", "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_CONTAINER",
        "INIT_WAIT_SECONDS")


@pytest.fixture
def env(monkeypatch):
    for name in READ:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_fit_the_compose_network(env):
    s = InitSettings.load()
    assert (s.s3_endpoint_url, s.s3_bucket, s.azure_container, s.wait_seconds) == \
        ("http://minio:9000", "mlflow", "mlflow", 120.0)
    assert s.azure_connection_string is None  # no Azure container unless asked


def test_variables_keep_their_names(env):
    for name, value in {"MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
                        "MLFLOW_S3_BUCKET": "artifacts", "AWS_ACCESS_KEY_ID": "minio",
                        "AWS_SECRET_ACCESS_KEY": "pa55word",
                        "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=k",
                        "AZURE_STORAGE_CONTAINER": "weights", "INIT_WAIT_SECONDS": "5"}.items():
        env.setenv(name, value)
    s = InitSettings.load()
    assert (s.s3_endpoint_url, s.s3_bucket, s.aws_access_key_id, s.azure_container,
            s.wait_seconds) == ("http://127.0.0.1:9000", "artifacts", "minio", "weights", 5.0)
    assert s.aws_secret_access_key.get_secret_value() == "pa55word"
    assert "pa55word" not in repr(s)


def test_empty_values_mean_the_default(env):
    for name in READ:
        env.setenv(name, "")
    s = InitSettings.load()
    assert (s.s3_bucket, s.wait_seconds, s.azure_connection_string) == ("mlflow", 120.0, None)


@pytest.mark.parametrize("name, value, said", [
    ("INIT_WAIT_SECONDS", "two minutes", "e.g. INIT_WAIT_SECONDS=120"),
    ("INIT_WAIT_SECONDS", "0", "greater than 0"),
    ("MLFLOW_S3_ENDPOINT_URL", "minio:9000", "https?://"),
])
def test_a_bad_value_names_its_variable_and_an_example(env, name, value, said):
    env.setenv(name, value)
    with pytest.raises(SettingsInvalid) as err:
        InitSettings.load()
    assert f"{name}={value!r}" in str(err.value)
    assert said in str(err.value)
    assert "set them in .env" in str(err.value)


def test_the_job_exits_2_on_bad_settings_before_touching_a_store(env, monkeypatch, caplog):
    env.setenv("INIT_WAIT_SECONDS", "soon")
    monkeypatch.setattr(init_job, "ensure_bucket", lambda s: pytest.fail("store touched"))
    with caplog.at_level(logging.ERROR, logger="init"):
        assert init_job.main() == 2
    assert "INIT_WAIT_SECONDS='soon'" in caplog.text


def test_retry_waits_until_the_store_answers(monkeypatch):
    monkeypatch.setattr(init_job.time, "sleep", lambda s: None)
    answers = iter([ConnectionError("refused"), ConnectionError("refused"), True])

    def store_comes_up():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert init_job.retry("S3", store_comes_up, budget=60) is True


def test_retry_gives_up_when_the_budget_is_spent(monkeypatch, caplog):
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(init_job.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(init_job.time, "sleep", lambda s: None)

    def never_up():
        raise ConnectionError("refused")

    with caplog.at_level(logging.ERROR, logger="init"), pytest.raises(ConnectionError):
        init_job.retry("S3 at http://minio:9000", never_up, budget=30)
    assert "S3 at http://minio:9000: giving up after" in caplog.text

