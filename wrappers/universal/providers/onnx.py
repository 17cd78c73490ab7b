"""ONNX models run by onnxruntime: tabular (``model.onnx`` alone) or text classification
(``model.onnx`` + ``tokenizer.json`` + ``labels.json``, run by the ``onnx`` kind's pyfunc)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from wrappers import onnx
from wrappers.universal.manifest import LABELS_FILE, Components, ModelManifest
from wrappers.universal.providers.base import (
    TABULAR_TASKS,
    TEXT_CLASSIFICATION,
    Provider,
    artifacts_context,
    tabular_matrix,
)


class OnnxTextRunner:
    def __init__(self, root: Path, weights: Path):
        self.model = onnx.OnnxTextClassifier()
        self.model.load_context(artifacts_context(**{
            onnx.ONNX_ARTIFACT: str(weights),
            onnx.TOKENIZER_ARTIFACT: str(root),
            onnx.LABELS_ARTIFACT: str(root / LABELS_FILE),
        }))

    def predict(self, model_input, params=None) -> pd.DataFrame:
        return self.model.predict(None, model_input, params)


class OnnxTabularRunner:
    def __init__(self, weights: Path, feature_names: list[str] | None):
        self.session = onnx.inference_session(weights)
        self.input_name = self.session.get_inputs()[0].name
        # skl2onnx exports take float64 when converted with DoubleTensorType, else float32.
        single = self.session.get_inputs()[0].type == "tensor(float)"
        self.dtype = np.float32 if single else np.float64
        self.feature_names = feature_names

    def predict(self, model_input, params=None) -> pd.DataFrame:
        x = tabular_matrix(model_input, self.feature_names)
        out = self.session.run(None, {self.input_name: x.astype(self.dtype)})[0]
        return pd.DataFrame({"prediction": np.asarray(out).reshape(len(x), -1)[:, 0]})


class OnnxProvider(Provider):
    name = "onnx"
    tasks = (TEXT_CLASSIFICATION, *TABULAR_TASKS)
    weights_file = "model.onnx"
    requirements = ("onnxruntime", "tokenizers")

    def serialize(self, model, out_dir: Path, input_example=None) -> None:
        """An in-memory ``onnx.ModelProto``."""
        (out_dir / self.weights_file).write_bytes(model.SerializeToString())

    def runner(self, root: Path, manifest: ModelManifest, batch_size: int):
        weights = root / self.weights_file
        if manifest.task != TEXT_CLASSIFICATION:
            return OnnxTabularRunner(weights, manifest.feature_names)
        if not Components.detect(root).tokenizer:
            raise ValueError(f"onnx text-classification model in {root} has no tokenizer "
                             "(tokenizer.json next to model.onnx)")
        return OnnxTextRunner(root, weights)


PROVIDER = OnnxProvider()
