"""The store tier's fixtures: a real Azurite and a real s3rver (npm) per session, a fresh
container or bucket per test, and a fault-injecting proxy in front of either.

``remote`` is the contract test's store server, parametrized over both: a
:class:`StoreUnderTest` that points the environment at a fresh container/bucket and checks
through the SDK what the server really holds. ``azurite``, ``container``, ``azure_env`` and
``fault_proxy`` are the Azure-only fixtures other tiers (tests/universal) use.

AZURITE_BLOB_ENDPOINT=http://HOST:PORT/devstoreaccount1 reuses a running Azurite (e.g. the
compose stack's) instead of starting one.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod

import pytest

from tests.support.fault_proxy import FaultInjectingProxy
from tests.support.servers import (
    AZURITE_ACCOUNT,
    Azurite,
    LocalServerSettings,
    NpmUnavailable,
    S3rver,
    azurite_connection_string,
    in_ci,
    start_azurite,
    start_s3rver,
)

MiB = 1 << 20
WRONG_AZURE_KEY = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="


def _unavailable(reason: str):
    # In CI a missing npm server must fail the run, not quietly skip the tier.
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


class StoreUnderTest(ABC):
    """One server of the store contract: a fresh container (Azure) or bucket (S3), the
    environment pointed at it, and the server's own view of what it holds."""

    name: str
    scheme: str
    #: what an access-denied message must name for the user to fix it
    credentials_hint: str
    #: smallest block the store takes for multi-block uploads (S3 parts: 5 MiB)
    min_block_size: int
    #: whether a killed upload's rerun sends only the missing blocks on this server
    resumes_uploads: bool

    def __init__(self, monkeypatch: pytest.MonkeyPatch, container: str, upstream_port: int):
        self.monkeypatch = monkeypatch
        self.container = container
        self.upstream_port = upstream_port
        monkeypatch.setenv("TRANSFER_PROGRESS", "0")
        self.connect_directly()

    def uri(self, prefix: str = "") -> str:
        return f"{self.scheme}://{self.container}/{prefix}".rstrip("/")

    def blocks_for(self, size: int, block_size: int) -> int:
        """Blocks an upload of ``size`` bytes takes with ``block_size``."""
        return -(-size // max(block_size, self.min_block_size))

    def route_through(self, proxy: FaultInjectingProxy) -> None:
        """Point the environment at ``proxy`` (which forwards to this server)."""
        self._set_env(f"http://127.0.0.1:{proxy.port}")

    def connect_directly(self) -> None:
        self._set_env(None)

    @abstractmethod
    def _set_env(self, via: str | None) -> None: ...

    @abstractmethod
    def use_wrong_key(self) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a reader sees a committed object at ``key``."""

    @abstractmethod
    def pending_blocks(self, key: str) -> int | None:
        """Blocks/parts uploaded to ``key`` but not committed; None if the server cannot say."""

    @abstractmethod
    def overwrite(self, key: str, data: bytes, metadata: dict[str, str]) -> None:
        """Replace the object behind our back, as another writer would."""

    @abstractmethod
    def container_exists(self, name: str) -> bool: ...

    @abstractmethod
    def block_uploads(self, proxy: FaultInjectingProxy) -> int:
        """Block/part uploads the proxy forwarded to the server."""


class AzuriteStore(StoreUnderTest):
    name, scheme, credentials_hint = "azurite", "azure", "AccountKey"
    min_block_size, resumes_uploads = 1, True

    def __init__(self, monkeypatch, azurite: Azurite, container: str):
        self.azurite = azurite
        super().__init__(monkeypatch, container, azurite.port)

    def _set_env(self, via, key=None):
        endpoint = f"{via}/{AZURITE_ACCOUNT}" if via else self.azurite.blob_endpoint
        conn = azurite_connection_string(endpoint, **({"key": key} if key else {}))
        self.monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", conn)

    def use_wrong_key(self):
        self._set_env(None, key=WRONG_AZURE_KEY)

    def _blob(self, key):
        return self.azurite.service().get_blob_client(self.container, key)

    def exists(self, key):
        return self._blob(key).exists()

    def pending_blocks(self, key):
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return len(self._blob(key).get_block_list("uncommitted")[1])
        except ResourceNotFoundError:
            return 0

    def overwrite(self, key, data, metadata):
        self._blob(key).upload_blob(data, overwrite=True, metadata=metadata)

    def container_exists(self, name):
        return self.azurite.service().get_container_client(name).exists()

    def block_uploads(self, proxy):
        return len(proxy.requests(method="PUT", comp="block"))


class S3rverStore(StoreUnderTest):
    name, scheme, credentials_hint = "s3rver", "s3", "AWS_ACCESS_KEY_ID"
    # s3rver has no ListMultipartUploads/ListParts: a rerun starts a fresh multipart upload
    # (tests/stores/test_s3_multipart_resume.py covers resume against moto).
    min_block_size, resumes_uploads = 5 * MiB, False

    def __init__(self, monkeypatch, server: S3rver, bucket: str):
        self.server = server
        self.client = server.client()
        super().__init__(monkeypatch, bucket, server.port)

    def _set_env(self, via):
        for name, value in self.server.env(via).items():
            self.monkeypatch.setenv(name, value)

    def use_wrong_key(self):
        # s3rver checks the access key id but not SigV4 signatures: a wrong secret passes.
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOT-A-KNOWN-KEY")

    def exists(self, key):
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.container, Key=key)
            return True
        except ClientError:
            return False

    def pending_blocks(self, key):
        return None

    def overwrite(self, key, data, metadata):
        self.client.put_object(Bucket=self.container, Key=key, Body=data, Metadata=metadata)

    def container_exists(self, name):
        return name in {b["Name"] for b in self.client.list_buckets().get("Buckets", [])}

    def block_uploads(self, proxy):
        return len([r for r in proxy.requests(method="PUT") if "partNumber" in r.query])

    def empty_and_delete(self):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.container)
        for page in pages:
            for obj in page.get("Contents", []):
                self.client.delete_object(Bucket=self.container, Key=obj["Key"])
        self.client.delete_bucket(Bucket=self.container)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    if endpoint := LocalServerSettings.load().azurite_blob_endpoint:
        yield Azurite(endpoint.rstrip("/"))
        return
    try:
        server = start_azurite(tmp_path_factory.mktemp("azurite"))
    except NpmUnavailable as exc:
        _unavailable(str(exc))
    yield Azurite(f"{server.url}/{AZURITE_ACCOUNT}")
    server.stop()


@pytest.fixture(scope="session")
def s3rver(tmp_path_factory):
    """s3rver, the file-backed S3 stand-in; tests create their own buckets."""
    try:
        server = start_s3rver(tmp_path_factory.mktemp("s3rver") / "data")
    except NpmUnavailable as exc:
        _unavailable(str(exc))
    yield S3rver(server.url)
    server.stop()


def _fresh_name() -> str:
    return f"t{uuid.uuid4().hex[:20]}"


@pytest.fixture
def container(azurite):
    """A fresh, empty Azure container; its name."""
    name = _fresh_name()
    azurite.service().create_container(name)
    yield name
    azurite.service().delete_container(name)


@pytest.fixture(params=["azurite", "s3rver"])
def remote(request, monkeypatch):
    """The store contract's backend: Azurite or s3rver, with a fresh container/bucket and the
    environment pointed at it directly (no proxy)."""
    if request.param == "azurite":
        name = request.getfixturevalue("container")
        yield AzuriteStore(monkeypatch, request.getfixturevalue("azurite"), name)
        return
    server = request.getfixturevalue("s3rver")
    backend = S3rverStore(monkeypatch, server, _fresh_name())
    backend.client.create_bucket(Bucket=backend.container)
    yield backend
    backend.empty_and_delete()


@pytest.fixture
def remote_proxy(remote):
    """A proxy (no faults until set_faults) in front of ``remote``'s server; the environment
    points at it."""
    proxy = FaultInjectingProxy(remote.upstream_port, seed=20240607).start()
    remote.route_through(proxy)
    yield proxy
    proxy.stop()


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
