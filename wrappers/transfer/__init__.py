"""Large files to and from Azure Blob and S3: parallel, retried, resumable, verified.

One interface (:class:`ObjectStore`, from :func:`open_store`) for
``wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/prefix``, ``azure://CONTAINER/prefix``
(account from AZURE_STORAGE_CONNECTION_STRING) and ``s3://BUCKET/prefix``
(MLFLOW_S3_ENDPOINT_URL, AWS_*).

Which part is the SDKs' and which is ours:

============================  ==================================  =============================
concern                        Azure (azure-storage-blob)          S3 (boto3)
============================  ==================================  =============================
per-request retries, backoff   SDK: azure-core RetryPolicy, with   SDK: botocore "standard"
(408/429/5xx, timeouts,        jitter added (the storage SDK's     retry mode
resets), bounded attempts      default policy skips 429)
parallel download              SDK: download_blob(max_concurrency) SDK: s3transfer download_file
per-block wire integrity       SDK: validate_content (MD5)         ours: Content-MD5 per part
(opt-in: TRANSFER_VERIFY_BLOCKS=1)
parallel upload                ours: stage_block worker pool       ours: upload_part worker pool
resume                         ours: deterministic block ids vs.   ours: ListMultipartUploads +
                               the uncommitted block list          ListParts, parts matched by MD5
all-or-nothing commit          service: Put Block List             service: CompleteMultipartUpload
sha256 in metadata, manifest,  ours                                ours
verify-then-rename download
progress bar                   ours (tqdm), SDK progress hooks     ours (tqdm), s3transfer callback
============================  ==================================  =============================

Settings (block size, concurrency, attempts, progress) come from :class:`TransferSettings`
(``TRANSFER_*`` environment variables).
"""

from wrappers.transfer.errors import (
    BlobNotFound,
    ContainerNotFound,
    IntegrityError,
    MissingCredentials,
    StoreAccessDenied,
    TransferError,
    TransferFailed,
    UnsupportedStoreURI,
)
from wrappers.transfer.locations import StoreLocation, parse_store_uri
from wrappers.transfer.manifest import FileEntry, Manifest
from wrappers.transfer.settings import TransferSettings
from wrappers.transfer.store import ObjectStore, UploadReport, open_store

__all__ = [
    "BlobNotFound",
    "ContainerNotFound",
    "FileEntry",
    "IntegrityError",
    "Manifest",
    "MissingCredentials",
    "ObjectStore",
    "StoreAccessDenied",
    "StoreLocation",
    "TransferError",
    "TransferFailed",
    "TransferSettings",
    "UnsupportedStoreURI",
    "UploadReport",
    "open_store",
    "parse_store_uri",
]
