"""UniversalModelWrapper: one pyfunc for HuggingFace, PyTorch, sklearn and ONNX models whose
files live in Azure Blob or S3 — the MLflow artifact store holds only a small manifest.

``UniversalModelWrapper.save(model_name, model_provider, task, storage=...)`` exports the model
to local files, uploads them with :mod:`wrappers.transfer` to
``STORAGE/<model>/<version or content hash>/`` and logs (optionally registers) a pyfunc whose
only artifact is ``universal-manifest.json`` (blob URIs, sizes, sha256). ``load_context``
fetches the files into a local content-addressed cache (``$UNIVERSAL_MODEL_CACHE``, default
``~/.cache/mlops-stack/universal-models``): a second load on the same host downloads nothing
(nor does a load on the host that saved the model: ``save`` seeds its cache), and a cached
file that no longer matches its sha256 is deleted and downloaded again in full.
Store credentials come from the loading process's environment
(AZURE_STORAGE_CONNECTION_STRING, or MLFLOW_S3_ENDPOINT_URL + AWS_*).

One ``predict`` for every provider:

- text models (huggingface ``text-classification``; onnx with a tokenizer): a list of strings,
  a Series, or a DataFrame with a ``text`` column → DataFrame(``label``, ``score``), exactly as
  :mod:`wrappers.hf` answers;
- tabular models (sklearn; onnx without a tokenizer; pytorch): a DataFrame of numeric features
  → DataFrame(``prediction``), plus ``score`` (the winning class's probability) when a PyTorch
  model outputs one column per class.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd

from wrappers import hf
from wrappers.base import LoggedModel, dir_sha256, file_sha256, pinned, provenance_tags, require
from wrappers.registry import finish_logging
from wrappers.transfer import Manifest, TransferSettings, open_store

log = logging.getLogger(__name__)

KIND = "universal"
MANIFEST_ARTIFACT = "universal_manifest"
MANIFEST_FILE = "universal-manifest.json"
MANIFEST_FORMAT = "wrappers.universal/1"
CACHE_ENV = "UNIVERSAL_MODEL_CACHE"
TAG_STORE_URI = "wrappers.universal.store_uri"

PROVIDER_ALIASES = {
    "huggingface": "huggingface", "hf": "huggingface", "transformers": "huggingface",
    "pytorch": "pytorch", "torch": "pytorch",
    "sklearn": "sklearn", "scikit-learn": "sklearn",
    "onnx": "onnx",
}
TEXT_CLASSIFICATION = "text-classification"
TABULAR_TASKS = ("tabular-regression", "tabular-classification")
TASKS = {
    "huggingface": (TEXT_CLASSIFICATION,),
    "onnx": (TEXT_CLASSIFICATION, *TABULAR_TASKS),
    "sklearn": TABULAR_TASKS,
    "pytorch": TABULAR_TASKS,
}
# The file each provider's exporter writes (or expects in a directory it is given).
WEIGHTS_FILE = {"pytorch": "model.pt", "sklearn": "model.skops", "onnx": "model.onnx"}
LABELS_FILE = "labels.json"  # {"0": "negative", ...}, for providers without a config.json
RUNTIME_REQUIREMENTS = {
    "huggingface": ("torch", "transformers", "tokenizers", "safetensors"),
    "pytorch": ("torch",),
    "sklearn": ("scikit-learn", "skops"),
    "onnx": ("onnxruntime", "tokenizers"),
}


def normalize_provider(provider: str) -> str:
    try:
        return PROVIDER_ALIASES[provider.lower()]
    except KeyError:
        raise ValueError(f"unknown model provider {provider!r}; use one of "
                         f"{', '.join(sorted(set(PROVIDER_ALIASES.values())))}") from None


def storage_name(model_name: str) -> str:
    """A folder name for a hub id (``org/name`` → ``org--name``) or a local path (its name)."""
    path = Path(model_name)
    raw = path.name if path.exists() else model_name.replace("/", "--")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.") or "model"


# --- components -------------------------------------------------------------------------


@dataclass(frozen=True)
class Components:
    """What a model directory holds besides its weights, detected from file names."""

    tokenizer: bool = False
    preprocessor: bool = False
    label_map: dict[int, str] | None = None

    @classmethod
    def detect(cls, root: Path) -> Components:
        names = {p.name for p in root.iterdir()} if root.is_dir() else set()
        labels = None
        if LABELS_FILE in names:
            labels = {int(k): v for k, v in json.loads((root / LABELS_FILE).read_text()).items()}
        elif "config.json" in names:
            id2label = json.loads((root / "config.json").read_text()).get("id2label")
            labels = {int(k): v for k, v in id2label.items()} if id2label else None
        return cls(
            tokenizer=bool(names & {"tokenizer.json", "vocab.txt", "tokenizer_config.json"}),
            preprocessor=bool(names & {"preprocessor_config.json", "processor_config.json"}),
            label_map=labels,
        )


# --- the manifest logged as the model's only artifact ----------------------------------------


@dataclass
class ModelManifest:
    model: str
    provider: str
    task: str
    version: str  # the folder under STORAGE/<model>/: a given version or the content hash
    files: Manifest
    feature_names: list[str] | None = None
    components: dict = field(default_factory=dict)  # as detected at save time, for humans
    format: str = MANIFEST_FORMAT

    def to_dict(self) -> dict:
        return {"format": self.format, "model": self.model, "provider": self.provider,
                "task": self.task, "version": self.version,
                "feature_names": self.feature_names, "components": self.components,
                "files": self.files.to_dict()}

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> ModelManifest:
        data = json.loads(Path(path).read_text())
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"{path} is not a UniversalModelWrapper manifest "
                             f"(format {data.get('format')!r})")
        return cls(data["model"], data["provider"], data["task"], data["version"],
                   Manifest.from_dict(data["files"]), data.get("feature_names"),
                   data.get("components") or {})


# --- local cache ------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlops-stack" / "universal-models"


@dataclass
class CacheStats:
    hits: int = 0
    downloads: int = 0
    repaired: int = 0  # cached files that failed verification and were fetched again


class ModelFileCache:
    """Files stored once per sha256 (``sha256/ab/abcd…``); a model is a directory of symlinks
    (``models/<content hash>/<relative path>``) into that store, rebuilt on every load.

    Each load re-hashes the cached files: a corrupt cache costs a download, never a wrong
    prediction. Concurrent loads (several serving workers) take a per-file lock, so a file is
    downloaded once.
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root or default_cache_dir())

    def blob_path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    @contextlib.contextmanager
    def _locked(self, sha256: str):
        lock_path = self.root / "locks" / f"{sha256}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def adopt(self, local_dir: Path, manifest: Manifest) -> None:
        """Seed the cache with files this host just uploaded (hard link, else copy)."""
        for entry in manifest.files:
            target = self.blob_path(entry.sha256)
            source = local_dir / entry.path
            with self._locked(entry.sha256):
                if target.exists() or file_sha256(source) != entry.sha256:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                tmp.unlink(missing_ok=True)
                try:
                    os.link(source, tmp)
                except OSError:  # another filesystem, or links not allowed
                    shutil.copyfile(source, tmp)
                os.replace(tmp, target)

    def materialize(self, manifest: Manifest, settings: TransferSettings | None = None,
                    stats: CacheStats | None = None) -> Path:
        """A directory with every file of ``manifest``, downloading only what is not cached."""
        stats = stats if stats is not None else CacheStats()
        store = None
        view = self.root / "models" / manifest.content_sha256
        for entry in manifest.files:
            target = self.blob_path(entry.sha256)
            with self._locked(entry.sha256):
                if target.exists():
                    if target.stat().st_size == entry.size and \
                            file_sha256(target) == entry.sha256:
                        stats.hits += 1
                    else:
                        log.warning("cached %s (%s) is corrupt: downloading it again",
                                    entry.path, target)
                        target.unlink()
                        stats.repaired += 1
                if not target.exists():
                    store = store or open_store(manifest.store_uri, settings)
                    store.download_entry(entry, target)
                    stats.downloads += 1
            link = view / entry.path
            link.parent.mkdir(parents=True, exist_ok=True)
            rel = os.path.relpath(target, link.parent)
            if not (link.is_symlink() and os.readlink(link) == rel):
                tmp_link = link.with_name(f".{link.name}.{os.getpid()}.tmp")
                tmp_link.unlink(missing_ok=True)
                tmp_link.symlink_to(rel)
                os.replace(tmp_link, link)
        log.info("model files in %s: %d cached, %d downloaded, %d repaired",
                 view, stats.hits, stats.downloads, stats.repaired)
        return view


# --- runners: one per provider, behind one predict ------------------------------------------


def _artifacts_context(**artifacts: str) -> SimpleNamespace:
    """What the provider pyfuncs' load_context reads (``context.artifacts``)."""
    return SimpleNamespace(artifacts=artifacts)


def _tabular_matrix(model_input, feature_names: list[str] | None) -> np.ndarray:
    if isinstance(model_input, pd.DataFrame):
        frame = model_input[feature_names] if feature_names else model_input
        return frame.to_numpy(dtype=np.float64)
    return np.asarray(model_input, dtype=np.float64).reshape(len(model_input), -1)


class HFTextRunner:
    def __init__(self, root: Path, manifest: ModelManifest, batch_size: int):
        self.model = hf.HFTextClassifier(batch_size=batch_size)
        self.model.load_context(_artifacts_context(**{hf.ARTIFACT_KEY: str(root)}))

    def predict(self, model_input, params=None) -> pd.DataFrame:
        return self.model.predict(None, model_input, params)


class OnnxTextRunner:
    def __init__(self, root: Path, manifest: ModelManifest, batch_size: int):
        from wrappers import onnx

        self.model = onnx.OnnxTextClassifier()
        self.model.load_context(_artifacts_context(**{
            onnx.ONNX_ARTIFACT: str(root / WEIGHTS_FILE["onnx"]),
            onnx.TOKENIZER_ARTIFACT: str(root),
            onnx.LABELS_ARTIFACT: str(root / LABELS_FILE),
        }))

    def predict(self, model_input, params=None) -> pd.DataFrame:
        return self.model.predict(None, model_input, params)


class OnnxTabularRunner:
    def __init__(self, root: Path, manifest: ModelManifest, batch_size: int):
        from wrappers import onnx

        self.session = onnx._session(str(root / WEIGHTS_FILE["onnx"]))
        self.input_name = self.session.get_inputs()[0].name
        self.feature_names = manifest.feature_names

    def predict(self, model_input, params=None) -> pd.DataFrame:
        x = _tabular_matrix(model_input, self.feature_names)
        # skl2onnx exports take float64 when converted with DoubleTensorType, else float32.
        single = self.session.get_inputs()[0].type == "tensor(float)"
        out = self.session.run(None, {self.input_name: x.astype(np.float32 if single else
                                                                 np.float64)})[0]
        return pd.DataFrame({"prediction": np.asarray(out).reshape(len(x), -1)[:, 0]})


class SklearnRunner:
    def __init__(self, root: Path, manifest: ModelManifest, batch_size: int):
        import skops.io as sio

        path = root / WEIGHTS_FILE["sklearn"]
        # skops refuses unknown types unless trusted. This file's sha256 was just checked
        # against the manifest written when we saved it, so its types are the ones we saved.
        self.estimator = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        self.feature_names = manifest.feature_names

    def predict(self, model_input, params=None) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame) and self.feature_names:
            x = model_input[self.feature_names]
        else:
            x = _tabular_matrix(model_input, None)
        return pd.DataFrame({"prediction": self.estimator.predict(x)})


class TorchScriptRunner:
    def __init__(self, root: Path, manifest: ModelManifest, batch_size: int):
        self.torch = require("torch", "hf")
        self.module = self.torch.jit.load(str(root / WEIGHTS_FILE["pytorch"]), map_location="cpu")
        self.module.eval()
        self.feature_names = manifest.feature_names
        self.labels = Components.detect(root).label_map

    def predict(self, model_input, params=None) -> pd.DataFrame:
        x = self.torch.as_tensor(_tabular_matrix(model_input, self.feature_names),
                                 dtype=self.torch.float32)
        with self.torch.no_grad():
            out = self.module(x).detach().cpu().numpy().astype(np.float64)
        out = out.reshape(len(x), -1)
        if out.shape[1] == 1:
            return pd.DataFrame({"prediction": out[:, 0]})
        # One column per class: the most likely class (named if a label map exists) and its
        # softmax probability.
        z = np.exp(out - out.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        best = probs.argmax(axis=1)
        labels = [self.labels[int(i)] if self.labels else int(i) for i in best]
        return pd.DataFrame({"prediction": labels, "score": probs[np.arange(len(best)), best]})


def build_runner(root: Path, manifest: ModelManifest, batch_size: int = hf.DEFAULT_BATCH_SIZE):
    """The runner for ``manifest``'s provider and task, loaded from the files in ``root``."""
    if manifest.provider == "huggingface":
        return HFTextRunner(root, manifest, batch_size)
    if manifest.provider == "onnx":
        if manifest.task == TEXT_CLASSIFICATION:
            if not Components.detect(root).tokenizer:
                raise ValueError(f"onnx text-classification model in {root} has no tokenizer "
                                 "(tokenizer.json next to model.onnx)")
            return OnnxTextRunner(root, manifest, batch_size)
        return OnnxTabularRunner(root, manifest, batch_size)
    if manifest.provider == "sklearn":
        return SklearnRunner(root, manifest, batch_size)
    if manifest.provider == "pytorch":
        return TorchScriptRunner(root, manifest, batch_size)
    raise ValueError(f"no runner for provider {manifest.provider!r}")


# --- the pyfunc -------------------------------------------------------------------------------


class UniversalModelWrapper(mlflow.pyfunc.PythonModel):
    """Loads a model's files from Azure Blob / S3 (through the local cache) and predicts."""

    def __init__(self, batch_size: int = hf.DEFAULT_BATCH_SIZE):
        self.batch_size = batch_size

    def load_context(self, context):
        self.manifest = ModelManifest.read(context.artifacts[MANIFEST_ARTIFACT])
        self.cache_stats = CacheStats()
        self.model_dir = ModelFileCache().materialize(self.manifest.files,
                                                      stats=self.cache_stats)
        self.components = Components.detect(self.model_dir)
        self.runner = build_runner(self.model_dir, self.manifest, self.batch_size)

    def predict(self, context, model_input, params=None):
        return self.runner.predict(model_input, params)

    @staticmethod
    def save(model_name: str, model_provider: str, task: str, storage: str,
             **kwargs) -> LoggedModel:
        """Export, upload to ``storage`` and log the model; see :func:`log_model`."""
        return log_model(model_name, model_provider, task, storage, **kwargs)


# --- save -------------------------------------------------------------------------------------


def export_model(provider: str, model_name: str, model, out_dir: Path,
                 input_example=None) -> Path:
    """Local files for the model: a directory to upload as is.

    ``model_name`` is a hub id or directory (huggingface), or a file/directory holding the
    provider's weights file; ``model`` an in-memory sklearn estimator, torch module or ONNX
    ModelProto, which is serialized instead.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if provider == "huggingface":
        if model is not None:
            raise ValueError("huggingface models are saved from a hub id or a save_pretrained "
                             "directory (model_name), not an in-memory object")
        return hf.materialize(model_name, out_dir)
    weights = out_dir / WEIGHTS_FILE[provider]
    if model is None:
        source = Path(model_name)
        if source.is_dir():
            if not (source / WEIGHTS_FILE[provider]).exists():
                raise ValueError(f"{source} has no {WEIGHTS_FILE[provider]} for a {provider} "
                                 "model")
            return source
        if not source.is_file():
            raise ValueError(f"{model_name} is neither a file nor a directory; pass the "
                             f"{provider} model object as model=...")
        shutil.copyfile(source, weights)
        return out_dir
    if provider == "sklearn":
        import skops.io as sio

        sio.dump(model, weights)
        classes = getattr(model, "classes_", None)
        if classes is not None:
            (out_dir / LABELS_FILE).write_text(
                json.dumps({str(i): str(c) for i, c in enumerate(classes)}))
    elif provider == "pytorch":
        torch = require("torch", "hf")
        model.eval()
        try:
            scripted = torch.jit.script(model)
        except Exception:
            if input_example is None:
                raise ValueError("this torch module cannot be scripted; pass input_example "
                                 "so it can be traced") from None
            example = torch.as_tensor(_tabular_matrix(input_example, None), dtype=torch.float32)
            scripted = torch.jit.trace(model, example)
        scripted.save(str(weights))
    elif provider == "onnx":
        weights.write_bytes(model.SerializeToString())
    return out_dir


def _pip_requirements(provider: str) -> list[str]:
    return pinned("mlflow", "azure-storage-blob", "boto3", "tqdm", "pandas", "numpy",
                  *RUNTIME_REQUIREMENTS[provider])


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
    provider = normalize_provider(model_provider)
    if task not in TASKS[provider]:
        raise ValueError(f"task {task!r} is not supported for {provider} models; supported: "
                         f"{', '.join(TASKS[provider])}")
    text = task == TEXT_CLASSIFICATION
    if not text and not isinstance(input_example, pd.DataFrame):
        raise ValueError(f"{task} models need input_example=DataFrame of features (its "
                         "columns fix the feature order and the signature)")
    example = pd.DataFrame({hf.TEXT_COLUMN: hf.TINY_CORPUS[:2]}) if text else input_example
    feature_names = None if text else [str(c) for c in input_example.columns]

    # Credentials and container first: a clear error before minutes of exporting.
    open_store(storage, settings).check_access()
    with tempfile.TemporaryDirectory() as tmp:
        local = export_model(provider, model_name, model, Path(tmp) / "export", input_example)
        content_sha = dir_sha256(local)
        name = storage_name(model_name)
        folder = version or content_sha[:16]
        store = open_store(f"{storage.rstrip('/')}/{name}/{folder}", settings)

        draft = ModelManifest(name, provider, task, folder, Manifest(store.uri()),
                              feature_names, asdict(Components.detect(local)))
        # Load and run the exported files before uploading them: a model that cannot predict
        # locally never reaches the store or the registry.
        expected = build_runner(local, draft, batch_size).predict(example)

        files = store.upload_tree(local)
        manifest = ModelManifest(name, provider, task, folder, files, feature_names,
                                 draft.components)
        manifest_path = manifest.write(Path(tmp) / MANIFEST_FILE)
        store.upload_file(manifest_path, MANIFEST_FILE)  # for people browsing the container
        # MLflow loads the model once while logging it (input-example check): from the cache
        # this host already has, not a download of what it just uploaded.
        ModelFileCache().adopt(local, files)

        from mlflow.models import infer_signature

        signature = hf.signature() if text else infer_signature(example, expected)
        tags = provenance_tags(KIND, content_sha) | {TAG_STORE_URI: store.uri()}
        if experiment:
            mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=f"universal-{provider}-{name}") as run:
            mlflow.set_tags(tags)
            mlflow.log_params({"model_name": model_name, "provider": provider, "task": task,
                               "store_uri": store.uri(), "files": len(files.files),
                               "bytes": files.total_bytes})
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=UniversalModelWrapper(batch_size=batch_size),
                artifacts={MANIFEST_ARTIFACT: str(manifest_path)},
                signature=signature,
                input_example=example,
                pip_requirements=_pip_requirements(provider),
                code_paths=[str(Path(__file__).resolve().parent)],
            )
    logged = LoggedModel(KIND, run.info.run_id, info.model_uri, tags=tags)
    return finish_logging(logged, register_as, alias)
