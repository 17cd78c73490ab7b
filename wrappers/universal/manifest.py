"""The manifest logged as a universal model's only artifact, and what a model directory holds.

The JSON format (``wrappers.universal/1``) is what every model logged so far carries: fields may
be added, never renamed or removed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from wrappers.transfer import Manifest

MANIFEST_ARTIFACT = "universal_manifest"  # the pyfunc's artifact key
MANIFEST_FILE = "universal-manifest.json"
MANIFEST_FORMAT = "wrappers.universal/1"
LABELS_FILE = "labels.json"  # {"0": "negative", ...}, for providers without a config.json


@dataclass(frozen=True)
class Components:
    """What a model directory holds besides its weights, detected from file names."""

    tokenizer: bool = False
    preprocessor: bool = False
    label_map: dict[int, str] | None = None

    @classmethod
    def detect(cls, root: Path) -> Components:
        """The components of the model files in ``root`` (none if it is not a directory)."""
        names = {p.name for p in root.iterdir()} if root.is_dir() else set()
        labels = None
        if LABELS_FILE in names:
            labels = {int(k): v for k, v in json.loads((root / LABELS_FILE).read_text()).items()}
        elif "config.json" in names:
            id2label = json.loads((root / "config.json").read_text()).get("id2label")
            labels = {int(k): v for k, v in id2label.items()} if id2label else None
        return cls(
            tokenizer=bool(names & {"tokenizer.json", "vocab.txt", "tokenizer_config.json"}),
            preprocessor=bool(names & {"preprocessor_config.json", "processor_config.json"}),
            label_map=labels,
        )


@dataclass
class ModelManifest:
    """Which model, run how, with which stored files (URIs, sizes, sha256)."""

    model: str
    provider: str
    task: str
    version: str  # the folder under STORAGE/<model>/: a given version or the content hash
    files: Manifest
    feature_names: list[str] | None = None
    components: dict = field(default_factory=dict)  # as detected at save time, for humans
    format: str = MANIFEST_FORMAT

    def to_dict(self) -> dict:
        return {"format": self.format, "model": self.model, "provider": self.provider,
                "task": self.task, "version": self.version,
                "feature_names": self.feature_names, "components": self.components,
                "files": self.files.to_dict()}

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> ModelManifest:
        """The manifest at ``path``; a file of another format raises ValueError."""
        data = json.loads(Path(path).read_text())
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"{path} is not a UniversalModelWrapper manifest "
                             f"(format {data.get('format')!r})")
        return cls(data["model"], data["provider"], data["task"], data["version"],
                   Manifest.from_dict(data["files"]), data.get("feature_names"),
                   data.get("components") or {})
