"""TRANSFER_* and store-credential variables: what each value means, and what a user sees when
one is wrong (the variable's name, what it is for, an accepted example)."""

from __future__ import annotations

import os

import pytest

from wrappers.settings import SettingsInvalid
from wrappers.transfer import AzureCredentials, S3Credentials, TransferSettings
from wrappers.transfer.settings import MiB

STORE_VARIABLES = ("AZURE_STORAGE_", "AWS_", "MLFLOW_S3_ENDPOINT_URL", "TRANSFER_")


@pytest.fixture
def env(monkeypatch):
    """An environment without any variable these settings read."""
    for name in list(os.environ):
        if name.startswith(STORE_VARIABLES):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_work_without_any_variable(env):
    s = TransferSettings()
    assert (s.block_size, s.max_concurrency, s.max_attempts, s.verify_blocks, s.progress) == \
        (4 * MiB, 4, 6, False, None)


@pytest.mark.parametrize("value, expected", [
    ("4MiB", 4 * MiB), ("8 MiB", 8 * MiB), ("1048576", MiB), ("1GiB", 1024 * MiB),
    ("5MB", 5_000_000),
])
def test_block_size_accepts_sizes_with_units(env, value, expected):
    env.setenv("TRANSFER_BLOCK_SIZE", value)
    assert TransferSettings().block_size == expected


@pytest.mark.parametrize("value", ["banana", "0", "-4MiB"])
def test_bad_block_size_names_the_variable_and_an_example(env, value):
    env.setenv("TRANSFER_BLOCK_SIZE", value)
    with pytest.raises(SettingsInvalid) as err:
        TransferSettings()  # direct construction reports like .load()
    message = str(err.value)
    assert f"TRANSFER_BLOCK_SIZE={value!r}" in message
    assert "Azure block / S3 part" in message  # what the variable is for
    assert "e.g. TRANSFER_BLOCK_SIZE=4MiB" in message


def test_every_bad_variable_is_reported_at_once(env):
    env.setenv("TRANSFER_MAX_CONCURRENCY", "0")
    env.setenv("TRANSFER_READ_TIMEOUT", "soon")
    env.setenv("TRANSFER_VERIFY_BLOCKS", "maybe")
    with pytest.raises(SettingsInvalid) as err:
        TransferSettings.load()
    for name in ("TRANSFER_MAX_CONCURRENCY='0'", "TRANSFER_READ_TIMEOUT='soon'",
                 "TRANSFER_VERIFY_BLOCKS='maybe'"):
        assert name in str(err.value)


@pytest.mark.parametrize("value, expected", [
    ("auto", None), ("AUTO", None), ("1", True), ("true", True), ("on", True),
    ("0", False), ("no", False), ("", None),
])
def test_progress_is_on_off_or_auto(env, value, expected):
    env.setenv("TRANSFER_PROGRESS", value)
    assert TransferSettings().progress is expected


def test_auto_progress_follows_whether_stderr_is_a_terminal(env, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert TransferSettings().show_progress is True
    assert TransferSettings(progress=False).show_progress is False


def test_keyword_arguments_win_over_the_environment(env):
    env.setenv("TRANSFER_MAX_CONCURRENCY", "8")
    env.setenv("TRANSFER_BLOCK_SIZE", "2MiB")
    s = TransferSettings(max_concurrency=2)
    assert (s.max_concurrency, s.block_size) == (2, 2 * MiB)


def test_settings_are_read_when_built_not_at_import(env):
    env.setenv("TRANSFER_MAX_ATTEMPTS", "3")
    assert TransferSettings().max_attempts == 3
    env.setenv("TRANSFER_MAX_ATTEMPTS", "9")
    assert TransferSettings().max_attempts == 9


def test_with_returns_a_validated_copy(env):
    base = TransferSettings(max_concurrency=2)
    changed = base.with_(block_size=8 * MiB, progress=False)
    assert (changed.block_size, changed.max_concurrency, changed.progress) == \
        (8 * MiB, 2, False)
    assert base.block_size == 4 * MiB  # frozen: the original is untouched
    with pytest.raises(ValueError, match="TRANSFER_MAX_CONCURRENCY"):
        base.with_(max_concurrency=0)


def test_azure_credentials_keep_their_unprefixed_names_and_hide_secrets(env):
    env.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=s3cr3t")
    env.setenv("AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=s3cr3t")
    creds = AzureCredentials.load()
    assert creds.connection_string.get_secret_value() == "AccountName=a;AccountKey=s3cr3t"
    assert creds.sas_token.get_secret_value() == "sv=1&sig=s3cr3t"
    assert creds.access_key is None
    assert "s3cr3t" not in repr(creds)


def test_empty_azure_variables_count_as_unset(env):
    env.setenv("AZURE_STORAGE_CONNECTION_STRING", "")
    assert AzureCredentials.load().connection_string is None


@pytest.mark.parametrize("variables, endpoint", [
    ({}, None),
    ({"AWS_ENDPOINT_URL": "http://all:1"}, "http://all:1"),
    ({"AWS_ENDPOINT_URL": "http://all:1", "AWS_ENDPOINT_URL_S3": "http://s3:2"}, "http://s3:2"),
    ({"AWS_ENDPOINT_URL_S3": "http://s3:2", "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000"},
     "http://minio:9000"),
    ({"MLFLOW_S3_ENDPOINT_URL": "", "AWS_ENDPOINT_URL": "http://all:1"}, "http://all:1"),
])
def test_s3_endpoint_prefers_mlflows_variable(env, variables, endpoint):
    for name, value in variables.items():
        env.setenv(name, value)
    assert S3Credentials.load().endpoint_url == endpoint


def test_s3_endpoint_without_a_scheme_names_the_variable_it_came_from(env):
    env.setenv("AWS_ENDPOINT_URL_S3", "minio:9000")
    with pytest.raises(SettingsInvalid) as err:
        S3Credentials.load()
    assert "AWS_ENDPOINT_URL_S3='minio:9000'" in str(err.value)
    assert "http://" in str(err.value)


def test_s3_keys_go_to_boto3_only_as_a_pair(env):
    assert S3Credentials.load().boto3_keys() == {}
    env.setenv("AWS_ACCESS_KEY_ID", "id")
    assert S3Credentials.load().boto3_keys() == {}  # half a pair: boto3's own chain decides
    env.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    creds = S3Credentials.load()
    assert creds.boto3_keys() == {"aws_access_key_id": "id", "aws_secret_access_key": "s3cr3t"}
    assert creds.region == "eu-west-1"
    assert "s3cr3t" not in repr(creds)


def test_s3_client_uses_the_endpoint_and_path_style_read_at_call_time(env):
    pytest.importorskip("boto3")
    from wrappers.transfer.s3 import s3_client

    env.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    client = s3_client(TransferSettings(max_attempts=2))
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.config.s3 == {"addressing_style": "path"}
    assert client.meta.config.retries["total_max_attempts"] == 2
    env.delenv("MLFLOW_S3_ENDPOINT_URL")
    assert "amazonaws.com" in s3_client(TransferSettings()).meta.endpoint_url
