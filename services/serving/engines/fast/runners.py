"""Numeric fast paths: the float64 matrix from parsing.py → the model → the response body.

One runner per flavor whose prediction is a pure function of that matrix:

- ``sklearn-linear``: ``x @ coef_ + intercept_``, the line sklearn's LinearModel.predict runs
  after validating its input (which the parser has done), for linear regressors;
- ``sklearn``: the estimator's own ``predict`` on the matrix (what MLflow's sklearn flavor
  calls after converting the DataFrame — the same array, so the same bits);
- ``onnx``: the onnxruntime session of a pyfunc python model that declares the
  :class:`OnnxTabular` contract (``serving_fast_path = "onnx-tabular"``, e.g.
  ``wrappers.onnx``'s tabular model);
- ``pyfunc-frame``: any other model with an all-double signature gets a DataFrame built
  straight from the matrix and MLflow's ``predict`` (schema enforcement included) — only the
  JSON → DataFrame parsing is skipped.

A runner is used only after ``model.py`` (``_choose_runner``) found its answers byte-identical
to MLflow's own handler for synthetic requests of several sizes and formats.
"""

from __future__ import annotations

import json
import warnings
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from services.serving.asgi import Reply
from services.serving.engines.fast.parsing import NumericColumns
from services.serving.engines.fast.protocols.mlflow_scoring import (
    predict_like_mlflow,
    predictions_reply,
)

# sklearn warns on every predict from an array when it was fitted on a DataFrame; the array's
# columns are in the signature's order, which the load-time check compared with the estimator.
warnings.filterwarnings("ignore", message="X does not have valid feature names",
                        category=UserWarning)


def _ndarray_reply(pred) -> Reply:
    # Same text as MLflow's json.dump(..., cls=NumpyEncoder) of ndarray.tolist(), via the C
    # encoder. The load-time check compares the two.
    if isinstance(pred, np.ndarray) and pred.dtype.kind in "fiub":
        if pred.ndim == 1 and pred.dtype.kind == "f":
            return _floats_reply(pred.tolist())
        return Reply(200, json.dumps({"predictions": pred.tolist()}).encode())
    return predictions_reply(pred)


def _floats_reply(values: list[float]) -> Reply:
    """``json.dumps({"predictions": values})`` for a flat list of floats, without the encoder's
    set-up: json writes a finite float as ``float.__repr__``, which never contains an "n"
    (``nan``, ``inf`` do; json spells those NaN/Infinity, so they take json.dumps)."""
    text = ", ".join(map(float.__repr__, values))
    if "n" in text:
        return Reply(200, json.dumps({"predictions": values}).encode())
    return Reply(200, b'{"predictions": [' + text.encode() + b"]}")


def _float_reply(value: float) -> Reply:
    """``_floats_reply([value])`` for one float, without the list, map and join."""
    text = value.__repr__()
    if "n" in text:
        return Reply(200, json.dumps({"predictions": [value]}).encode())
    return Reply(200, b'{"predictions": [' + text.encode() + b"]}")


class SklearnLinearRunner:
    name = "sklearn-linear"

    def __init__(self, estimator):
        self._coef = estimator.coef_ if estimator.coef_.ndim == 1 else estimator.coef_.T
        self._intercept = estimator.intercept_
        # One target: a one-row prediction is one float, and a Python float addition is the
        # same IEEE double addition numpy's would be — without two array round trips.
        self._one_target = self._coef.ndim == 1 and np.ndim(self._intercept) == 0
        self._intercept_float = float(self._intercept) if self._one_target else 0.0

    def reply(self, x: np.ndarray) -> Reply:
        if self._one_target and x.shape[0] == 1:
            return _float_reply((x @ self._coef).item() + self._intercept_float)
        return _ndarray_reply(x @ self._coef + self._intercept)


# predict / _decision_function implementations whose dense branch is exactly
# `X @ coef_ (.T) + intercept_` (sklearn 1.9); subclasses overriding them are not matched.
_LINEAR_PREDICT = {"LinearModel.predict", "MultiOutputLinearModel.predict"}
_LINEAR_DECISION = {"LinearModel._decision_function", "ElasticNet._decision_function"}


def _is_dense_linear_regressor(estimator, method: str) -> bool:
    from sklearn.linear_model._base import LinearModel

    cls = type(estimator)
    return (method == "predict" and isinstance(estimator, LinearModel)
            and cls.predict.__qualname__ in _LINEAR_PREDICT
            and cls._decision_function.__qualname__ in _LINEAR_DECISION
            and isinstance(getattr(estimator, "coef_", None), np.ndarray)
            and estimator.coef_.ndim in (1, 2))


class SklearnRunner:
    name = "sklearn"

    def __init__(self, estimator, method: str):
        import sklearn

        self._predict = getattr(estimator, method)
        # Finiteness is checked by the parser; skipping sklearn's re-checks is thread-local
        # (config_context), so MLflow's path keeps them for the inputs it handles.
        self._config = sklearn.config_context

    def reply(self, x: np.ndarray) -> Reply:
        with self._config(assume_finite=True, skip_parameter_validation=True):
            return _ndarray_reply(self._predict(x))


ONNX_TABULAR = "onnx-tabular"


@runtime_checkable
class OnnxTabular(Protocol):
    """What a pyfunc ``python_model`` declares to get the ``onnx`` fast path.

    The contract (kept by ``wrappers/onnx.py``; any other model may keep it too): the class
    attribute ``serving_fast_path = "onnx-tabular"``; ``session``, an onnxruntime
    InferenceSession; ``input_name``, its one float64 input; ``feature_names``, the columns in
    the order the session takes them. Its ``predict`` is exactly
    ``session.run(None, {input_name: x})[0].reshape(-1)`` with ``x`` the float64 matrix of
    ``feature_names``. A declared model is still checked against MLflow's own handler at load,
    so a model that breaks the contract only loses the fast path.
    """

    serving_fast_path: ClassVar[str]
    session: object
    input_name: str
    feature_names: list[str]


def declares_onnx_tabular(python_model) -> bool:
    """The model declares the contract (by attribute, not by class name: renames are safe)."""
    return getattr(python_model, "serving_fast_path", None) == ONNX_TABULAR


class OnnxTabularRunner:
    name = "onnx"

    def __init__(self, python_model: OnnxTabular, columns: NumericColumns):
        self._run = python_model.session.run
        self._input = python_model.input_name
        features = list(python_model.feature_names)
        # Reorder only when the model's feature order differs from the signature's.
        self._order = None if tuple(features) == columns.names else \
            [columns.position[f] for f in features]

    def reply(self, x: np.ndarray) -> Reply:
        if self._order is not None:
            x = x[:, self._order]
        # The OnnxTabular contract's predict: session.run(...)[0].reshape(-1).
        return _ndarray_reply(self._run(None, {self._input: x})[0].reshape(-1))


class PyfuncFrameRunner:
    name = "pyfunc-frame"

    def __init__(self, pyfunc, columns: NumericColumns, takes_params: bool):
        import pandas as pd

        self._frame = pd.DataFrame
        self._pyfunc = pyfunc
        self._names = list(columns.names)
        self._takes_params = takes_params

    def reply(self, x: np.ndarray) -> Reply:
        frame = self._frame(x, columns=self._names, copy=False)
        return predictions_reply(predict_like_mlflow(self._pyfunc, frame, None,
                                                     self._takes_params))


def numeric_runners(pyfunc, columns: NumericColumns, takes_params: bool) -> list:
    """Candidate runners for ``pyfunc``, fastest first (the load-time check takes the first
    whose answers are MLflow's)."""
    candidates: list = []
    impl = pyfunc._model_impl
    flavors = pyfunc.metadata.flavors
    method = flavors.get("python_function", {}).get("predict_fn", "predict")
    if "sklearn" in flavors and hasattr(impl, "sklearn_model"):
        estimator = impl.sklearn_model
        fitted_names = getattr(estimator, "feature_names_in_", None)
        if fitted_names is None or tuple(fitted_names) == columns.names:
            if _is_dense_linear_regressor(estimator, method):
                candidates.append(SklearnLinearRunner(estimator))
            candidates.append(SklearnRunner(estimator, method))
    python_model = getattr(impl, "python_model", None)
    if declares_onnx_tabular(python_model) and \
            set(getattr(python_model, "feature_names", ())) == columns.name_set:
        candidates.append(OnnxTabularRunner(python_model, columns))
    candidates.append(PyfuncFrameRunner(pyfunc, columns, takes_params))
    return candidates
