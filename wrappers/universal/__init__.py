"""UniversalModelWrapper: one pyfunc for HuggingFace, PyTorch, sklearn and ONNX models whose
files live in Azure Blob or S3 — the MLflow artifact store holds only a small manifest.

``UniversalModelWrapper.save(model_name, model_provider, task, storage=...)`` exports the model
to local files, uploads them with :mod:`wrappers.transfer` to
``STORAGE/<model>/<version or content hash>/`` and logs (optionally registers) a pyfunc whose
only artifact is ``universal-manifest.json`` (blob URIs, sizes, sha256). ``load_context``
fetches the files into a local content-addressed cache (:mod:`wrappers.transfer.cache`,
``$UNIVERSAL_MODEL_CACHE``, default ``~/.cache/mlops-stack/universal-models``): a second load
on the same host downloads nothing (nor does a load on the host that saved the model: ``save``
seeds its cache), and a cached file that no longer matches its sha256 is deleted and downloaded
again in full. Store credentials come from the loading process's environment
(AZURE_STORAGE_CONNECTION_STRING, or MLFLOW_S3_ENDPOINT_URL + AWS_*).

One ``predict`` for every provider:

- text models (huggingface ``text-classification``; onnx with a tokenizer): a list of strings,
  a Series, or a DataFrame with a ``text`` column → DataFrame(``label``, ``score``), exactly as
  :mod:`wrappers.hf` answers;
- tabular models (sklearn; onnx without a tokenizer; pytorch): a DataFrame of numeric features
  → DataFrame(``prediction``), plus ``score`` (the winning class's probability) when a PyTorch
  model outputs one column per class.

Where things are:

- ``providers/<name>.py`` — one per framework: its tasks, weights file, runtime requirements,
  export (in-memory model → files) and runner (files → predictions);
  ``providers/base.py`` — the :class:`Provider` interface they implement;
- ``manifest.py`` — the JSON logged as the model's artifact (its format never breaks);
- ``wrapper.py`` — :class:`UniversalModelWrapper`, the pickled pyfunc;
- ``save.py`` — :func:`log_model`: export, verify, upload, log, register;
- ``settings.py`` — ``UNIVERSAL_MODEL_*`` variables (cache directory, default storage).

Adding a provider is adding a module: write ``providers/<name>.py`` with a
:class:`Provider` subclass (``name`` — recorded in manifests, never renamed —, ``aliases``,
``tasks``, ``weights_file``, ``requirements``, ``serialize`` and ``runner``) and end it with
``PROVIDER = YourProvider()``; it is discovered by its file. Import its framework inside
``serialize``/``runner`` (``wrappers.base.require``), never at module level: every provider
module is imported whenever ``wrappers.universal`` is. Then add its case (a model, an input,
what the framework answers) to ``tests/support/provider_cases.py``: the unit tier runs it
through export and runner, the universal tier through Azurite and the registry.
"""

from wrappers.transfer.cache import CacheStats, ModelFileCache, default_cache_dir
from wrappers.universal.manifest import (
    LABELS_FILE,
    MANIFEST_ARTIFACT,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    Components,
    ModelManifest,
)
from wrappers.universal.providers import (
    PROVIDERS,
    TABULAR_TASKS,
    TEXT_CLASSIFICATION,
    Provider,
    build_runner,
    provider_named,
)
from wrappers.universal.save import KIND, TAG_STORE_URI, log_model, storage_name
from wrappers.universal.settings import UniversalSettings
from wrappers.universal.wrapper import UniversalModelWrapper

#: The variable that moves the cache.
CACHE_ENV = UniversalSettings.env_name("cache")

__all__ = [
    "CACHE_ENV", "KIND", "LABELS_FILE", "MANIFEST_ARTIFACT", "MANIFEST_FILE", "MANIFEST_FORMAT",
    "PROVIDERS", "TABULAR_TASKS", "TAG_STORE_URI", "TEXT_CLASSIFICATION", "CacheStats",
    "Components", "ModelFileCache", "ModelManifest", "Provider", "UniversalModelWrapper",
    "UniversalSettings",
    "build_runner", "default_cache_dir", "log_model", "provider_named", "storage_name",
]
