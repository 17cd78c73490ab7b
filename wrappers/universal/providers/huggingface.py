"""HuggingFace transformers text classifiers: a hub id or a ``save_pretrained`` directory,
run by :class:`wrappers.hf.HFTextClassifier` (the ``hf`` kind's own pyfunc)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wrappers import hf
from wrappers.universal.manifest import ModelManifest
from wrappers.universal.providers.base import TEXT_CLASSIFICATION, Provider, artifacts_context


class HFTextRunner:
    def __init__(self, root: Path, batch_size: int):
        self.model = hf.HFTextClassifier(batch_size=batch_size)
        self.model.load_context(artifacts_context(**{hf.ARTIFACT_KEY: str(root)}))

    def predict(self, model_input, params=None) -> pd.DataFrame:
        return self.model.predict(None, model_input, params)


class HuggingFaceProvider(Provider):
    name = "huggingface"
    aliases = ("hf", "transformers")
    tasks = (TEXT_CLASSIFICATION,)
    requirements = hf.RUNTIME_REQUIREMENTS

    def export(self, model_name: str, model, out_dir: Path, input_example=None) -> Path:
        """The ``save_pretrained`` directory of a hub id (downloaded now) or a local one."""
        if model is not None:
            raise ValueError("huggingface models are saved from a hub id or a save_pretrained "
                             "directory (model_name), not an in-memory object")
        out_dir.mkdir(parents=True, exist_ok=True)
        return hf.materialize(model_name, out_dir)

    def runner(self, root: Path, manifest: ModelManifest, batch_size: int) -> HFTextRunner:
        return HFTextRunner(root, batch_size)


PROVIDER = HuggingFaceProvider()
