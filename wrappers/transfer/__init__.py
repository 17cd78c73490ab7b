"""Large files to and from Azure Blob and S3: parallel, retried, resumable, verified.

What belongs here: moving files between a local disk and an object store, and only that —
store URIs, credentials and TRANSFER_* settings, the block upload loop, verified downloads,
manifests of what was stored where, one module per store SDK (``azure_blob`` + ``azure_client``,
``s3``) holding only its SDK calls and error translation, and the content-addressed cache of
downloaded files (``cache``). What must not: MLflow, model formats, serving — callers
(``wrappers.universal``, scripts) decide *what* to move; this package only moves it. A new
store is one module implementing :class:`ObjectStore` plus a branch in :func:`open_store`.

Files, one job each:

======================  =====================================================================
``store.py``            the :class:`ObjectStore` interface, ``open_store``, upload_tree and the
                        verified download every store shares
``blocks.py``           the parallel block upload loop (thread pool, bounded window, skipping
                        held blocks, first failure stops it)
``verified_download``   temp file → sha256 → atomic rename
``azure_blob.py``       Azure block ids, block lists, commit, Azure errors
``azure_client.py``     Azure credentials → BlobServiceClient, jittered retry policy
``s3.py``               S3 multipart upload + resume via ListParts, S3 errors
``credentials.py``      AZURE_STORAGE_* and AWS_* / MLFLOW_S3_ENDPOINT_URL (settings classes)
``settings.py``         TRANSFER_* (block size, concurrency, retries, timeouts, progress)
``locations.py``        parsing wasbs:// azure:// s3:// URIs
``manifest.py``         the JSON list of stored files with their sha256
``errors.py``           errors that name the object, the cause and the fix
``progress_bar.py``     the thread-safe byte counter behind the progress bar
======================  =====================================================================

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
parallel upload                ours: blocks.py pool, stage_block   ours: blocks.py pool, upload_part
resume                         ours: deterministic block ids vs.   ours: ListMultipartUploads +
                               the uncommitted block list          ListParts, parts matched by MD5
all-or-nothing commit          service: Put Block List             service: CompleteMultipartUpload
sha256 in metadata, manifest,  ours                                ours
verify-then-rename download
progress bar                   ours (tqdm), SDK progress hooks     ours (tqdm), s3transfer callback
============================  ==================================  =============================

Settings (block size, concurrency, attempts, progress) come from :class:`TransferSettings`
(``TRANSFER_*`` environment variables), credentials from :class:`AzureCredentials` and
:class:`S3Credentials`; all three are read when a store is opened, not at import.
"""

from wrappers.transfer.credentials import AzureCredentials, S3Credentials
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
    "AzureCredentials",
    "BlobNotFound",
    "ContainerNotFound",
    "FileEntry",
    "IntegrityError",
    "Manifest",
    "MissingCredentials",
    "ObjectStore",
    "S3Credentials",
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
