"""HuggingFace transformers text classifier as an MLflow pyfunc.

Weights and tokenizer are artifacts of the logged model, so loading never calls the hub.
``model_name_or_path`` may be a hub id (fetched once, at logging time, by a user who is online)
or a local directory written by ``save_pretrained``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import mlflow
import pandas as pd

from wrappers.base import LoggedModel, dir_sha256, log_pyfunc, log_run, provenance_tags, require

KIND = "hf"
ARTIFACT_KEY = "hf_model"
TEXT_COLUMN = "text"
DEFAULT_BATCH_SIZE = 32
# What HFTextClassifier needs besides mlflow and pandas, pinned into every model that runs it.
RUNTIME_REQUIREMENTS = ("torch", "transformers", "tokenizers", "safetensors")


def texts_from_input(model_input) -> list[str]:
    """Accept a list of strings, a Series, or a DataFrame with a ``text`` column."""
    if isinstance(model_input, pd.DataFrame):
        if TEXT_COLUMN in model_input.columns:
            col = model_input[TEXT_COLUMN]
        elif model_input.shape[1] == 1:
            col = model_input.iloc[:, 0]
        else:
            raise ValueError(
                f"expected a DataFrame with a '{TEXT_COLUMN}' column, got columns "
                f"{list(model_input.columns)}"
            )
        return [str(t) for t in col.tolist()]
    if isinstance(model_input, pd.Series):
        return [str(t) for t in model_input.tolist()]
    if isinstance(model_input, str):
        return [model_input]
    if isinstance(model_input, (list, tuple)):
        return [str(t) for t in model_input]
    raise TypeError(
        f"expected a list of strings or a DataFrame with a '{TEXT_COLUMN}' column, "
        f"got {type(model_input).__name__}"
    )


def predictions_frame(labels: list[str], scores: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"label": labels, "score": [float(s) for s in scores]})


def signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    # Unnamed input column: MLflow then enforces by position, so both a bare list of strings
    # and a DataFrame with a `text` column pass (a named column would reject the list).
    return ModelSignature(
        inputs=Schema([ColSpec("string")]),
        outputs=Schema([ColSpec("string", "label"), ColSpec("double", "score")]),
    )


class HFTextClassifier(mlflow.pyfunc.PythonModel):
    """A transformers text-classification pipeline loaded from the model's own artifacts."""

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE, max_length: int = 512):
        self.batch_size = batch_size
        self.max_length = max_length

    def load_context(self, context):
        transformers = require("transformers", "hf")
        path = context.artifacts[ARTIFACT_KEY]
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            path, local_files_only=True
        )
        model.eval()
        self.pipeline = transformers.pipeline(
            "text-classification", model=model, tokenizer=tokenizer, device=-1
        )

    def predict(self, context, model_input, params=None):
        texts = texts_from_input(model_input)
        if not texts:
            return predictions_frame([], [])
        batch_size = int((params or {}).get("batch_size", self.batch_size))
        out = self.pipeline(
            texts, batch_size=batch_size, truncation=True, max_length=self.max_length
        )
        return predictions_frame([o["label"] for o in out], [o["score"] for o in out])


def materialize(model_name_or_path: str, out_dir: str | os.PathLike) -> Path:
    """A local ``save_pretrained`` directory for a hub id or an existing directory."""
    path = Path(model_name_or_path)
    if path.is_dir():
        return path
    transformers = require("transformers", "hf")
    # Hub path: only reached by users who are online; tests and the demo pass local dirs.
    out = Path(out_dir)
    transformers.AutoTokenizer.from_pretrained(model_name_or_path).save_pretrained(out)
    transformers.AutoModelForSequenceClassification.from_pretrained(
        model_name_or_path
    ).save_pretrained(out)
    return out


TINY_CORPUS = [
    "the wine was excellent and fruity",
    "a wonderful balanced finish",
    "terrible sour taste, would not buy again",
    "the service was slow and the food cold",
    "great value, lovely aroma",
    "flat, watery and disappointing",
    "I loved this bottle",
    "this is the worst red I have had",
]


def build_tiny_text_classifier(
    out_dir: str | os.PathLike,
    labels: tuple[str, ...] = ("negative", "positive"),
    seed: int = 0,
) -> Path:
    """A few-layer random-init BERT with a WordPiece tokenizer trained locally.

    For tests and the offline demo: no hub access. Predictions are deterministic for a seed
    but meaningless — it shows the plumbing, not sentiment analysis.
    """
    torch = require("torch", "hf")
    transformers = require("transformers", "hf")
    tokenizers = require("tokenizers", "hf")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wp = tokenizers.BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(TINY_CORPUS * 4, vocab_size=200, min_frequency=1)
    with tempfile.TemporaryDirectory() as tmp:
        wp.save_model(tmp)
        tokenizer = transformers.BertTokenizerFast(
            vocab_file=os.path.join(tmp, "vocab.txt"), do_lower_case=True
        )
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = transformers.BertForSequenceClassification(config)
    # The default head init (std 0.02) scores every text ~0.50; a wider head gives texts
    # distinct labels and scores, so a demo request shows something.
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 2.0)
    model.eval()
    model.save_pretrained(out)
    return out


def log_model(
    model_name_or_path: str,
    register_as: str | None = None,
    alias: str | None = None,
    experiment: str | None = "hf-text-classifier",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> LoggedModel:
    """Log a text classifier (hub id or local dir) with its weights as artifacts."""
    with tempfile.TemporaryDirectory() as tmp:
        local = materialize(model_name_or_path, Path(tmp) / "hf_model")

        def log_weights_and_config():
            # The run's own copy of the config (labels, architecture) — browsable in the UI.
            mlflow.log_artifact(str(Path(local) / "config.json"), artifact_path="hf_config")
            return log_pyfunc(
                HFTextClassifier(batch_size=batch_size),
                artifacts={ARTIFACT_KEY: str(local)},
                signature=signature(),
                input_example=pd.DataFrame({TEXT_COLUMN: TINY_CORPUS[:2]}),
                requirements=("mlflow", *RUNTIME_REQUIREMENTS, "pandas"),
            )

        return log_run(
            KIND,
            log_weights_and_config,
            run_name=f"hf-{Path(str(model_name_or_path)).name}",
            experiment=experiment,
            tags=provenance_tags(KIND, dir_sha256(local)),
            params={"model_name_or_path": str(model_name_or_path), "batch_size": batch_size},
            register_as=register_as,
            alias=alias,
        )
