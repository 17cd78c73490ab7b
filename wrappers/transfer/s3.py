"""S3 / MinIO: the same interface as azure_blob, on boto3.

What boto3 does here: HTTP retries (botocore "standard" mode: exponential backoff with jitter
on throttling/429, 5xx, timeouts and connection errors, ``max_attempts`` bounded), parallel
ranged downloads (s3transfer's ``download_file`` with a TransferConfig), per-part MD5 checked
by the service (Content-MD5 on every UploadPart, with ``verify_blocks``).

What this module adds, on the shared skeleton (:mod:`~wrappers.transfer.blocks`,
:meth:`ObjectStore.download_file`): uploads as a multipart upload of its own (s3transfer
aborts its multipart upload on failure, so it can never resume) that continues a pending
upload for the same key (ListMultipartUploads + ListParts, keeping parts whose ETag equals the
local part's MD5), and the translation of S3's errors into ones that name the fix.

Servers without ListMultipartUploads/ListParts (s3rver, the offline stand-in) get a fresh
upload every time: correct, just not resumable.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path, PurePosixPath

from wrappers.base import file_sha256
from wrappers.transfer.blocks import Block, BlockPlan, ParallelBlockUpload, effective_block_size
from wrappers.transfer.credentials import S3Credentials
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
from wrappers.transfer.settings import MiB, TransferSettings
from wrappers.transfer.store import ObjectStore, Stopwatch, StoredObject, UploadReport

MIN_PART_SIZE = 5 * MiB  # service minimum for every part but the last
MAX_PARTS = 10_000


def s3_client(settings: TransferSettings):
    """A boto3 S3 client for MLFLOW_S3_ENDPOINT_URL (MinIO) or AWS, with bounded retries."""
    import boto3
    from botocore.config import Config

    creds = S3Credentials.load()
    config = Config(
        # total_max_attempts counts the first request, as max_attempts does here; botocore's
        # own max_attempts would add one more.
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=max(10, settings.max_concurrency + 2),
        connect_timeout=settings.connection_timeout,
        read_timeout=settings.read_timeout,
        # MinIO and s3rver serve buckets by path, not as subdomains.
        s3={"addressing_style": "path"} if creds.endpoint_url else {},
        # Checksums on every request are newer than most S3 stand-ins; Content-MD5 is enough.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client("s3", endpoint_url=creds.endpoint_url, config=config,
                        region_name=creds.region, **creds.boto3_keys())


def part_size_for(file_size: int, block_size: int) -> int:
    """The part size an upload of ``file_size`` bytes uses (S3's minimum and part limit)."""
    return effective_block_size(file_size, block_size, MAX_PARTS, MIN_PART_SIZE)


def _error_code(exc: BaseException) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class S3Store(ObjectStore):
    """Files under ``s3://BUCKET/prefix``."""

    def __init__(self, location: StoreLocation, settings: TransferSettings | None = None):
        super().__init__(location, settings)
        self.client = s3_client(self.settings)
        self.bucket = location.container

    def translate_error(self, exc: BaseException, uri: str, what: str) -> TransferError:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(exc, TransferError):
            return exc
        if isinstance(exc, NoCredentialsError):
            return StoreAccessDenied(uri, "no credentials",
                                     "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        if isinstance(exc, ClientError):
            code = _error_code(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in (401, 403) or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch",
                                                "AccessDenied"):
                return StoreAccessDenied(
                    uri, f"{status} {code}",
                    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (for the compose stack: "
                    "MINIO_ROOT_USER / MINIO_ROOT_PASSWORD) and MLFLOW_S3_ENDPOINT_URL",
                )
            if code == "NoSuchBucket" or (status == 404 and what == "access check"):
                return ContainerNotFound(uri, "bucket", self.bucket,
                                         f"create it first (aws s3 mb s3://{self.bucket}; the "
                                         "compose stack's init job creates the artifact bucket)")
            if code in ("NoSuchKey", "404"):
                return BlobNotFound(uri)
            transient = status in (408, 429) or (status or 0) >= 500
            return TransferFailed(uri, what, exc, self.settings.max_attempts if transient else None)
        if isinstance(exc, BotoCoreError):
            return TransferFailed(uri, what, exc, self.settings.max_attempts)
        return TransferFailed(uri, what, exc)

    def check_access(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self.translate_error(exc, self.uri(), "access check") from exc

    def stored_sha256(self, relpath: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.location.key(relpath))
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey"):
                self.check_access()  # a missing bucket also answers 404 here
                return None
            raise self.translate_error(exc, self.uri(relpath), "stat") from exc
        return head.get("Metadata", {}).get(SHA256_METADATA_KEY)

    def stat_for_download(self, relpath: str) -> StoredObject:
        from boto3.s3.transfer import TransferConfig

        key = self.location.key(relpath)
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        config = TransferConfig(
            multipart_threshold=self.settings.block_size,
            multipart_chunksize=self.settings.block_size,
            max_concurrency=self.settings.max_concurrency,
            use_threads=self.settings.max_concurrency > 1,
        )

        def write_to(tmp: Path, progress: TransferProgress) -> None:
            if head["ContentLength"] == 0:
                # Nothing to fetch; and s3transfer's GET of an empty object fails on s3rver.
                return
            self.client.download_file(self.bucket, key, str(tmp), Config=config,
                                      Callback=progress.advance)

        return StoredObject(head["ContentLength"],
                            head.get("Metadata", {}).get(SHA256_METADATA_KEY), write_to)

    def upload_file(self, local: str | os.PathLike, relpath: str) -> UploadReport:
        """A multipart upload that continues a pending one for the same key.

        The object appears only at CompleteMultipartUpload; parts of an interrupted upload
        stay on the server (until a lifecycle rule or an abort removes them).
        """
        clock = Stopwatch()
        path = Path(local)
        key = self.location.key(relpath)
        uri = self.uri(relpath)
        size = path.stat().st_size
        # Object metadata is fixed when the upload starts, so the whole-file hash comes first.
        sha = file_sha256(path)
        entry = FileEntry(relpath, uri, size, sha)
        if self.stored_sha256(relpath) == sha:
            return UploadReport(entry, 0, 0, 0, clock.seconds, committed=False)
        part_size = part_size_for(size, self.settings.block_size)
        metadata = {SHA256_METADATA_KEY: sha, "size": str(size)}
        try:
            if size <= part_size:
                data = path.read_bytes()
                extra = {"ContentMD5": _md5_b64(data)} if self.settings.verify_blocks else {}
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data,
                                       Metadata=metadata, **extra)
                return UploadReport(entry, 1, 1, size, clock.seconds, committed=True)
            upload_id, held = self._pending_upload(key)
            if upload_id is None:
                upload_id = self.client.create_multipart_upload(
                    Bucket=self.bucket, Key=key, Metadata=metadata,
                    ContentType="application/octet-stream")["UploadId"]
            parts = self._send_parts(path, key, uri, upload_id, part_size, held)
            self._complete(key, upload_id, parts.tokens, relpath, sha)
        except Exception as exc:
            raise self.translate_error(exc, uri, "upload") from exc
        return UploadReport(entry, parts.total, parts.sent, parts.bytes_sent, clock.seconds,
                            committed=True)

    def _send_parts(self, path: Path, key: str, uri: str, upload_id: str, part_size: int,
                    held: dict[int, tuple[str, int]]):
        verify = self.settings.verify_blocks

        def plan(block: Block) -> BlockPlan:
            # MD5 only where it buys something: matching a part the server holds (its ETag),
            # or Content-MD5 when verify_blocks asks for it.
            if block.number not in held and not verify:
                return BlockPlan(None, False)
            md5 = hashlib.md5(block.data).hexdigest()
            return BlockPlan(md5, held.get(block.number) == (md5, len(block.data)))

        def send(block: Block, planned: BlockPlan) -> str:
            extra = ({"ContentMD5": base64.b64encode(bytes.fromhex(planned.token)).decode()}
                     if verify and planned.token else {})
            resp = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                           PartNumber=block.number, Body=block.data, **extra)
            return resp["ETag"].strip('"')

        def describe(exc: BaseException, block: Block) -> TransferError:
            return self.translate_error(exc, uri, f"upload (part {block.number})")

        upload = ParallelBlockUpload(self.settings, f"upload {PurePosixPath(key).name}",
                                     plan, send, describe)
        return upload.run(path, part_size)

    def _complete(self, key: str, upload_id: str, etags: list[str], relpath: str,
                  sha: str) -> None:
        from botocore.exceptions import ClientError

        parts = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in enumerate(etags, 1)]
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
        except ClientError:
            # A CompleteMultipartUpload retried after its first answer was lost finds its upload
            # gone (S3: NoSuchUpload; s3rver: 500): the first attempt completed if the object
            # now holds our bytes.
            if self.stored_sha256(relpath) == sha:
                return
            raise

    def _pending_upload(self, key: str) -> tuple[str | None, dict[int, tuple[str, int]]]:
        """The newest unfinished upload of ``key`` and its parts {number: (etag, size)}."""
        from botocore.exceptions import ClientError

        try:
            listing = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            uploads = [u for u in listing.get("Uploads", []) if u["Key"] == key]
            if not uploads:
                return None, {}
            upload_id = max(uploads, key=lambda u: u["Initiated"])["UploadId"]
            held = {}
            pages = self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=key, UploadId=upload_id)
            for page in pages:
                for p in page.get("Parts", []):
                    held[p["PartNumber"]] = (p["ETag"].strip('"'), p["Size"])
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if _error_code(exc) == "NotImplemented" or status == 501:
                return None, {}  # s3rver: no listing of uploads; start afresh
            raise
        # Parts of another part size simply do not match and are sent again (a part number
        # can be overwritten).
        return upload_id, held


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()
