"""Azure block blobs: resumable parallel block upload, verified parallel ranged download.

What the SDK does here: HTTP retries (:class:`JitteredRetryPolicy` is azure-core's policy —
408/429/5xx, timeouts, connection resets — with jitter added), parallel ranged GETs
(``download_blob(max_concurrency=...)``), per-block MD5 checked by the service
(``validate_content``). What this module adds: deterministic block ids, skipping blocks the
service already holds, committing only a complete block list, sha256 in metadata, and
downloads that land only after their sha256 matches.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import tempfile
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from wrappers.transfer.errors import (
    BlobNotFound,
    ContainerNotFound,
    MissingCredentials,
    StoreAccessDenied,
    TransferError,
    TransferFailed,
)
from wrappers.transfer.locations import StoreLocation
from wrappers.transfer.manifest import (
    SHA256_METADATA_KEY,
    FileEntry,
    move_into_place_if_verified,
)
from wrappers.transfer.progress_bar import TransferProgress
from wrappers.transfer.settings import TransferSettings
from wrappers.transfer.store import ObjectStore, Stopwatch, UploadReport

MAX_BLOCKS_PER_BLOB = 50_000  # service limit

# azure-core logs every request's headers at INFO: with the CLIs' and the serving containers'
# INFO logging that is thousands of lines per model. Quiet unless someone set a level on it.
_http_log = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
if _http_log.level == logging.NOTSET:
    _http_log.setLevel(logging.WARNING)
CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
ACCESS_KEY_ENV = "AZURE_STORAGE_ACCESS_KEY"  # the name MLflow's Azure artifact repo reads
SAS_TOKEN_ENV = "AZURE_STORAGE_SAS_TOKEN"


def block_id(offset: int, data: bytes | memoryview) -> str:
    """Same offset and bytes → same id, so a rerun recognises blocks it already sent.

    Fixed width, 57 characters (Azure requires equal-length ids within a blob, at most 64
    bytes; the SDK base64-encodes them on the wire): 16 hex of the offset, 40 hex of the
    block's sha256.
    """
    return f"{offset:016x}-{hashlib.sha256(data).hexdigest()[:40]}"


def effective_block_size(file_size: int, block_size: int, max_blocks: int) -> int:
    """``block_size``, raised when the file would need more blocks than the service allows."""
    needed = -(-file_size // max_blocks)
    return max(block_size, needed)


def make_retry_policy(settings: TransferSettings):
    """azure-core's RetryPolicy (it retries 408/429/5xx, timeouts and resets) plus jitter.

    Not the storage SDK's default ExponentialRetry: that one skips 429, which gateways and
    proxies in front of storage answer, and waits 15 s before its first retry.
    """
    from azure.core.pipeline.policies import RetryPolicy

    class JitteredRetryPolicy(RetryPolicy):
        def configure_retries(self, options):
            # Options the storage pipeline leaves for its own retry policy (secondary-region
            # failover, unused here); left in place they would reach requests.Session.
            for storage_only in ("hosts", "location_mode", "retry_to_secondary"):
                options.pop(storage_only, None)
            return super().configure_retries(options)

        def send(self, request):
            response = super().send(request)
            # Storage deserializers read which region answered (set by the storage policy we
            # replace); we only ever talk to the primary.
            response.http_response.location_mode = "primary"
            return response

        def get_backoff_time(self, retry_settings) -> float:
            # Equal jitter: half fixed, half random, so parallel workers that failed together
            # (a dropped connection pool, a throttling burst) do not retry in lockstep.
            backoff = super().get_backoff_time(retry_settings)
            return backoff / 2 + random.uniform(0, backoff / 2)

    retries = settings.max_attempts - 1
    return JitteredRetryPolicy(
        retry_total=retries, retry_connect=retries, retry_read=retries, retry_status=retries,
        retry_backoff_factor=settings.backoff_initial, retry_backoff_max=settings.backoff_max,
    )


def service_client(location: StoreLocation, settings: TransferSettings):
    """A BlobServiceClient for ``location`` from the environment's credentials."""
    import azure.storage.blob as blob
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    # requests keeps 10 connections per host; more workers than that would open and drop
    # connections on every request.
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(10, settings.max_concurrency + 2))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    common = dict(
        retry_policy=make_retry_policy(settings),
        transport=RequestsTransport(session=session, session_owner=True,
                                    connection_timeout=settings.connection_timeout,
                                    read_timeout=settings.read_timeout),
        max_chunk_get_size=settings.block_size,
        max_single_get_size=settings.block_size,
    )
    conn = os.environ.get(CONNECTION_STRING_ENV)
    if conn:
        client = blob.BlobServiceClient.from_connection_string(conn, **common)
        if location.account and client.account_name != location.account:
            raise MissingCredentials(
                location.uri(),
                f"{CONNECTION_STRING_ENV} is for account '{client.account_name}', the URI names "
                f"'{location.account}' — use azure://{location.container}/{location.prefix} "
                f"or a connection string for '{location.account}'",
            )
        return client
    if location.scheme == "azure":
        raise MissingCredentials(
            location.uri(),
            f"azure:// URIs take the account and key from {CONNECTION_STRING_ENV}, which is "
            "not set — e.g. 'DefaultEndpointsProtocol=https;AccountName=NAME;AccountKey=KEY;"
            "EndpointSuffix=core.windows.net'",
        )
    url = f"https://{location.host}"
    if key := os.environ.get(ACCESS_KEY_ENV):
        return blob.BlobServiceClient(
            url, credential={"account_name": location.account, "account_key": key}, **common)
    if sas := os.environ.get(SAS_TOKEN_ENV):
        return blob.BlobServiceClient(url, credential=sas, **common)
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise MissingCredentials(
            location.uri(),
            f"set {CONNECTION_STRING_ENV}, {ACCESS_KEY_ENV} or {SAS_TOKEN_ENV} "
            "(or pip install azure-identity to use a managed identity / az login)",
        ) from None
    return blob.BlobServiceClient(url, credential=DefaultAzureCredential(), **common)


class AzureBlobStore(ObjectStore):
    """Files under ``CONTAINER/prefix`` in one storage account."""

    def __init__(self, location: StoreLocation, settings: TransferSettings | None = None):
        super().__init__(location, settings)
        self.client = service_client(location, self.settings)
        self.container = self.client.get_container_client(location.container)

    def _translate(self, exc: BaseException, uri: str, what: str) -> TransferError:
        """SDK exception → an error that names the blob, the cause and the fix."""
        from azure.core.exceptions import HttpResponseError

        if isinstance(exc, TransferError):
            return exc
        if isinstance(exc, HttpResponseError):
            code = str(getattr(exc.error_code, "value", exc.error_code) or "")
            if exc.status_code in (401, 403):
                return StoreAccessDenied(
                    uri, f"{exc.status_code} {code}".strip(),
                    f"check the AccountKey / SAS in {CONNECTION_STRING_ENV} (or "
                    f"{ACCESS_KEY_ENV}/{SAS_TOKEN_ENV}) for account '{self.client.account_name}'",
                )
            if exc.status_code == 404 and code == "ContainerNotFound":
                return ContainerNotFound(
                    uri, "container", self.location.container,
                    f"create it first (az storage container create -n {self.location.container};"
                    " the compose stack's init job creates the one in AZURE_STORAGE_CONTAINER)",
                )
            if exc.status_code == 404:
                return BlobNotFound(uri)
        attempts = self.settings.max_attempts if _is_transient(exc) else None
        return TransferFailed(uri, what, exc, attempts)

    def check_access(self) -> None:
        try:
            self.container.get_container_properties()
        except Exception as exc:
            raise self._translate(exc, self.uri(), "access check") from exc

    def stored_sha256(self, relpath: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        blob = self.container.get_blob_client(self.location.key(relpath))
        try:
            return blob.get_blob_properties().metadata.get(SHA256_METADATA_KEY)
        except ResourceNotFoundError as exc:
            if "ContainerNotFound" in str(exc.error_code):
                raise self._translate(exc, self.uri(relpath), "stat") from exc
            return None
        except Exception as exc:
            raise self._translate(exc, self.uri(relpath), "stat") from exc

    def upload_file(self, local: str | os.PathLike, relpath: str) -> UploadReport:
        return ChunkedBlobUploader(self).upload(Path(local), relpath)

    def download_file(self, relpath: str, dest: str | os.PathLike,
                      expected_sha256: str | None = None) -> Path:
        return VerifiedBlobDownloader(self).download(relpath, Path(dest), expected_sha256)


def _is_transient(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    return isinstance(exc, HttpResponseError) and (
        exc.status_code in (408, 429) or (exc.status_code or 0) >= 500)


class ChunkedBlobUploader:
    """Stage a file's blocks in parallel, skipping blocks already held; commit when all are in.

    Until the commit the blob does not exist for readers (or keeps its previous content):
    staged blocks are invisible. An interrupted upload leaves its blocks staged for 7 days
    (service rule), and a rerun with the same file and block size sends only the others.
    """

    def __init__(self, store: AzureBlobStore):
        self.store = store
        self.settings = store.settings

    def _held_blocks(self, blob, uri: str) -> tuple[dict[str, int], list[str]]:
        """(block id → size for committed + uncommitted blocks, committed ids in order)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            committed, uncommitted = blob.get_block_list("all")
        except ResourceNotFoundError as exc:
            if "BlobNotFound" in str(exc.error_code):
                return {}, []
            raise self.store._translate(exc, uri, "upload") from exc
        except Exception as exc:
            raise self.store._translate(exc, uri, "upload") from exc
        held = {b.id: b.size for b in uncommitted}
        held.update({b.id: b.size for b in committed})
        return held, [b.id for b in committed]

    def upload(self, path: Path, relpath: str) -> UploadReport:
        from azure.storage.blob import BlobBlock, ContentSettings

        clock = Stopwatch()
        key = self.store.location.key(relpath)
        uri = self.store.uri(relpath)
        blob = self.store.container.get_blob_client(key)
        size = path.stat().st_size
        block_size = effective_block_size(size, self.settings.block_size, MAX_BLOCKS_PER_BLOB)
        held, committed_ids = self._held_blocks(blob, uri)

        ids: list[str] = []
        sent = bytes_sent = 0
        file_hash = hashlib.sha256()
        window = 2 * self.settings.max_concurrency  # bounds memory: blocks read but not sent
        inflight: dict[Future, int] = {}
        progress = TransferProgress(size, f"upload {Path(key).name}", self.settings.show_progress)
        pool = ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="stage")
        try:
            with open(path, "rb") as fh:
                offset = 0
                while data := fh.read(block_size):
                    file_hash.update(data)
                    bid = block_id(offset, data)
                    ids.append(bid)
                    if held.get(bid) == len(data):
                        progress.advance(len(data))
                    else:
                        if len(inflight) >= window:
                            self._reap(inflight, FIRST_COMPLETED, uri)
                        inflight[pool.submit(self._stage, blob, bid, data, progress)] = offset
                        sent += 1
                        bytes_sent += len(data)
                    offset += len(data)
            self._reap(inflight, None, uri)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            progress.close()
            raise
        pool.shutdown(wait=True)
        progress.close()

        sha = file_hash.hexdigest()
        entry = FileEntry(relpath, uri, size, sha)
        if committed_ids == ids and self.store.stored_sha256(relpath) == sha:
            return UploadReport(entry, len(ids), sent, bytes_sent, clock.seconds, committed=False)
        try:
            blob.commit_block_list(
                [BlobBlock(block_id=b) for b in ids],
                metadata={SHA256_METADATA_KEY: sha, "size": str(size)},
                content_settings=ContentSettings(content_type="application/octet-stream"),
            )
        except Exception as exc:
            raise self.store._translate(exc, uri, "commit") from exc
        return UploadReport(entry, len(ids), sent, bytes_sent, clock.seconds, committed=True)

    def _stage(self, blob, bid: str, data: bytes, progress: TransferProgress) -> None:
        blob.stage_block(bid, data, length=len(data),
                         validate_content=self.settings.verify_blocks)
        progress.advance(len(data))

    def _reap(self, inflight: dict[Future, int], return_when, uri: str) -> None:
        done, _ = wait(inflight, return_when=return_when or ALL_COMPLETED)
        for fut in done:
            offset = inflight.pop(fut)
            if exc := fut.exception():
                raise self.store._translate(exc, uri, f"upload (block at offset {offset})") \
                    from exc


class VerifiedBlobDownloader:
    """Parallel ranged download (SDK) into a temp file, renamed into place once verified."""

    def __init__(self, store: AzureBlobStore):
        self.store = store
        self.settings = store.settings

    def download(self, relpath: str, dest: Path, expected_sha256: str | None) -> Path:
        from azure.core import MatchConditions

        key = self.store.location.key(relpath)
        uri = self.store.uri(relpath)
        blob = self.store.container.get_blob_client(key)
        try:
            props = blob.get_blob_properties()
        except Exception as exc:
            raise self.store._translate(exc, uri, "download") from exc
        recorded = props.metadata.get(SHA256_METADATA_KEY)
        expected = expected_sha256 or recorded
        if not expected:
            raise TransferFailed(uri, "download", "no sha256 in the blob's metadata and none "
                                 "given: it was not uploaded by wrappers.transfer, so it cannot "
                                 "be verified")
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        progress = TransferProgress(props.size, f"download {Path(key).name}",
                                    self.settings.show_progress)
        try:
            with os.fdopen(fd, "wb") as fh, progress:
                # Pinned to the etag we just read: a blob replaced mid-download fails the
                # request instead of mixing two versions' ranges.
                stream = blob.download_blob(
                    max_concurrency=self.settings.max_concurrency,
                    etag=props.etag, match_condition=MatchConditions.IfNotModified,
                    progress_hook=lambda current, _total: progress.reached(current),
                )
                stream.readinto(fh)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, Exception):
                raise self.store._translate(exc, uri, "download") from exc
            raise
        return move_into_place_if_verified(tmp, dest, expected, uri)
