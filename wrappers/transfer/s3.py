"""S3 / MinIO: the same interface as azure_blob, on boto3.

What boto3 does here: HTTP retries (botocore "standard" mode: exponential backoff with jitter
on throttling/429, 5xx, timeouts and connection errors, ``max_attempts`` bounded), parallel
ranged downloads (s3transfer's ``download_file`` with a TransferConfig), per-part MD5 checked
by the service (Content-MD5 on every UploadPart, with ``verify_blocks``).

What this module adds: uploads as a multipart upload of its own (s3transfer aborts its
multipart upload on failure, so it can never resume) that continues a pending upload for the
same key (ListMultipartUploads + ListParts, keeping parts whose ETag equals the local part's
MD5); sha256 in object metadata; downloads that land only after their sha256 matches.

Servers without ListMultipartUploads/ListParts (s3rver, the offline stand-in) get a fresh
upload every time: correct, just not resumable.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from wrappers.transfer.errors import (
    BlobNotFound,
    ContainerNotFound,
    StoreAccessDenied,
    TransferError,
    TransferFailed,
)
from wrappers.transfer.locations import StoreLocation
from wrappers.transfer.manifest import SHA256_METADATA_KEY, FileEntry, move_into_place_if_verified
from wrappers.transfer.progress_bar import TransferProgress
from wrappers.transfer.settings import MiB, TransferSettings
from wrappers.transfer.store import ObjectStore, Stopwatch, UploadReport

MIN_PART_SIZE = 5 * MiB  # service minimum for every part but the last
MAX_PARTS = 10_000
ENDPOINT_ENVS = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def s3_endpoint() -> str | None:
    for name in ENDPOINT_ENVS:
        if value := os.environ.get(name):
            return value
    return None


def s3_client(settings: TransferSettings):
    """A boto3 S3 client for MLFLOW_S3_ENDPOINT_URL (MinIO) or AWS, with bounded retries."""
    import boto3
    from botocore.config import Config

    endpoint = s3_endpoint()
    config = Config(
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        max_pool_connections=max(10, settings.max_concurrency + 2),
        connect_timeout=settings.connection_timeout,
        read_timeout=settings.read_timeout,
        # MinIO and s3rver serve buckets by path, not as subdomains.
        s3={"addressing_style": "path"} if endpoint else {},
        # Checksums on every request are newer than most S3 stand-ins; Content-MD5 is enough.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client("s3", endpoint_url=endpoint, config=config,
                        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


def part_size_for(file_size: int, block_size: int) -> int:
    return max(block_size, MIN_PART_SIZE, -(-file_size // MAX_PARTS))


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class S3Store(ObjectStore):
    """Files under ``s3://BUCKET/prefix``."""

    def __init__(self, location: StoreLocation, settings: TransferSettings | None = None):
        super().__init__(location, settings)
        self.client = s3_client(self.settings)
        self.bucket = location.container

    def _translate(self, exc: BaseException, uri: str, what: str) -> TransferError:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(exc, TransferError):
            return exc
        if isinstance(exc, NoCredentialsError):
            return StoreAccessDenied(uri, "no credentials",
                                     "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
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
            raise self._translate(exc, self.uri(), "access check") from exc

    def stored_sha256(self, relpath: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.location.key(relpath))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                self.check_access()  # a missing bucket also answers 404 here
                return None
            raise self._translate(exc, self.uri(relpath), "stat") from exc
        return head.get("Metadata", {}).get(SHA256_METADATA_KEY)

    def upload_file(self, local: str | os.PathLike, relpath: str) -> UploadReport:
        return ResumableMultipartUploader(self).upload(Path(local), relpath)

    def download_file(self, relpath: str, dest: str | os.PathLike,
                      expected_sha256: str | None = None) -> Path:
        from boto3.s3.transfer import TransferConfig

        key = self.location.key(relpath)
        uri = self.uri(relpath)
        dest = Path(dest)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._translate(exc, uri, "download") from exc
        expected = expected_sha256 or head.get("Metadata", {}).get(SHA256_METADATA_KEY)
        if not expected:
            raise TransferFailed(uri, "download", "no sha256 in the object's metadata and none "
                                 "given: it was not uploaded by wrappers.transfer")
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        config = TransferConfig(
            multipart_threshold=self.settings.block_size,
            multipart_chunksize=self.settings.block_size,
            max_concurrency=self.settings.max_concurrency,
            use_threads=self.settings.max_concurrency > 1,
        )
        try:
            with TransferProgress(head["ContentLength"], f"download {Path(key).name}",
                                  self.settings.show_progress) as progress:
                self.client.download_file(self.bucket, key, str(tmp), Config=config,
                                          Callback=progress.advance)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, Exception):
                raise self._translate(exc, uri, "download") from exc
            raise
        return move_into_place_if_verified(tmp, dest, expected, uri)


class ResumableMultipartUploader:
    """Multipart upload that continues a pending one for the same key instead of restarting.

    The object appears only at CompleteMultipartUpload; parts of an interrupted upload stay
    on the server (until a lifecycle rule or an abort removes them).
    """

    def __init__(self, store: S3Store):
        self.store = store
        self.client = store.client
        self.settings = store.settings

    def upload(self, path: Path, relpath: str) -> UploadReport:
        clock = Stopwatch()
        key = self.store.location.key(relpath)
        uri = self.store.uri(relpath)
        size = path.stat().st_size
        from wrappers.base import file_sha256

        # Object metadata is fixed when the upload starts, so the whole-file hash comes first.
        sha = file_sha256(path)
        entry = FileEntry(relpath, uri, size, sha)
        if self.store.stored_sha256(relpath) == sha:
            return UploadReport(entry, 0, 0, 0, clock.seconds, committed=False)
        part_size = part_size_for(size, self.settings.block_size)
        metadata = {SHA256_METADATA_KEY: sha, "size": str(size)}
        if size <= part_size:
            data = path.read_bytes()
            try:
                extra = {"ContentMD5": _md5_b64(data)} if self.settings.verify_blocks else {}
                self.client.put_object(Bucket=self.store.bucket, Key=key, Body=data,
                                       Metadata=metadata, **extra)
            except Exception as exc:
                raise self.store._translate(exc, uri, "upload") from exc
            return UploadReport(entry, 1, 1, size, clock.seconds, committed=True)

        upload_id, held = self._pending_upload(key)
        try:
            if upload_id is None:
                upload_id = self.client.create_multipart_upload(
                    Bucket=self.store.bucket, Key=key, Metadata=metadata,
                    ContentType="application/octet-stream")["UploadId"]
            parts, sent, bytes_sent = self._send_parts(path, key, uri, upload_id, part_size, held)
            self.client.complete_multipart_upload(
                Bucket=self.store.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": parts})
        except Exception as exc:
            raise self.store._translate(exc, uri, "upload") from exc
        return UploadReport(entry, len(parts), sent, bytes_sent, clock.seconds, committed=True)

    def _pending_upload(self, key: str) -> tuple[str | None, dict]:
        """The newest unfinished upload of ``key`` and its parts {number: (etag, size)}."""
        from botocore.exceptions import ClientError

        try:
            listing = self.client.list_multipart_uploads(Bucket=self.store.bucket, Prefix=key)
            uploads = [u for u in listing.get("Uploads", []) if u["Key"] == key]
            if not uploads:
                return None, {}
            upload_id = max(uploads, key=lambda u: u["Initiated"])["UploadId"]
            held = {}
            pages = self.client.get_paginator("list_parts").paginate(
                Bucket=self.store.bucket, Key=key, UploadId=upload_id)
            for page in pages:
                for p in page.get("Parts", []):
                    held[p["PartNumber"]] = (p["ETag"].strip('"'), p["Size"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NotImplemented":
                return None, {}  # s3rver: no listing of uploads; start afresh
            raise
        # Parts of another part size simply do not match below and are sent again (a part
        # number can be overwritten).
        return upload_id, held

    def _send_parts(self, path: Path, key: str, uri: str, upload_id: str, part_size: int,
                    held: dict) -> tuple[list[dict], int, int]:
        etags: dict[int, str] = {}
        sent = bytes_sent = 0
        inflight: dict[Future, int] = {}
        window = 2 * self.settings.max_concurrency
        progress = TransferProgress(path.stat().st_size, f"upload {Path(key).name}",
                                    self.settings.show_progress)
        pool = ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="part")
        try:
            with open(path, "rb") as fh:
                number = 1
                while data := fh.read(part_size):
                    # MD5 only where it buys something: matching a part the server holds
                    # (its ETag), or Content-MD5 when verify_blocks asks for it.
                    md5 = hashlib.md5(data) if (number in held or
                                                self.settings.verify_blocks) else None
                    if md5 and held.get(number) == (md5.hexdigest(), len(data)):
                        etags[number] = md5.hexdigest()
                        progress.advance(len(data))
                    else:
                        if len(inflight) >= window:
                            self._reap(inflight, FIRST_COMPLETED, uri, etags)
                        content_md5 = (base64.b64encode(md5.digest()).decode()
                                       if md5 and self.settings.verify_blocks else None)
                        fut = pool.submit(self._send_part, key, upload_id, number, data,
                                          content_md5, progress)
                        inflight[fut] = number
                        sent += 1
                        bytes_sent += len(data)
                    number += 1
            self._reap(inflight, ALL_COMPLETED, uri, etags)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            progress.close()
            raise
        pool.shutdown(wait=True)
        progress.close()
        parts = [{"PartNumber": n, "ETag": f'"{etags[n]}"'} for n in sorted(etags)]
        return parts, sent, bytes_sent

    def _send_part(self, key, upload_id, number, data, md5_b64, progress) -> str:
        extra = {"ContentMD5": md5_b64} if md5_b64 else {}
        resp = self.client.upload_part(Bucket=self.store.bucket, Key=key, UploadId=upload_id,
                                       PartNumber=number, Body=data, **extra)
        progress.advance(len(data))
        return resp["ETag"].strip('"')

    def _reap(self, inflight: dict[Future, int], return_when, uri: str,
              etags: dict[int, str]) -> None:
        done, _ = wait(inflight, return_when=return_when)
        for fut in done:
            number = inflight.pop(fut)
            if exc := fut.exception():
                raise self.store._translate(exc, uri, f"upload (part {number})") from exc
            etags[number] = fut.result()
