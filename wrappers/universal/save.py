"""Save a universal model: export its files, check they predict, upload them, log a pyfunc
holding only their manifest, register it."""

from __future__ import annotations

import re
import tempfile
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from wrappers import hf
from wrappers.base import LoggedModel, dir_sha256, log_pyfunc, log_run, provenance_tags
from wrappers.transfer import Manifest, TransferSettings, open_store
from wrappers.transfer.cache import ModelFileCache
from wrappers.universal.manifest import (
    MANIFEST_ARTIFACT,
    MANIFEST_FILE,
    Components,
    ModelManifest,
)
from wrappers.universal.providers import TEXT_CLASSIFICATION, provider_named
from wrappers.universal.wrapper import UniversalModelWrapper

KIND = "universal"
TAG_STORE_URI = "wrappers.universal.store_uri"
# What the wrapper itself needs, whatever the provider: the stores' SDKs, the progress bar,
# and pydantic-settings for the cache (UNIVERSAL_MODEL_CACHE) and transfer settings.
COMMON_REQUIREMENTS = ("mlflow", "azure-storage-blob", "boto3", "tqdm", "pandas", "numpy",
                       "pydantic-settings")


def storage_name(model_name: str) -> str:
    """A folder name for a hub id (``org/name`` → ``org--name``) or a local path (its name)."""
    path = Path(model_name)
    raw = path.name if path.exists() else model_name.replace("/", "--")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.") or "model"


def log_model(
    model_name: str,
    model_provider: str,
    task: str,
    storage: str,
    *,
    model=None,
    version: str | None = None,
    input_example=None,
    register_as: str | None = None,
    alias: str | None = None,
    experiment: str | None = "universal",
    batch_size: int = hf.DEFAULT_BATCH_SIZE,
    settings: TransferSettings | None = None,
) -> LoggedModel:
    """Upload a model's files to ``storage`` and log a pyfunc that holds only their manifest.

    ``storage``: ``wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/prefix``,
    ``azure://CONTAINER/prefix`` or ``s3://BUCKET/prefix``; files land under
    ``<storage>/<model>/<version or first 16 hex of the content hash>/`` (saving other files
    under an existing ``version`` replaces them: manifests of the old ones then fail their
    sha256 check on load instead of serving the wrong weights).
    Tabular models need ``input_example`` (a DataFrame): its columns become the feature order
    and the signature.
    """
    provider = provider_named(model_provider)
    if task not in provider.tasks:
        raise ValueError(f"task {task!r} is not supported for {provider.name} models; "
                         f"supported: {', '.join(provider.tasks)}")
    text = task == TEXT_CLASSIFICATION
    if not text and not isinstance(input_example, pd.DataFrame):
        raise ValueError(f"{task} models need input_example=DataFrame of features (its "
                         "columns fix the feature order and the signature)")
    example = pd.DataFrame({hf.TEXT_COLUMN: hf.TINY_CORPUS[:2]}) if text else input_example
    feature_names = None if text else [str(c) for c in input_example.columns]

    # Credentials and container first: a clear error before minutes of exporting.
    open_store(storage, settings).check_access()
    with tempfile.TemporaryDirectory() as tmp:
        local = provider.export(model_name, model, Path(tmp) / "export", input_example)
        content_sha = dir_sha256(local)
        name = storage_name(model_name)
        folder = version or content_sha[:16]
        store = open_store(f"{storage.rstrip('/')}/{name}/{folder}", settings)

        draft = ModelManifest(name, provider.name, task, folder, Manifest(store.uri()),
                              feature_names, asdict(Components.detect(local)))
        # Load and run the exported files before uploading them: a model that cannot predict
        # locally never reaches the store or the registry.
        expected = provider.runner(local, draft, batch_size).predict(example)

        files = store.upload_tree(local)
        manifest = ModelManifest(name, provider.name, task, folder, files, feature_names,
                                 draft.components)
        manifest_path = manifest.write(Path(tmp) / MANIFEST_FILE)
        store.upload_file(manifest_path, MANIFEST_FILE)  # for people browsing the container
        # MLflow loads the model once while logging it (input-example check): from the cache
        # this host already has, not a download of what it just uploaded.
        ModelFileCache().adopt(local, files)

        from mlflow.models import infer_signature

        return log_run(
            KIND,
            lambda: log_pyfunc(
                UniversalModelWrapper(batch_size=batch_size),
                artifacts={MANIFEST_ARTIFACT: str(manifest_path)},
                signature=hf.signature() if text else infer_signature(example, expected),
                input_example=example,
                requirements=(*COMMON_REQUIREMENTS, *provider.requirements),
            ),
            run_name=f"universal-{provider.name}-{name}",
            experiment=experiment,
            tags=provenance_tags(KIND, content_sha) | {TAG_STORE_URI: store.uri()},
            params={"model_name": model_name, "provider": provider.name, "task": task,
                    "store_uri": store.uri(), "files": len(files.files),
                    "bytes": files.total_bytes},
            register_as=register_as,
            alias=alias,
        )
