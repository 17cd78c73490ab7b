"""PyTorch modules as TorchScript (``model.pt``), for the tabular tasks: one output column is a
prediction; one column per class gives the most likely class and its probability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from wrappers.base import require, top_class
from wrappers.universal.manifest import Components, ModelManifest
from wrappers.universal.providers.base import TABULAR_TASKS, Provider, tabular_matrix


class TorchScriptRunner:
    def __init__(self, root: Path, weights: Path, feature_names: list[str] | None):
        self.torch = require("torch", "hf")
        self.module = self.torch.jit.load(str(weights), map_location="cpu")
        self.module.eval()
        self.feature_names = feature_names
        self.labels = Components.detect(root).label_map

    def predict(self, model_input, params=None) -> pd.DataFrame:
        x = self.torch.as_tensor(tabular_matrix(model_input, self.feature_names),
                                 dtype=self.torch.float32)
        with self.torch.no_grad():
            out = self.module(x).detach().cpu().numpy().astype(np.float64)
        out = out.reshape(len(x), -1)
        if out.shape[1] == 1:
            return pd.DataFrame({"prediction": out[:, 0]})
        best, scores = top_class(out)
        labels = [self.labels[int(i)] if self.labels else int(i) for i in best]
        return pd.DataFrame({"prediction": labels, "score": scores})


class PyTorchProvider(Provider):
    name = "pytorch"
    aliases = ("torch",)
    tasks = TABULAR_TASKS
    weights_file = "model.pt"
    requirements = ("torch",)

    def serialize(self, model, out_dir: Path, input_example=None) -> None:
        """TorchScript by scripting, else by tracing ``input_example``."""
        torch = require("torch", "hf")
        model.eval()
        try:
            scripted = torch.jit.script(model)
        except Exception:
            if input_example is None:
                raise ValueError("this torch module cannot be scripted; pass input_example "
                                 "so it can be traced") from None
            example = torch.as_tensor(tabular_matrix(input_example, None), dtype=torch.float32)
            scripted = torch.jit.trace(model, example)
        scripted.save(str(out_dir / self.weights_file))

    def runner(self, root: Path, manifest: ModelManifest, batch_size: int) -> TorchScriptRunner:
        return TorchScriptRunner(root, root / self.weights_file, manifest.feature_names)


PROVIDER = PyTorchProvider()
