"""The azurite tier: a real Azurite (npm) per session, a fresh container per test, and a
fault-injecting proxy in front of it when a test needs one.

AZURITE_BLOB_ENDPOINT=http://HOST:PORT/devstoreaccount1 reuses a running Azurite (e.g. the
compose stack's) instead of starting one.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.support.fault_proxy import FaultInjectingProxy
from tests.support.servers import (
    AZURITE_ACCOUNT,
    NpmUnavailable,
    azurite_connection_string,
    in_ci,
    s3rver_env,
    start_azurite,
    start_s3rver,
)


def _unavailable(reason: str):
    # In CI a missing Azurite must fail the run, not quietly skip the tier.
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Azurite:
    blob_endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1

    @property
    def port(self) -> int:
        return urlsplit(self.blob_endpoint).port or 80

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.blob_endpoint)

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    if endpoint := os.environ.get("AZURITE_BLOB_ENDPOINT"):
        yield Azurite(endpoint.rstrip("/"))
        return
    try:
        server = start_azurite(tmp_path_factory.mktemp("azurite"))
    except NpmUnavailable as exc:
        _unavailable(str(exc))
    yield Azurite(f"{server.url}/{AZURITE_ACCOUNT}")
    server.stop()


@pytest.fixture
def container(azurite):
    """A fresh, empty container; its name."""
    name = f"t{uuid.uuid4().hex[:20]}"
    azurite.service().create_container(name)
    yield name
    azurite.service().delete_container(name)


@pytest.fixture
def azure_env(azurite, monkeypatch):
    """AZURE_STORAGE_CONNECTION_STRING for Azurite, direct (no proxy)."""
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("TRANSFER_PROGRESS", "0")
    return azurite.connection_string


@pytest.fixture
def fault_proxy(azurite, monkeypatch):
    """A proxy (no faults until set_faults) in front of Azurite; the env points at it."""
    proxy = FaultInjectingProxy(azurite.port, seed=20240607).start()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       azurite_connection_string(proxy.blob_endpoint(AZURITE_ACCOUNT)))
    monkeypatch.setenv("TRANSFER_PROGRESS", "0")
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def s3rver(tmp_path_factory):
    """s3rver (file-backed S3 stand-in) with a bucket named "models"; its env."""
    try:
        server = start_s3rver(tmp_path_factory.mktemp("s3rver") / "data", buckets=("models",))
    except NpmUnavailable as exc:
        _unavailable(str(exc))
    yield s3rver_env(server.url)
    server.stop()
