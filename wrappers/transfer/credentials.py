"""Where the stores are and who we are to them: Azure and S3 credentials from the environment.

The variables keep the names the SDKs, MLflow and the compose stack already use (no prefix),
so one ``.env`` serves MLflow's artifact repositories and these transfers alike. Read each time
a store is opened, never at import.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from wrappers.settings import EnvSettings

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
ACCESS_KEY_ENV = "AZURE_STORAGE_ACCESS_KEY"  # the name MLflow's Azure artifact repo reads
SAS_TOKEN_ENV = "AZURE_STORAGE_SAS_TOKEN"


class AzureCredentials(EnvSettings):
    """How to reach an Azure storage account: a connection string, an account key or a SAS.

    None set: ``wasbs://`` URIs fall back to azure-identity (managed identity, az login).
    """

    component: ClassVar[str] = "Azure storage credential"

    connection_string: SecretStr | None = Field(
        default=None, validation_alias=CONNECTION_STRING_ENV,
        examples=["DefaultEndpointsProtocol=https;AccountName=NAME;AccountKey=KEY;"
                  "EndpointSuffix=core.windows.net"])
    """Account name, key and endpoint in one string; the only way azure:// URIs name their
    account."""

    access_key: SecretStr | None = Field(default=None, validation_alias=ACCESS_KEY_ENV)
    """Account key for wasbs://CONTAINER@ACCOUNT.blob.core.windows.net URIs."""

    sas_token: SecretStr | None = Field(default=None, validation_alias=SAS_TOKEN_ENV)
    """Shared access signature for wasbs:// URIs, used when no account key is set."""


class S3Credentials(EnvSettings):
    """Which S3 endpoint (AWS, MinIO, s3rver) and which keys.

    Keys left unset fall back to boto3's own chain (shared config files, instance roles).
    """

    component: ClassVar[str] = "S3 credential"

    mlflow_s3_endpoint_url: str | None = Field(
        default=None, validation_alias="MLFLOW_S3_ENDPOINT_URL",
        examples=["http://127.0.0.1:9000"])
    """S3 endpoint of MinIO or another stand-in (unset: AWS); buckets are then addressed by
    path. Wins over AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL."""

    aws_endpoint_url_s3: str | None = Field(
        default=None, validation_alias="AWS_ENDPOINT_URL_S3", examples=["http://127.0.0.1:9000"])
    """S3 endpoint, the AWS SDKs' name for it; used when MLFLOW_S3_ENDPOINT_URL is unset."""

    aws_endpoint_url: str | None = Field(
        default=None, validation_alias="AWS_ENDPOINT_URL", examples=["http://127.0.0.1:9000"])
    """Endpoint for every AWS service; used when neither S3-specific variable is set."""

    region: str = Field(default="us-east-1", validation_alias="AWS_DEFAULT_REGION")
    """Region requests are signed for."""

    access_key_id: str | None = Field(default=None, validation_alias="AWS_ACCESS_KEY_ID")
    """Access key id (the compose stack: MINIO_ROOT_USER)."""

    secret_access_key: SecretStr | None = Field(default=None,
                                                validation_alias="AWS_SECRET_ACCESS_KEY")
    """Secret access key (the compose stack: MINIO_ROOT_PASSWORD)."""

    session_token: SecretStr | None = Field(default=None, validation_alias="AWS_SESSION_TOKEN")
    """Session token of temporary credentials."""

    @field_validator("mlflow_s3_endpoint_url", "aws_endpoint_url_s3", "aws_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def endpoint_url(self) -> str | None:
        """The S3 endpoint to use, None for AWS itself."""
        return self.mlflow_s3_endpoint_url or self.aws_endpoint_url_s3 or self.aws_endpoint_url

    def boto3_keys(self) -> dict[str, str]:
        """Explicit keys for ``boto3.client``; empty when boto3 should find its own."""
        if not (self.access_key_id and self.secret_access_key):
            return {}
        keys = {"aws_access_key_id": self.access_key_id,
                "aws_secret_access_key": self.secret_access_key.get_secret_value()}
        if self.session_token:
            keys["aws_session_token"] = self.session_token.get_secret_value()
        return keys
