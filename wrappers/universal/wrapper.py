"""The pyfunc MLflow pickles into every universal model: fetch the files, then predict."""

from __future__ import annotations

import mlflow

from wrappers import hf
from wrappers.transfer.cache import CacheStats, ModelFileCache
from wrappers.universal.manifest import MANIFEST_ARTIFACT, ModelManifest
from wrappers.universal.providers import build_runner


class UniversalModelWrapper(mlflow.pyfunc.PythonModel):
    """Loads a model's files from Azure Blob / S3 (through the local cache) and predicts.

    Pickled state is ``batch_size`` alone; everything else is rebuilt by ``load_context``.
    """

    def __init__(self, batch_size: int = hf.DEFAULT_BATCH_SIZE):
        self.batch_size = batch_size

    def load_context(self, context):
        self.manifest = ModelManifest.read(context.artifacts[MANIFEST_ARTIFACT])
        self.cache_stats = CacheStats()
        self.model_dir = ModelFileCache().materialize(self.manifest.files,
                                                      stats=self.cache_stats)
        self.runner = build_runner(self.model_dir, self.manifest, self.batch_size)

    def predict(self, context, model_input, params=None):
        return self.runner.predict(model_input, params)

    @staticmethod
    def save(model_name: str, model_provider: str, task: str, storage: str, **kwargs):
        """Export, upload to ``storage`` and log the model; see
        :func:`wrappers.universal.log_model`."""
        from wrappers.universal.save import log_model

        return log_model(model_name, model_provider, task, storage, **kwargs)


# Pickled by reference under this path since the first universal model was logged (when
# wrappers.universal was one module): keeping it lets every saved model load with this code,
# and models saved now load with code from before the split.
UniversalModelWrapper.__module__ = "wrappers.universal"
