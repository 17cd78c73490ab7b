"""ElasticNet on the UCI red-wine quality data (shipped in wrappers/data, CC BY 4.0)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from wrappers.base import LoggedModel, file_sha256, log_run, pinned, provenance_tags

KIND = "wine"
TARGET = "quality"
# Exactly as in the CSV header, spaces included: served models accept these names unchanged.
FEATURES = [
    "fixed acidity",
    "volatile acidity",
    "citric acid",
    "residual sugar",
    "chlorides",
    "free sulfur dioxide",
    "total sulfur dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
]


def data_path() -> str:
    return str(resources.files("wrappers") / "data" / "winequality-red.csv")


def load_wine_data() -> pd.DataFrame:
    df = pd.read_csv(data_path(), sep=";")
    df[FEATURES] = df[FEATURES].astype("float64")
    return df


@dataclass
class WineFit:
    model: object
    metrics: dict[str, float]
    params: dict[str, float]
    x_test: pd.DataFrame
    y_test: pd.Series


def train_wine(alpha: float = 0.5, l1_ratio: float = 0.5, seed: int = 42) -> WineFit:
    """Fit on 75% of the rows; metrics (rmse, mae, r2) on the held-out 25%."""
    from sklearn.linear_model import ElasticNet
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split

    df = load_wine_data()
    train, test = train_test_split(df, test_size=0.25, random_state=seed)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed)
    model.fit(train[FEATURES], train[TARGET])
    pred = model.predict(test[FEATURES])
    metrics = {
        "rmse": float(np.sqrt(mean_squared_error(test[TARGET], pred))),
        "mae": float(mean_absolute_error(test[TARGET], pred)),
        "r2": float(r2_score(test[TARGET], pred)),
    }
    params = {"alpha": alpha, "l1_ratio": l1_ratio, "seed": seed}
    return WineFit(model, metrics, params, test[FEATURES], test[TARGET])


def signature():
    from mlflow.models import infer_signature

    example = load_wine_data()[FEATURES].head(5)
    return infer_signature(example, np.zeros(len(example)))


def log_model(
    alpha: float = 0.5,
    l1_ratio: float = 0.5,
    seed: int = 42,
    register_as: str | None = None,
    alias: str | None = None,
    experiment: str | None = "wine",
) -> LoggedModel:
    """Train, log params/metrics/model in a new run, optionally register and alias it."""
    import mlflow

    fit = train_wine(alpha, l1_ratio, seed)
    return log_run(
        KIND,
        lambda: mlflow.sklearn.log_model(
            fit.model,
            name="model",
            signature=signature(),
            input_example=fit.x_test.head(2),
            pip_requirements=pinned("scikit-learn", "skops", "numpy", "pandas", "mlflow"),
        ),
        run_name=f"wine-elasticnet-a{alpha}-l{l1_ratio}",
        experiment=experiment,
        tags=provenance_tags(KIND, file_sha256(data_path())),
        params=fit.params,
        metrics=fit.metrics,
        register_as=register_as,
        alias=alias,
    )
