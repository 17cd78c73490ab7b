"""Where UniversalModelWrapper keeps the model files it downloads, and where
``scripts/save_universal.py`` uploads new ones: ``UNIVERSAL_MODEL_*`` variables, and the standard
ones they fall back to. Read with ``UniversalSettings.load()`` at the moment of use.

Store credentials are not here: the transfers read them (:mod:`wrappers.transfer`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wrappers.settings import EnvSettings


class UniversalSettings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="UNIVERSAL_MODEL_")
    component = "universal model"

    cache: Path | None = Field(default=None, examples=["/var/cache/universal-models"])
    """Directory of the local content-addressed cache of model files, shared by every process
    on the host (serving containers keep it on a named volume). Default:
    $XDG_CACHE_HOME/mlops-stack/universal-models, else ~/.cache/mlops-stack/universal-models."""

    xdg_cache_home: Path | None = Field(default=None, validation_alias="XDG_CACHE_HOME")
    """The user's cache directory (XDG base directory spec); default ~/.cache."""

    storage: str | None = Field(default=None, examples=["s3://models/universal"])
    """Where scripts/save_universal.py uploads when --storage is not given:
    azure://CONTAINER/PREFIX, wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PREFIX or
    s3://BUCKET/PREFIX."""

    azure_storage_container: str | None = Field(default=None,
                                                validation_alias="AZURE_STORAGE_CONTAINER")
    """The compose stack's Azure container: without UNIVERSAL_MODEL_STORAGE,
    scripts/save_universal.py uploads to azure://CONTAINER/universal."""

    @property
    def cache_dir(self) -> Path:
        """The cache directory these settings give."""
        if self.cache:
            return self.cache
        return (self.xdg_cache_home or Path.home() / ".cache") / "mlops-stack" / \
            "universal-models"

    @property
    def default_storage(self) -> str | None:
        """The storage URI scripts/save_universal.py uses without --storage, if any."""
        if self.storage:
            return self.storage
        if self.azure_storage_container:
            return f"azure://{self.azure_storage_container}/universal"
        return None
