"""Settings of the one-shot init job, all from the environment (see .env.example)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class InitSettings:
    s3_endpoint_url: str = field(default_factory=lambda: _env("MLFLOW_S3_ENDPOINT_URL",
                                                              "http://minio:9000"))
    """S3 endpoint as seen from inside the compose network."""
    s3_bucket: str = field(default_factory=lambda: _env("MLFLOW_S3_BUCKET", "mlflow"))
    """Bucket the MLflow server proxies artifacts to."""
    aws_access_key_id: str = field(default_factory=lambda: _env("AWS_ACCESS_KEY_ID", ""))
    aws_secret_access_key: str = field(default_factory=lambda: _env("AWS_SECRET_ACCESS_KEY", ""))
    azure_connection_string: str = field(
        default_factory=lambda: _env("AZURE_STORAGE_CONNECTION_STRING", "")
    )
    """Connection string with BlobEndpoint=http://azurite:10000/devstoreaccount1."""
    azure_container: str = field(default_factory=lambda: _env("AZURE_STORAGE_CONTAINER",
                                                              "mlflow"))
    """Container holding the artifacts of Azure-backed experiments and large model weights."""
    wait_seconds: float = field(default_factory=lambda: float(_env("INIT_WAIT_SECONDS", "120")))
    """How long to wait for each store to answer before giving up."""
