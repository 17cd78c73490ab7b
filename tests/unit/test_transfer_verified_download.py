"""The verified download every store shares, and manifests: a file lands only complete and
matching its sha256; a failure leaves neither the file nor a temp file behind."""

from __future__ import annotations

import hashlib

import pytest

from wrappers.transfer import (
    FileEntry,
    IntegrityError,
    Manifest,
    ObjectStore,
    StoreLocation,
    TransferFailed,
    TransferSettings,
)
from wrappers.transfer.store import StoredObject

CONTENT = b"weights " * 1000
SHA = hashlib.sha256(CONTENT).hexdigest()


class MemoryStore(ObjectStore):
    """Objects in a dict: ``{relpath: (bytes, recorded sha256)}``."""

    def __init__(self, objects, fail_midway: bool = False):
        super().__init__(StoreLocation("s3", "bucket", "m"), TransferSettings(progress=False))
        self.objects = objects
        self.fail_midway = fail_midway

    def check_access(self): ...
    def upload_file(self, local, relpath): ...

    def stored_sha256(self, relpath):
        return self.objects[relpath][1] if relpath in self.objects else None

    def translate_error(self, exc, uri, what):
        return TransferFailed(uri, what, exc)

    def stat_for_download(self, relpath):
        data, sha = self.objects[relpath]  # KeyError: "no such object"

        def write_to(tmp, progress):
            tmp.write_bytes(data[: len(data) // 2])
            if self.fail_midway:
                raise ConnectionError("connection reset mid-body")
            tmp.write_bytes(data)
            progress.advance(len(data))

        return StoredObject(len(data), sha, write_to)


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


def test_download_lands_complete_and_verified(tmp_path):
    store = MemoryStore({"w.bin": (CONTENT, SHA)})
    dest = store.download_file("w.bin", tmp_path / "cache" / "w.bin")
    assert dest.read_bytes() == CONTENT
    assert leftovers(tmp_path / "cache") == ["w.bin"]


def test_bytes_not_matching_the_recorded_sha256_are_discarded(tmp_path):
    store = MemoryStore({"w.bin": (b"tampered", SHA)})
    (tmp_path / "w.bin").write_bytes(b"previous good copy")
    with pytest.raises(IntegrityError) as err:
        store.download_file("w.bin", tmp_path / "w.bin")
    assert SHA in str(err.value) and "s3://bucket/m/w.bin" in str(err.value)
    assert (tmp_path / "w.bin").read_bytes() == b"previous good copy"  # untouched
    assert leftovers(tmp_path) == ["w.bin"]


def test_the_callers_sha256_wins_over_the_recorded_one(tmp_path):
    store = MemoryStore({"w.bin": (CONTENT, SHA)})
    with pytest.raises(IntegrityError):
        store.download_file("w.bin", tmp_path / "w.bin", expected_sha256="0" * 64)
    assert leftovers(tmp_path) == []


def test_a_connection_lost_midway_leaves_no_partial_file(tmp_path):
    store = MemoryStore({"w.bin": (CONTENT, SHA)}, fail_midway=True)
    with pytest.raises(TransferFailed, match="download of s3://bucket/m/w.bin failed"):
        store.download_file("w.bin", tmp_path / "w.bin")
    assert leftovers(tmp_path) == []


def test_an_object_without_a_recorded_sha256_is_refused(tmp_path):
    store = MemoryStore({"w.bin": (CONTENT, None)})
    with pytest.raises(TransferFailed, match="cannot be verified"):
        store.download_file("w.bin", tmp_path / "w.bin")
    assert leftovers(tmp_path) == []


def test_a_missing_object_is_the_stores_error(tmp_path):
    with pytest.raises(TransferFailed, match="KeyError"):
        MemoryStore({}).download_file("nope.bin", tmp_path / "nope.bin")


def test_download_entry_checks_against_the_manifest(tmp_path):
    store = MemoryStore({"tok/vocab.txt": (CONTENT, SHA)})
    entry = FileEntry("tok/vocab.txt", "s3://bucket/m/tok/vocab.txt", len(CONTENT), SHA)
    assert store.download_entry(entry, tmp_path / "v.txt").read_bytes() == CONTENT


def test_manifest_round_trips_through_json_with_one_content_hash(tmp_path):
    files = [FileEntry("b.bin", "s3://x/b.bin", 2, "bb"), FileEntry("a.txt", "s3://x/a.txt", 1,
                                                                    "aa")]
    manifest = Manifest("s3://x", files)
    back = Manifest.read(manifest.write(tmp_path / "manifest.json"))
    assert back.files == files and back.store_uri == "s3://x"
    assert back.total_bytes == 3
    # Order-independent: the same set of files has the same hash however it was listed.
    assert Manifest("s3://y", list(reversed(files))).content_sha256 == manifest.content_sha256
    assert Manifest("s3://x", files[:1]).content_sha256 != manifest.content_sha256


def test_manifest_lookup_and_format_errors_say_what_is_there():
    manifest = Manifest("s3://x", [FileEntry("a.txt", "s3://x/a.txt", 1, "aa")])
    with pytest.raises(KeyError, match="'b.txt' is not in the manifest of s3://x .files: a.txt"):
        manifest.entry("b.txt")
    with pytest.raises(ValueError, match="not a transfer manifest"):
        Manifest.from_dict({"format": "something/else", "store_uri": "s3://x", "files": []})
