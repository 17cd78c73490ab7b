"""The content-addressed model file cache without a store server: what is cached is not
downloaded again, a corrupt cached file is, and the cache directory follows the environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from wrappers.base import file_sha256
from wrappers.transfer import FileEntry, Manifest
from wrappers.transfer import cache as cache_module
from wrappers.transfer.cache import CacheStats, ModelFileCache, default_cache_dir

STORE_URI = "azure://models/tiny/0123456789abcdef"


class RecordingStore:
    """Stands in for an ObjectStore: serves files from a local directory, records downloads."""

    def __init__(self, source: Path):
        self.source = source
        self.downloaded: list[str] = []

    def download_entry(self, entry: FileEntry, dest) -> Path:
        Path(dest).parent.mkdir(parents=True, exist_ok=True)  # as the real stores do
        shutil.copyfile(self.source / entry.path, dest)
        self.downloaded.append(entry.path)
        return Path(dest)


@pytest.fixture
def model_files(tmp_path) -> tuple[Path, Manifest]:
    src = tmp_path / "export"
    (src / "tokenizer").mkdir(parents=True)
    (src / "model.bin").write_bytes(os.urandom(4096))
    (src / "tokenizer" / "vocab.txt").write_text("[PAD]\nwine\n")
    entries = [FileEntry(p.relative_to(src).as_posix(),
                         f"{STORE_URI}/{p.relative_to(src).as_posix()}",
                         p.stat().st_size, file_sha256(p))
               for p in sorted(src.rglob("*")) if p.is_file()]
    return src, Manifest(STORE_URI, entries)


@pytest.fixture
def store(model_files, monkeypatch) -> RecordingStore:
    fake = RecordingStore(model_files[0])
    monkeypatch.setattr(cache_module, "open_store", lambda uri, settings=None: fake)
    return fake


def _same_files(view: Path, src: Path) -> bool:
    return all((view / p.relative_to(src)).read_bytes() == p.read_bytes()
               for p in src.rglob("*") if p.is_file())


def test_first_load_downloads_second_load_reads_the_cache(model_files, store, tmp_path):
    src, manifest = model_files
    cache = ModelFileCache(tmp_path / "cache")

    first = CacheStats()
    view = cache.materialize(manifest, stats=first)
    assert (first.downloads, first.hits, first.repaired) == (2, 0, 0)
    assert _same_files(view, src)

    second = CacheStats()
    assert cache.materialize(manifest, stats=second) == view
    assert (second.downloads, second.hits) == (0, 2)
    assert sorted(store.downloaded) == ["model.bin", "tokenizer/vocab.txt"]


def test_adopted_files_are_never_downloaded(model_files, store, tmp_path):
    src, manifest = model_files
    cache = ModelFileCache(tmp_path / "cache")
    cache.adopt(src, manifest)

    stats = CacheStats()
    view = cache.materialize(manifest, stats=stats)
    assert (stats.downloads, stats.hits) == (0, 2)
    assert store.downloaded == []
    assert _same_files(view, src)


def test_corrupt_cached_file_is_downloaded_again(model_files, store, tmp_path):
    src, manifest = model_files
    cache = ModelFileCache(tmp_path / "cache")
    cache.adopt(src, manifest)
    cached = cache.blob_path(manifest.entry("model.bin").sha256)
    size = cached.stat().st_size
    cached.unlink()  # adopt() may hard-link the source: corrupt a copy, not the source
    cached.write_bytes(b"x" * size)  # same size, wrong bytes

    stats = CacheStats()
    view = cache.materialize(manifest, stats=stats)
    assert (stats.repaired, stats.downloads, stats.hits) == (1, 1, 1)
    assert store.downloaded == ["model.bin"]
    assert file_sha256(view / "model.bin") == manifest.entry("model.bin").sha256


def test_cache_directory_follows_the_environment_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv("UNIVERSAL_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "mlops-stack" / "universal-models"

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "mlops-stack" / \
        "universal-models"

    monkeypatch.setenv("UNIVERSAL_MODEL_CACHE", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    assert ModelFileCache().root == tmp_path / "explicit"
