"""scikit-learn estimators, stored with skops (no pickle), for the tabular tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from wrappers.universal.manifest import LABELS_FILE, ModelManifest
from wrappers.universal.providers.base import TABULAR_TASKS, Provider, tabular_matrix


class SklearnRunner:
    def __init__(self, weights: Path, feature_names: list[str] | None):
        import skops.io as sio

        # skops refuses unknown types unless trusted. This file's sha256 was just checked
        # against the manifest written when we saved it, so its types are the ones we saved.
        self.estimator = sio.load(weights, trusted=sio.get_untrusted_types(file=weights))
        self.feature_names = feature_names

    def predict(self, model_input, params=None) -> pd.DataFrame:
        # A DataFrame keeps its column names: estimators fitted on named features check them.
        if isinstance(model_input, pd.DataFrame) and self.feature_names:
            x = model_input[self.feature_names]
        else:
            x = tabular_matrix(model_input, None)
        return pd.DataFrame({"prediction": self.estimator.predict(x)})


class SklearnProvider(Provider):
    name = "sklearn"
    aliases = ("scikit-learn",)
    tasks = TABULAR_TASKS
    weights_file = "model.skops"
    requirements = ("scikit-learn", "skops")

    def serialize(self, model, out_dir: Path, input_example=None) -> None:
        import skops.io as sio

        sio.dump(model, out_dir / self.weights_file)
        classes = getattr(model, "classes_", None)
        if classes is not None:
            (out_dir / LABELS_FILE).write_text(
                json.dumps({str(i): str(c) for i, c in enumerate(classes)}))

    def runner(self, root: Path, manifest: ModelManifest, batch_size: int) -> SklearnRunner:
        return SklearnRunner(root / self.weights_file, manifest.feature_names)


PROVIDER = SklearnProvider()
