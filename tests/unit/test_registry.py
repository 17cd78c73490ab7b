import mlflow
import pytest

from wrappers import registry, wine
from wrappers.errors import AliasNotFound, ModelNotFound, NoRollbackTarget


@pytest.fixture
def three_versions(tracking_uri):
    fit = wine.train_wine()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(fit.model, name="model")
    for _ in range(3):
        registry.register(info.model_uri, "wine")
    return "wine"


def test_promote_then_rollback_round_trip(three_versions):
    name = three_versions
    registry.set_alias(name, "production", 1)
    registry.set_alias(name, "staging", 2)
    assert registry.promote(name) == "2"
    assert registry.aliases_of(name) == {"production": "2", "staging": "2"}

    registry.set_alias(name, "staging", 3)
    assert registry.promote(name) == "3"
    assert registry.rollback(name) == "2"
    assert registry.rollback(name) == "1"
    assert registry.aliases_of(name)["production"] == "1"
    with pytest.raises(NoRollbackTarget, match="nothing to roll back to"):
        registry.rollback(name)


def test_delete_missing_alias_names_model_alias_and_fix(three_versions):
    registry.set_alias(three_versions, "production", 1)
    with pytest.raises(AliasNotFound) as err:
        registry.delete_alias(three_versions, "staging")
    msg = str(err.value)
    assert "alias 'staging' not set on model 'wine'" in msg
    assert "production→v1" in msg
    assert "set-alias wine VERSION staging" in msg
    assert registry.delete_alias(three_versions, "production") == "1"
    assert registry.aliases_of(three_versions) == {}


def test_promote_without_staging_alias_fails_clearly(three_versions):
    with pytest.raises(AliasNotFound, match="alias 'staging' not set on model 'wine'"):
        registry.promote(three_versions)


def test_unknown_model_lists_known_ones(three_versions):
    with pytest.raises(ModelNotFound, match=r"'wyne' does not exist \(known models: wine\)"):
        registry.aliases_of("wyne")


def test_list_models_shows_aliases_and_latest(three_versions):
    registry.set_alias(three_versions, "production", 3)
    [summary] = registry.list_models()
    assert summary.name == "wine"
    assert summary.aliases == {"production": "3"}
    assert summary.latest_version == "3"


def test_nothing_to_roll_back_cites_the_set_alias_command(three_versions):
    registry.set_alias(three_versions, "production", 1)
    with pytest.raises(NoRollbackTarget) as err:
        registry.rollback(three_versions)
    assert "`python scripts/registry.py set-alias wine VERSION production`" in str(err.value)
