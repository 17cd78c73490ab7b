"""The interface every provider implements, the tasks, and what the runners share."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd

from wrappers.universal.manifest import ModelManifest

TEXT_CLASSIFICATION = "text-classification"
TABULAR_TASKS = ("tabular-regression", "tabular-classification")


class Runner(Protocol):
    """A loaded model behind UniversalModelWrapper.predict."""

    def predict(self, model_input, params=None) -> pd.DataFrame: ...


class Provider:
    """One model framework: which tasks it serves, which files hold a model, what a process
    needs installed to run it, how an in-memory model becomes files (:meth:`export`) and how
    files become a :class:`Runner` (:meth:`runner`).

    Subclasses set the class attributes and implement :meth:`serialize` and :meth:`runner`
    (or override :meth:`export`, as huggingface does).
    """

    name: ClassVar[str]
    """The canonical name, recorded in manifests: never change it."""
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other spellings accepted as ``model_provider`` (``torch`` for ``pytorch``)."""
    tasks: ClassVar[tuple[str, ...]]
    weights_file: ClassVar[str | None] = None
    """The file :meth:`export` writes, and a directory given as ``model_name`` must hold."""
    requirements: ClassVar[tuple[str, ...]] = ()
    """Distributions the runner imports, pinned into the logged model's pip requirements."""

    def export(self, model_name: str, model, out_dir: Path, input_example=None) -> Path:
        """Local files for the model: a directory to upload as is.

        ``model_name`` is a file or directory holding :attr:`weights_file`; ``model`` an
        in-memory model, serialized with :meth:`serialize` instead.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        if model is not None:
            self.serialize(model, out_dir, input_example)
            return out_dir
        source = Path(model_name)
        if source.is_dir():
            if not (source / self.weights_file).exists():
                raise ValueError(f"{source} has no {self.weights_file} for a {self.name} model")
            return source
        if not source.is_file():
            raise ValueError(f"{model_name} is neither a file nor a directory; pass the "
                             f"{self.name} model object as model=...")
        shutil.copyfile(source, out_dir / self.weights_file)
        return out_dir

    def serialize(self, model, out_dir: Path, input_example=None) -> None:
        """Write an in-memory ``model`` to ``out_dir`` (:attr:`weights_file` and any labels)."""
        raise NotImplementedError(f"{self.name} models are saved from files, not objects")

    def runner(self, root: Path, manifest: ModelManifest, batch_size: int) -> Runner:
        """The model in ``root`` (exported, or materialized from the cache), ready to predict."""
        raise NotImplementedError


def artifacts_context(**artifacts: str) -> SimpleNamespace:
    """What a kind's pyfunc ``load_context`` reads (``context.artifacts``), for reusing those
    pyfuncs as runners."""
    return SimpleNamespace(artifacts=artifacts)


def tabular_matrix(model_input, feature_names: list[str] | None) -> np.ndarray:
    """Rows × features as float64: a DataFrame's columns in ``feature_names`` order (as given
    if None), or any array-like, one row per item."""
    if isinstance(model_input, pd.DataFrame):
        frame = model_input[feature_names] if feature_names else model_input
        return frame.to_numpy(dtype=np.float64)
    return np.asarray(model_input, dtype=np.float64).reshape(len(model_input), -1)
