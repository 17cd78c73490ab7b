"""One case per UniversalModelWrapper provider: what to save (name, provider, task, the model
object or its files), what to predict on, and what the framework itself answers for it.

The same cases run in two tiers: tests/unit/test_universal_providers.py (export and runner, no
store) and tests/universal/test_universal_store.py (through Azurite and the registry). A new
provider adds its case here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from wrappers import hf
from wrappers.universal.providers.base import artifacts_context

TEXTS = ["the wine was excellent and fruity", "terrible sour taste", "a wonderful finish",
         "flat and watery"]


@dataclass
class ProviderCase:
    model_name: str  # what save() is given: a name, a file or a directory
    provider: str
    task: str
    model_input: Any  # what predict() is given
    expected: pd.DataFrame  # what the framework answers for model_input
    model: Any = None  # an in-memory model, when model_name is only a name
    input_example: pd.DataFrame | None = None

    def save_kwargs(self) -> dict:
        """The keyword arguments of UniversalModelWrapper.save besides storage/registration."""
        return dict(model=self.model, input_example=self.input_example)


def wine_fit():
    from wrappers import wine

    return wine.train_wine()


def sklearn_case(tmp_path: Path, tiny_hf_dir: Path | None = None) -> ProviderCase:
    fit = wine_fit()
    x = fit.x_test.head(5)
    return ProviderCase("wine-elasticnet", "sklearn", "tabular-regression", x,
                        pd.DataFrame({"prediction": fit.model.predict(x)}), model=fit.model,
                        input_example=x)


def onnx_tabular_case(tmp_path: Path, tiny_hf_dir: Path | None = None) -> ProviderCase:
    from wrappers.onnx import sklearn_to_onnx

    fit = wine_fit()
    x = fit.x_test.head(5)
    path = sklearn_to_onnx(fit.model, x.shape[1], tmp_path / "wine.onnx")
    return ProviderCase(str(path), "onnx", "tabular-regression", x,
                        pd.DataFrame({"prediction": fit.model.predict(x)}), input_example=x)


def pytorch_case(tmp_path: Path, tiny_hf_dir: Path | None = None) -> ProviderCase:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(6, 4)), columns=list("abcd"))
    with torch.no_grad():
        probs = torch.softmax(net(torch.tensor(x.to_numpy(), dtype=torch.float32)), dim=1)
    best = probs.argmax(dim=1)
    expected = pd.DataFrame({"prediction": best.numpy(),
                             "score": probs[torch.arange(len(best)), best].numpy()})
    return ProviderCase("tiny-mlp", "pytorch", "tabular-classification", x, expected,
                        model=net, input_example=x)


def onnx_text_case(tmp_path: Path, tiny_hf_dir: Path | None = None) -> ProviderCase:
    from wrappers.onnx import hf_to_onnx

    out = tmp_path / "tiny-bert-onnx"
    out.mkdir()
    hf_to_onnx(tiny_hf_dir, out / "model.onnx")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (out / name).write_bytes((tiny_hf_dir / name).read_bytes())
    id2label = json.loads((tiny_hf_dir / "config.json").read_text())["id2label"]
    (out / "labels.json").write_text(json.dumps(id2label))
    return ProviderCase(str(out), "onnx", "text-classification", TEXTS,
                        hf_predictions(tiny_hf_dir, TEXTS))


def hf_predictions(model_dir: Path, texts: list[str]) -> pd.DataFrame:
    """What the hf kind's own pyfunc answers for ``texts``."""
    original = hf.HFTextClassifier()
    original.load_context(artifacts_context(**{hf.ARTIFACT_KEY: str(model_dir)}))
    return original.predict(None, texts)


#: Case name → builder(tmp_path, tiny_hf_dir).
CASES = {"sklearn": sklearn_case, "onnx-tabular": onnx_tabular_case,
         "pytorch": pytorch_case, "onnx-text": onnx_text_case}
#: The cases whose builder needs the tiny_hf_dir fixture (torch + transformers).
NEEDS_HF_MODEL = {"onnx-text"}


def build_case(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> ProviderCase:
    """The case ``name``, asking for the tiny HF model only when it needs one."""
    tiny = request.getfixturevalue("tiny_hf_dir") if name in NEEDS_HF_MODEL else None
    return CASES[name](tmp_path, tiny)


def assert_frames_close(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns; numbers equal to float32 precision, labels exactly."""
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        if expected[column].dtype.kind in "fc":
            np.testing.assert_allclose(got[column], expected[column], rtol=1e-5, atol=1e-6)
        else:
            assert got[column].tolist() == expected[column].tolist()
