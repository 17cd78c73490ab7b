"""What was stored where: one entry per file (URI, size, sha256), as JSON."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_FORMAT = "wrappers.transfer.manifest/1"
SHA256_METADATA_KEY = "sha256"  # blob metadata / x-amz-meta-sha256


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative, "/"-separated
    uri: str  # where it is stored
    size: int
    sha256: str


@dataclass
class Manifest:
    store_uri: str
    files: list[FileEntry] = field(default_factory=list)
    format: str = MANIFEST_FORMAT

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def content_sha256(self) -> str:
        """One hash for the whole set: relative paths and file hashes, sorted."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            h.update(f.path.encode() + b"\0" + f.sha256.encode() + b"\n")
        return h.hexdigest()

    def entry(self, path: str) -> FileEntry:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(f"{path!r} is not in the manifest of {self.store_uri} "
                       f"(files: {', '.join(f.path for f in self.files)})")

    def to_dict(self) -> dict:
        return {"format": self.format, "store_uri": self.store_uri,
                "content_sha256": self.content_sha256,
                "files": [asdict(f) for f in self.files]}

    @classmethod
    def from_dict(cls, data: dict) -> Manifest:
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"not a transfer manifest (format {data.get('format')!r}, "
                             f"expected {MANIFEST_FORMAT!r})")
        return cls(data["store_uri"], [FileEntry(**f) for f in data["files"]])

    def write(self, path: str | os.PathLike) -> Path:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Manifest:
        return cls.from_dict(json.loads(Path(path).read_text()))

