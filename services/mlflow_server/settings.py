"""Settings of the MLflow server app (services/mlflow_server/app.py), from the environment."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from wrappers.settings import EnvSettings


class MlflowServerSettings(EnvSettings):
    """What the ``mlops-stack`` app changes in MLflow's answers."""

    component: ClassVar[str] = "mlflow server"

    advertise_direct_transfers: bool = Field(
        default=False, validation_alias="MLFLOW_ADVERTISE_DIRECT_TRANSFERS", examples=["true"])
    """Let /server-info advertise multipart (presigned, direct-to-S3) transfers. Only when
    every client can reach the S3 endpoint the server knows (http://minio:9000 cannot be
    resolved from the host)."""
