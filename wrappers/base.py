"""The interface every model-kind module follows, and what they share: the logging tail
(:func:`log_run`, :func:`log_pyfunc`), provenance tags, checksums, pinned requirements, the
class probabilities of a classifier's logits."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from wrappers.errors import MissingDependency

#: What ``code_paths`` ships with every pyfunc: the whole package, so a model loaded where
#: ``wrappers`` is not installed still finds the module its PythonModel was pickled from.
PACKAGE_DIR = Path(__file__).resolve().parent

# Tags put on every registered model version so a version says what produced it.
TAG_KIND = "wrappers.kind"
TAG_DATA_SHA256 = "wrappers.data_sha256"
TAG_GIT_SHA = "wrappers.git_sha"


@dataclass(frozen=True)
class LoggedModel:
    """What ``log_model`` of every kind returns."""

    kind: str
    run_id: str
    model_uri: str  # models:/m-<id>, the logged model (MLflow 3)
    registered_name: str | None = None
    version: str | None = None
    alias: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def alias_uri(self) -> str | None:
        if self.registered_name and self.alias:
            return f"models:/{self.registered_name}@{self.alias}"
        return None


def require(module: str, extra: str):
    """Import a heavy framework, or fail with the pip command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module, extra) from exc


def pinned(*dists: str) -> list[str]:
    """``name==installed-version`` for each distribution, for explicit pip_requirements."""
    out = []
    for dist in dists:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out.append(dist)
            continue
        # torch's local CPU build ("2.13.0+cpu") is not on PyPI under that name.
        out.append(f"{dist}=={version.split('+')[0]}")
    return out


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def dir_sha256(path: str | os.PathLike) -> str:
    """Checksum of a directory tree: relative paths and file contents, in sorted order."""
    root = Path(path)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode())
        h.update(file_sha256(f).encode())
    return h.hexdigest()


def git_sha() -> str | None:
    """The commit the code was run from: $GIT_SHA (set in images), else `git rev-parse`."""
    from wrappers.model_settings import ProvenanceSettings

    if sha := ProvenanceSettings.load().git_sha:
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=PACKAGE_DIR,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance_tags(kind: str, data_sha256: str | None = None) -> dict[str, str]:
    tags = {TAG_KIND: kind}
    if data_sha256:
        tags[TAG_DATA_SHA256] = data_sha256
    if sha := git_sha():
        tags[TAG_GIT_SHA] = sha
    return tags


def top_class(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a classifier's logits: the most likely class index and its softmax
    probability."""
    z = logits - logits.max(axis=1, keepdims=True)  # exp of large logits would overflow
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    best = probs.argmax(axis=1)
    return best, probs[np.arange(len(best)), best]


# --- the logging tail every kind shares ---------------------------------------------------


def log_pyfunc(python_model, *, artifacts: dict[str, str], signature, input_example,
               requirements: Iterable[str]):
    """``mlflow.pyfunc.log_model`` as every kind calls it: artifact path ``model``, pinned
    ``requirements`` and this package as code; returns MLflow's ModelInfo."""
    import mlflow

    return mlflow.pyfunc.log_model(
        name="model",
        python_model=python_model,
        artifacts=artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=pinned(*requirements),
        code_paths=[str(PACKAGE_DIR)],
    )


def log_run(
    kind: str,
    log_model: Callable[[], Any],
    *,
    run_name: str,
    experiment: str | None,
    tags: dict[str, str],
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    register_as: str | None = None,
    alias: str | None = None,
) -> LoggedModel:
    """One run that logs a model, then the registration: what every ``log_model`` ends with.

    ``log_model`` is called inside the run (after tags, params and metrics) and returns the
    ModelInfo of the flavor it logs. With ``register_as`` the model becomes a new version of
    that registered model, tagged with ``tags``; ``alias`` then points at that version.
    """
    import mlflow

    if alias and not register_as:
        # Before the run: a flag mistake should not leave an orphan run behind.
        raise ValueError("--alias needs --register NAME: aliases belong to registered models")
    if experiment:
        mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags(tags)
        if params:
            mlflow.log_params(params)
        if metrics:
            mlflow.log_metrics(metrics)
        info = log_model()
    logged = LoggedModel(kind, run.info.run_id, info.model_uri, metrics=metrics or {},
                         tags=tags)
    if not register_as:
        return logged
    from wrappers import registry

    version = registry.register(logged.model_uri, register_as, tags=tags)
    if alias:
        registry.set_alias(register_as, alias, version)
    return replace(logged, registered_name=register_as, version=version, alias=alias)
