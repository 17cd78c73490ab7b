"""The MLflow server app's one setting: off by default, the usual boolean spellings, and a bad
value that stops the server naming the variable."""

from __future__ import annotations

import pytest

from services.mlflow_server.settings import MlflowServerSettings
from wrappers.settings import SettingsInvalid

VARIABLE = "MLFLOW_ADVERTISE_DIRECT_TRANSFERS"


@pytest.mark.parametrize("value, expected", [
    (None, False), ("", False), ("false", False), ("0", False),
    ("true", True), ("1", True), ("yes", True), ("TRUE", True),
])
def test_direct_transfers_are_hidden_unless_asked_for(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(VARIABLE, raising=False)
    else:
        monkeypatch.setenv(VARIABLE, value)
    assert MlflowServerSettings.load().advertise_direct_transfers is expected


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv(VARIABLE, "sometimes")
    with pytest.raises(SettingsInvalid) as err:
        MlflowServerSettings.load()
    assert f"{VARIABLE}='sometimes'" in str(err.value)
    assert "boolean" in str(err.value)
