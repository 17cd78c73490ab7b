"""A content-addressed local cache of stored files: what was downloaded once is not again.

Files are kept once per sha256 (``sha256/ab/abcd…``); a set of files (a :class:`Manifest`) is
a directory of symlinks (``models/<content hash>/<relative path>``) into that store, rebuilt
on every load. UniversalModelWrapper loads its models' files through it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from wrappers.base import file_sha256
from wrappers.transfer import Manifest, TransferSettings, open_store

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$UNIVERSAL_MODEL_CACHE``, else ``$XDG_CACHE_HOME/mlops-stack/universal-models``, else
    ``~/.cache/mlops-stack/universal-models`` — read now, not at import."""
    # The variables are declared with the models this cache serves; imported here, not at
    # the top, because wrappers.universal itself imports this module.
    from wrappers.universal.settings import UniversalSettings

    return UniversalSettings.load().cache_dir


@dataclass
class CacheStats:
    """What one :meth:`ModelFileCache.materialize` found and did, per file."""

    hits: int = 0
    downloads: int = 0
    repaired: int = 0  # cached files that failed verification and were fetched again


class ModelFileCache:
    """Files stored once per sha256; a manifest's files are a directory of symlinks into them.

    Each load re-hashes the cached files: a corrupt cache costs a download, never a wrong
    prediction. Concurrent loads (several serving workers) take a per-file lock, so a file is
    downloaded once.
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root or default_cache_dir())

    def blob_path(self, sha256: str) -> Path:
        """Where the file with this sha256 is (or would be) cached."""
        return self.root / "sha256" / sha256[:2] / sha256

    @contextlib.contextmanager
    def _locked(self, sha256: str):
        lock_path = self.root / "locks" / f"{sha256}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def adopt(self, local_dir: Path, manifest: Manifest) -> None:
        """Seed the cache with files this host just uploaded (hard link, else copy)."""
        for entry in manifest.files:
            target = self.blob_path(entry.sha256)
            source = local_dir / entry.path
            with self._locked(entry.sha256):
                if target.exists() or file_sha256(source) != entry.sha256:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                tmp.unlink(missing_ok=True)
                try:
                    os.link(source, tmp)
                except OSError:  # another filesystem, or links not allowed
                    shutil.copyfile(source, tmp)
                os.replace(tmp, target)

    def materialize(self, manifest: Manifest, settings: TransferSettings | None = None,
                    stats: CacheStats | None = None) -> Path:
        """A directory with every file of ``manifest``, downloading only what is not cached."""
        stats = stats if stats is not None else CacheStats()
        store = None
        view = self.root / "models" / manifest.content_sha256
        for entry in manifest.files:
            target = self.blob_path(entry.sha256)
            with self._locked(entry.sha256):
                if target.exists():
                    if target.stat().st_size == entry.size and \
                            file_sha256(target) == entry.sha256:
                        stats.hits += 1
                    else:
                        log.warning("cached %s (%s) is corrupt: downloading it again",
                                    entry.path, target)
                        target.unlink()
                        stats.repaired += 1
                if not target.exists():
                    store = store or open_store(manifest.store_uri, settings)
                    store.download_entry(entry, target)
                    stats.downloads += 1
            link = view / entry.path
            link.parent.mkdir(parents=True, exist_ok=True)
            rel = os.path.relpath(target, link.parent)
            if not (link.is_symlink() and os.readlink(link) == rel):
                # A new link renamed over the old one: a concurrent load never sees it missing.
                tmp_link = link.with_name(f".{link.name}.{os.getpid()}.tmp")
                tmp_link.unlink(missing_ok=True)
                tmp_link.symlink_to(rel)
                os.replace(tmp_link, link)
        log.info("model files in %s: %d cached, %d downloaded, %d repaired",
                 view, stats.hits, stats.downloads, stats.repaired)
        return view
