"""The interface both stores implement, and what they share: trees of files, manifests, and
the verified download (stat → temp file → sha256 → rename)."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from wrappers.transfer.errors import TransferError, TransferFailed
from wrappers.transfer.locations import StoreLocation, parse_store_uri
from wrappers.transfer.manifest import FileEntry, Manifest
from wrappers.transfer.progress_bar import TransferProgress
from wrappers.transfer.settings import TransferSettings
from wrappers.transfer.verified_download import download_verified


@dataclass(frozen=True)
class UploadReport:
    """What one ``upload_file`` did: useful to see that a resumed upload sent only the rest."""

    entry: FileEntry
    blocks_total: int
    blocks_sent: int
    bytes_sent: int
    seconds: float
    committed: bool  # False when an identical committed object was already there


@dataclass(frozen=True)
class StoredObject:
    """What a download learns before its first byte: the object's size, the sha256 recorded
    at upload (None if it has none), and how to write its bytes to a local path."""

    size: int
    sha256: str | None
    write_to: Callable[[Path, TransferProgress], None]


class ObjectStore(ABC):
    """Files under one store location (an Azure container prefix or an S3 bucket prefix)."""

    def __init__(self, location: StoreLocation, settings: TransferSettings | None = None):
        self.location = location
        self.settings = settings or TransferSettings.load()

    @abstractmethod
    def check_access(self) -> None:
        """Fail fast, naming the fix, when the container/bucket is missing or credentials fail."""

    @abstractmethod
    def upload_file(self, local: str | os.PathLike, relpath: str) -> UploadReport:
        """Upload one file to ``location/relpath``; the object appears only when complete."""

    @abstractmethod
    def stored_sha256(self, relpath: str) -> str | None:
        """The sha256 recorded in the object's metadata, or None if it does not exist."""

    @abstractmethod
    def translate_error(self, exc: BaseException, uri: str, what: str) -> TransferError:
        """An SDK exception as a :class:`TransferError` naming the object, the cause and the
        fix; a TransferError is returned as it is."""

    @abstractmethod
    def stat_for_download(self, relpath: str) -> StoredObject:
        """Look the object up (SDK errors propagate; the caller translates them)."""

    def download_file(self, relpath: str, dest: str | os.PathLike,
                      expected_sha256: str | None = None) -> Path:
        """Download to ``dest`` via a temp file, moved into place only if its sha256 matches.

        ``expected_sha256`` defaults to the one recorded in the object's metadata at upload.
        """
        uri = self.uri(relpath)
        try:
            stored = self.stat_for_download(relpath)
        except Exception as exc:
            raise self.translate_error(exc, uri, "download") from exc
        expected = expected_sha256 or stored.sha256
        if not expected:
            raise TransferFailed(uri, "download", "no sha256 in the object's metadata and none "
                                 "given: it was not uploaded by wrappers.transfer, so it cannot "
                                 "be verified")
        name = PurePosixPath(self.location.key(relpath)).name
        with TransferProgress(stored.size, f"download {name}",
                              self.settings.show_progress) as progress:
            return download_verified(
                Path(dest), expected, uri, lambda tmp: stored.write_to(tmp, progress),
                lambda exc: self.translate_error(exc, uri, "download"))

    def uri(self, relpath: str = "") -> str:
        return self.location.uri(relpath)

    def relpath_of(self, uri: str) -> str:
        """The path of ``uri`` relative to this store's prefix (it must be under it)."""
        loc = parse_store_uri(uri)
        if loc.container != self.location.container or not (
            loc.prefix == self.location.prefix
            or loc.prefix.startswith(self.location.prefix + "/")
            or not self.location.prefix
        ):
            raise ValueError(f"{uri} is not under {self.uri()}")
        return loc.prefix[len(self.location.prefix):].lstrip("/")

    def upload_tree(self, local_dir: str | os.PathLike,
                    on_file: Callable[[UploadReport], None] | None = None) -> Manifest:
        """Upload every file under ``local_dir``, largest first; returns their manifest."""
        root = Path(local_dir)
        files = sorted((p for p in root.rglob("*") if p.is_file()),
                       key=lambda p: (-p.stat().st_size, str(p)))
        entries = []
        for path in files:
            report = self.upload_file(path, path.relative_to(root).as_posix())
            entries.append(report.entry)
            if on_file:
                on_file(report)
        return Manifest(self.uri(), sorted(entries, key=lambda e: e.path))

    def download_entry(self, entry: FileEntry, dest: str | os.PathLike) -> Path:
        """Download one manifest entry, verified against the sha256 the manifest recorded."""
        return self.download_file(self.relpath_of(entry.uri), dest, entry.sha256)


def open_store(uri: str, settings: TransferSettings | None = None) -> ObjectStore:
    """The store for ``uri``: Azure Blob for wasbs:// and azure://, S3 for s3://.

    ``settings`` default to the TRANSFER_* environment, read now.
    """
    location = parse_store_uri(uri)
    if location.is_azure:
        from wrappers.transfer.azure_blob import AzureBlobStore

        return AzureBlobStore(location, settings)
    from wrappers.transfer.s3 import S3Store

    return S3Store(location, settings)


class Stopwatch:
    """Seconds since it was made."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
