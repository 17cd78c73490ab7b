"""The interface both stores implement, and what they share (trees of files, manifests)."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wrappers.transfer.locations import StoreLocation, parse_store_uri
from wrappers.transfer.manifest import FileEntry, Manifest
from wrappers.transfer.settings import TransferSettings


@dataclass(frozen=True)
class UploadReport:
    """What one ``upload_file`` did: useful to see that a resumed upload sent only the rest."""

    entry: FileEntry
    blocks_total: int
    blocks_sent: int
    bytes_sent: int
    seconds: float
    committed: bool  # False when an identical committed object was already there


class ObjectStore(ABC):
    """Files under one store location (an Azure container prefix or an S3 bucket prefix)."""

    def __init__(self, location: StoreLocation, settings: TransferSettings | None = None):
        self.location = location
        self.settings = settings or TransferSettings()

    @abstractmethod
    def check_access(self) -> None:
        """Fail fast, naming the fix, when the container/bucket is missing or credentials fail."""

    @abstractmethod
    def upload_file(self, local: str | os.PathLike, relpath: str) -> UploadReport:
        """Upload one file to ``location/relpath``; the object appears only when complete."""

    @abstractmethod
    def download_file(self, relpath: str, dest: str | os.PathLike,
                      expected_sha256: str | None = None) -> Path:
        """Download to ``dest`` via a temp file, moved into place only if its sha256 matches.

        ``expected_sha256`` defaults to the one recorded in the object's metadata at upload.
        """

    @abstractmethod
    def stored_sha256(self, relpath: str) -> str | None:
        """The sha256 recorded in the object's metadata, or None if it does not exist."""

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
        return self.download_file(self.relpath_of(entry.uri), dest, entry.sha256)


def open_store(uri: str, settings: TransferSettings | None = None) -> ObjectStore:
    """The store for ``uri``: Azure Blob for wasbs:// and azure://, S3 for s3://."""
    location = parse_store_uri(uri)
    if location.is_azure:
        from wrappers.transfer.azure_blob import AzureBlobStore

        return AzureBlobStore(location, settings)
    from wrappers.transfer.s3 import S3Store

    return S3Store(location, settings)


class Stopwatch:
    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
