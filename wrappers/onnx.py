"""ONNX models run by onnxruntime, as an MLflow pyfunc, with two producers:

- ``log_sklearn_model``: a fitted sklearn estimator (the wine ElasticNet) converted by skl2onnx,
  in float64 end to end, so predictions equal sklearn's (max difference ~1e-15).
- ``log_hf_model``: a transformers sequence classifier exported by torch's exporter and run with
  the ``tokenizers`` library + onnxruntime only — the serving path never imports torch.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from wrappers.base import (
    LoggedModel,
    dir_sha256,
    file_sha256,
    log_pyfunc,
    log_run,
    provenance_tags,
    require,
    top_class,
)
from wrappers.hf import predictions_frame, texts_from_input

KIND_TABULAR = "onnx-sklearn"
KIND_TEXT = "onnx-hf"
ONNX_ARTIFACT = "onnx_model"
TOKENIZER_ARTIFACT = "tokenizer"
LABELS_ARTIFACT = "labels"
ONNX_OPSET = 17
# pydantic-settings: inference_session reads ONNX_INTRA_OP_THREADS through it.
RUNTIME_REQUIREMENTS = ("mlflow", "onnxruntime", "numpy", "pandas", "pydantic-settings")


def inference_session(path: str | os.PathLike):
    """An onnxruntime CPU session for the model file at ``path``, with
    ``ONNX_INTRA_OP_THREADS`` threads per operator (:class:`OnnxSettings`)."""
    from wrappers.model_settings import OnnxSettings

    ort = require("onnxruntime", "onnx")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = OnnxSettings.load().intra_op_threads
    return ort.InferenceSession(str(path), sess_options=opts,
                                providers=["CPUExecutionProvider"])


class OnnxTabularModel(mlflow.pyfunc.PythonModel):
    """Numeric DataFrame (columns in signature order) → 1-D float64 predictions."""

    # The serving fast engine (services/serving/engines/fast) keys its ONNX fast path on this
    # attribute, then runs `session.run(None, {input_name: x_float64})[0].reshape(-1)` itself,
    # columns in `feature_names` order — what predict does. Renaming `session`, `input_name` or
    # `feature_names` silently costs served models that fast path; changing what predict
    # computes makes the fast engine answer differently from MLflow. Change both sides together.
    serving_fast_path = "onnx-tabular"

    def __init__(self, feature_names: list[str]):
        self.feature_names = list(feature_names)

    def load_context(self, context):
        self.session = inference_session(context.artifacts[ONNX_ARTIFACT])
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, context, model_input, params=None):
        if isinstance(model_input, pd.DataFrame):
            x = model_input[self.feature_names].to_numpy(dtype=np.float64)
        else:
            x = np.asarray(model_input, dtype=np.float64).reshape(-1, len(self.feature_names))
        return self.session.run(None, {self.input_name: x})[0].reshape(-1)


class OnnxTextClassifier(mlflow.pyfunc.PythonModel):
    """Texts → DataFrame(label, score), like wrappers.hf, without torch or transformers."""

    def __init__(self, max_length: int = 128):
        self.max_length = max_length

    def load_context(self, context):
        tokenizers = require("tokenizers", "onnx")
        self.session = inference_session(context.artifacts[ONNX_ARTIFACT])
        self.input_names = [i.name for i in self.session.get_inputs()]
        tok = tokenizers.Tokenizer.from_file(
            os.path.join(context.artifacts[TOKENIZER_ARTIFACT], "tokenizer.json")
        )
        tok.enable_truncation(max_length=self.max_length)
        pad_id = tok.token_to_id("[PAD]") or 0
        tok.enable_padding(pad_id=pad_id, pad_token="[PAD]")
        self.tokenizer = tok
        with open(context.artifacts[LABELS_ARTIFACT]) as fh:
            self.labels = {int(k): v for k, v in json.load(fh).items()}

    def predict(self, context, model_input, params=None):
        texts = texts_from_input(model_input)
        if not texts:
            return predictions_frame([], [])
        enc = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        logits = self.session.run(["logits"], {k: feeds[k] for k in self.input_names})[0]
        best, scores = top_class(logits)
        return predictions_frame([self.labels[int(i)] for i in best], scores.tolist())


def sklearn_to_onnx(estimator, n_features: int, path: str | os.PathLike) -> Path:
    skl2onnx = require("skl2onnx", "onnx")
    from skl2onnx.common.data_types import DoubleTensorType

    onx = skl2onnx.convert_sklearn(
        estimator,
        initial_types=[("input", DoubleTensorType([None, n_features]))],
        target_opset=ONNX_OPSET,
    )
    Path(path).write_bytes(onx.SerializeToString())
    return Path(path)


def hf_to_onnx(model_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Export a sequence classifier with dynamic batch and sequence axes."""
    torch = require("torch", "hf")
    transformers = require("transformers", "hf")

    # eager attention: the TorchScript exporter has no symbolic for fused SDPA masks.
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        model_dir, attn_implementation="eager", local_files_only=True
    )
    model.eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    with torch.no_grad():
        # dynamo=False: the TorchScript exporter needs no onnxscript; the graph is plain BERT.
        torch.onnx.export(
            model,
            dummy,
            str(path),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return Path(path)


def log_sklearn_model(
    estimator,
    feature_names: list[str],
    signature,
    input_example: pd.DataFrame,
    register_as: str | None = None,
    alias: str | None = None,
    experiment: str | None = "onnx",
    data_sha256: str | None = None,
    metrics: dict[str, float] | None = None,
) -> LoggedModel:
    """Convert a fitted sklearn estimator to ONNX and log it as an onnxruntime pyfunc."""
    with tempfile.TemporaryDirectory() as tmp:
        path = sklearn_to_onnx(estimator, len(feature_names), Path(tmp) / "model.onnx")
        return log_run(
            KIND_TABULAR,
            lambda: log_pyfunc(
                OnnxTabularModel(feature_names),
                artifacts={ONNX_ARTIFACT: str(path)},
                signature=signature,
                input_example=input_example,
                requirements=RUNTIME_REQUIREMENTS,
            ),
            run_name=f"onnx-{type(estimator).__name__}",
            experiment=experiment,
            tags=provenance_tags(KIND_TABULAR, data_sha256),
            params={"producer": "skl2onnx", "opset": ONNX_OPSET},
            metrics=metrics,
            register_as=register_as,
            alias=alias,
        )


def log_wine_model(
    alpha: float = 0.5,
    l1_ratio: float = 0.5,
    seed: int = 42,
    register_as: str | None = None,
    alias: str | None = None,
    experiment: str | None = "onnx",
) -> LoggedModel:
    """The wine ElasticNet (same training as wrappers.wine), served through onnxruntime."""
    from wrappers import wine

    fit = wine.train_wine(alpha, l1_ratio, seed)
    return log_sklearn_model(
        fit.model,
        wine.FEATURES,
        wine.signature(),
        fit.x_test.head(2),
        register_as=register_as,
        alias=alias,
        experiment=experiment,
        data_sha256=file_sha256(wine.data_path()),
        metrics=fit.metrics,
    )


def log_hf_model(
    model_name_or_path: str,
    register_as: str | None = None,
    alias: str | None = None,
    experiment: str | None = "onnx",
    max_length: int = 128,
) -> LoggedModel:
    """Export a transformers classifier (hub id or local dir) to ONNX and log it."""
    from wrappers import hf

    with tempfile.TemporaryDirectory() as tmp:
        local = hf.materialize(model_name_or_path, Path(tmp) / "hf_model")
        onnx_path = hf_to_onnx(local, Path(tmp) / "model.onnx")
        tok_dir = Path(tmp) / "tokenizer"
        tok_dir.mkdir()
        transformers = require("transformers", "hf")
        transformers.AutoTokenizer.from_pretrained(local, local_files_only=True).save_pretrained(
            tok_dir
        )
        config = json.loads((Path(local) / "config.json").read_text())
        labels_path = Path(tmp) / "labels.json"
        labels_path.write_text(json.dumps(config["id2label"]))
        return log_run(
            KIND_TEXT,
            lambda: log_pyfunc(
                OnnxTextClassifier(max_length=max_length),
                artifacts={
                    ONNX_ARTIFACT: str(onnx_path),
                    TOKENIZER_ARTIFACT: str(tok_dir),
                    LABELS_ARTIFACT: str(labels_path),
                },
                signature=hf.signature(),
                input_example=pd.DataFrame({hf.TEXT_COLUMN: hf.TINY_CORPUS[:2]}),
                requirements=(*RUNTIME_REQUIREMENTS, "tokenizers"),
            ),
            run_name=f"onnx-hf-{Path(str(model_name_or_path)).name}",
            experiment=experiment,
            tags=provenance_tags(KIND_TEXT, dir_sha256(local)),
            params={"producer": "torch.onnx", "opset": ONNX_OPSET,
                    "model_name_or_path": str(model_name_or_path)},
            register_as=register_as,
            alias=alias,
        )
