"""Settings of the one-shot init job, all from the environment (docker-compose.yml, .env).

The store variables keep the names the MLflow server and the SDKs read (no prefix), so one
``.env`` configures both; only the job's own knob is INIT_*.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from wrappers.settings import EnvSettings


class InitSettings(EnvSettings):
    """Which bucket and container to create, where, and how long to wait for the stores."""

    model_config = SettingsConfigDict(env_prefix="INIT_")
    component: ClassVar[str] = "init"
    where: ClassVar[str] = "in .env (docker compose passes them to the init service)"

    s3_endpoint_url: str = Field(default="http://minio:9000",
                                 validation_alias="MLFLOW_S3_ENDPOINT_URL",
                                 pattern=r"^https?://", examples=["http://minio:9000"])
    """S3 endpoint as seen from inside the compose network."""

    s3_bucket: str = Field(default="mlflow", validation_alias="MLFLOW_S3_BUCKET", min_length=3)
    """Bucket the MLflow server proxies artifacts to."""

    aws_access_key_id: str = Field(default="", validation_alias="AWS_ACCESS_KEY_ID")
    """Access key for the S3 endpoint (the compose stack: MINIO_ROOT_USER)."""

    aws_secret_access_key: SecretStr = Field(default=SecretStr(""),
                                             validation_alias="AWS_SECRET_ACCESS_KEY")
    """Secret key for the S3 endpoint (the compose stack: MINIO_ROOT_PASSWORD)."""

    azure_connection_string: SecretStr | None = Field(
        default=None, validation_alias="AZURE_STORAGE_CONNECTION_STRING")
    """Connection string with BlobEndpoint=http://azurite:10000/devstoreaccount1; unset skips
    the Azure container."""

    azure_container: str = Field(default="mlflow", validation_alias="AZURE_STORAGE_CONTAINER",
                                 min_length=3)
    """Container holding the artifacts of Azure-backed experiments and large model weights."""

    wait_seconds: float = Field(default=120.0, gt=0, examples=[120])
    """How long to wait for each store to answer before giving up."""
