"""Azure block blobs: resumable parallel block upload, verified parallel ranged download.

What the SDK does here: HTTP retries (:mod:`wrappers.transfer.azure_client`), parallel ranged
GETs (``download_blob(max_concurrency=...)``), per-block MD5 checked by the service
(``validate_content``). What this module adds, on the shared skeleton
(:mod:`~wrappers.transfer.blocks`, :meth:`ObjectStore.download_file`): deterministic block ids,
skipping blocks the service already holds, committing only a complete block list, and the
translation of Azure's errors into ones that name the fix.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from wrappers.transfer.azure_client import service_client
from wrappers.transfer.blocks import Block, BlockPlan, ParallelBlockUpload, effective_block_size
from wrappers.transfer.credentials import ACCESS_KEY_ENV, CONNECTION_STRING_ENV, SAS_TOKEN_ENV
from wrappers.transfer.errors import (
    BlobNotFound,
    ContainerNotFound,
    StoreAccessDenied,
    TransferError,
    TransferFailed,
)
from wrappers.transfer.locations import StoreLocation
from wrappers.transfer.manifest import SHA256_METADATA_KEY, FileEntry
from wrappers.transfer.progress_bar import TransferProgress
from wrappers.transfer.settings import TransferSettings
from wrappers.transfer.store import ObjectStore, Stopwatch, StoredObject, UploadReport

MAX_BLOCKS_PER_BLOB = 50_000  # service limit


def block_id(offset: int, data: bytes | memoryview) -> str:
    """Same offset and bytes → same id, so a rerun recognises blocks it already sent.

    Fixed width, 57 characters (Azure requires equal-length ids within a blob, at most 64
    bytes; the SDK base64-encodes them on the wire): 16 hex of the offset, 40 hex of the
    block's sha256.
    """
    return f"{offset:016x}-{hashlib.sha256(data).hexdigest()[:40]}"


class AzureBlobStore(ObjectStore):
    """Files under ``CONTAINER/prefix`` in one storage account."""

    def __init__(self, location: StoreLocation, settings: TransferSettings | None = None):
        super().__init__(location, settings)
        self.client = service_client(location, self.settings)
        self.container = self.client.get_container_client(location.container)

    def translate_error(self, exc: BaseException, uri: str, what: str) -> TransferError:
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
            raise self.translate_error(exc, self.uri(), "access check") from exc

    def stored_sha256(self, relpath: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        blob = self.container.get_blob_client(self.location.key(relpath))
        try:
            return blob.get_blob_properties().metadata.get(SHA256_METADATA_KEY)
        except ResourceNotFoundError as exc:
            if "ContainerNotFound" in str(exc.error_code):
                raise self.translate_error(exc, self.uri(relpath), "stat") from exc
            return None
        except Exception as exc:
            raise self.translate_error(exc, self.uri(relpath), "stat") from exc

    def upload_file(self, local: str | os.PathLike, relpath: str) -> UploadReport:
        """Stage the file's blocks, skipping those already held; commit when all are in.

        Until the commit the blob does not exist for readers (or keeps its previous content):
        staged blocks are invisible. An interrupted upload leaves its blocks staged for 7 days
        (service rule), and a rerun with the same file and block size sends only the others.
        """
        from azure.storage.blob import BlobBlock, ContentSettings

        clock = Stopwatch()
        path = Path(local)
        key = self.location.key(relpath)
        uri = self.uri(relpath)
        blob = self.container.get_blob_client(key)
        size = path.stat().st_size
        held, committed_ids = self._held_blocks(blob, uri)

        def plan(block: Block) -> BlockPlan:
            bid = block_id(block.offset, block.data)
            return BlockPlan(bid, held.get(bid) == len(block.data))

        def send(block: Block, planned: BlockPlan) -> str:
            blob.stage_block(planned.token, block.data, length=len(block.data),
                             validate_content=self.settings.verify_blocks)
            return planned.token

        def describe(exc: BaseException, block: Block) -> TransferError:
            return self.translate_error(exc, uri, f"upload (block at offset {block.offset})")

        upload = ParallelBlockUpload(self.settings, f"upload {PurePosixPath(key).name}",
                                     plan, send, describe)
        blocks = upload.run(path, effective_block_size(size, self.settings.block_size,
                                                       MAX_BLOCKS_PER_BLOB), hash_file=True)
        entry = FileEntry(relpath, uri, size, blocks.sha256)
        if committed_ids == blocks.tokens and self.stored_sha256(relpath) == blocks.sha256:
            return UploadReport(entry, blocks.total, blocks.sent, blocks.bytes_sent,
                                clock.seconds, committed=False)
        try:
            blob.commit_block_list(
                [BlobBlock(block_id=b) for b in blocks.tokens],
                metadata={SHA256_METADATA_KEY: blocks.sha256, "size": str(size)},
                content_settings=ContentSettings(content_type="application/octet-stream"),
            )
        except Exception as exc:
            raise self.translate_error(exc, uri, "commit") from exc
        return UploadReport(entry, blocks.total, blocks.sent, blocks.bytes_sent, clock.seconds,
                            committed=True)

    def _held_blocks(self, blob, uri: str) -> tuple[dict[str, int], list[str]]:
        """(block id → size for committed + uncommitted blocks, committed ids in order)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            committed, uncommitted = blob.get_block_list("all")
        except ResourceNotFoundError as exc:
            if "BlobNotFound" in str(exc.error_code):
                return {}, []
            raise self.translate_error(exc, uri, "upload") from exc
        except Exception as exc:
            raise self.translate_error(exc, uri, "upload") from exc
        held = {b.id: b.size for b in uncommitted}
        held.update({b.id: b.size for b in committed})
        return held, [b.id for b in committed]

    def stat_for_download(self, relpath: str) -> StoredObject:
        from azure.core import MatchConditions

        blob = self.container.get_blob_client(self.location.key(relpath))
        props = blob.get_blob_properties()

        def write_to(tmp: Path, progress: TransferProgress) -> None:
            with open(tmp, "wb") as fh:
                # Pinned to the etag just read: a blob replaced mid-download fails the request
                # instead of mixing two versions' ranges.
                blob.download_blob(
                    max_concurrency=self.settings.max_concurrency,
                    etag=props.etag, match_condition=MatchConditions.IfNotModified,
                    progress_hook=lambda current, _total: progress.reached(current),
                ).readinto(fh)

        return StoredObject(props.size, props.metadata.get(SHA256_METADATA_KEY), write_to)


def _is_transient(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    return isinstance(exc, HttpResponseError) and (
        exc.status_code in (408, 429) or (exc.status_code or 0) >= 500)
