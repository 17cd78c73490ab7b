import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from wrappers import wine


def test_misspelt_column_is_rejected_naming_it(tracking_uri):
    logged = wine.log_model(register_as="wine", alias="production")
    model = mlflow.pyfunc.load_model(logged.alias_uri)
    row = wine.load_wine_data()[wine.FEATURES].head(1).rename(columns={"alcohol": "alcohool"})
    with pytest.raises(MlflowException) as err:
        model.predict(row)
    assert "alcohol" in str(err.value) and "alcohool" in str(err.value)


def test_string_in_numeric_column_is_rejected(tracking_uri):
    logged = wine.log_model(register_as="wine", alias="production")
    model = mlflow.pyfunc.load_model(logged.alias_uri)
    row = wine.load_wine_data()[wine.FEATURES].head(1).astype(object)
    row.loc[row.index[0], "pH"] = "acidic"
    with pytest.raises(MlflowException, match="pH"):
        model.predict(pd.DataFrame(row))
