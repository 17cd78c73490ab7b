"""The interface every model-kind module follows, and what they share."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from wrappers.errors import MissingDependency

# Tags put on every registered model version so a version says what produced it.
TAG_KIND = "wrappers.kind"
TAG_DATA_SHA256 = "wrappers.data_sha256"
TAG_GIT_SHA = "wrappers.git_sha"


@dataclass(frozen=True)
class LoggedModel:
    """What ``log_model`` of every kind returns."""

    kind: str
    run_id: str
    model_uri: str  # models:/m-<id>, the logged model (MLflow 3)
    registered_name: str | None = None
    version: str | None = None
    alias: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def alias_uri(self) -> str | None:
        if self.registered_name and self.alias:
            return f"models:/{self.registered_name}@{self.alias}"
        return None


def require(module: str, extra: str):
    """Import a heavy framework, or fail with the pip command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module, extra) from exc


def pinned(*dists: str) -> list[str]:
    """``name==installed-version`` for each distribution, for explicit pip_requirements."""
    out = []
    for dist in dists:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out.append(dist)
            continue
        # torch's local CPU build ("2.13.0+cpu") is not on PyPI under that name.
        out.append(f"{dist}=={version.split('+')[0]}")
    return out


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def dir_sha256(path: str | os.PathLike) -> str:
    """Checksum of a directory tree: relative paths and file contents, in sorted order."""
    root = Path(path)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode())
        h.update(file_sha256(f).encode())
    return h.hexdigest()


def git_sha() -> str | None:
    """The commit the code was run from: $GIT_SHA (set in images), else `git rev-parse`."""
    if sha := os.environ.get("GIT_SHA"):
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance_tags(kind: str, data_sha256: str | None = None) -> dict[str, str]:
    tags = {TAG_KIND: kind}
    if data_sha256:
        tags[TAG_DATA_SHA256] = data_sha256
    if sha := git_sha():
        tags[TAG_GIT_SHA] = sha
    return tags
