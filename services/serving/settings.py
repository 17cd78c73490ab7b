"""Settings of a serving container: environment variables `SERVING_*` (docker-compose.yml).

Only SERVING_MODEL_NAME is required; every other default serves `NAME@production` on port 8080
with the fast engine and one worker per CPU. This is the only module of services/serving that
reads the environment; what the serving processes set for their children is computed here too
(:meth:`ServingSettings.child_environment`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator

from services.serving.engines import ENGINES
from wrappers.settings import EnvSettings

# The valid values are the registry's names, so an engine added there is accepted here.
EngineName = Literal[tuple(ENGINES)]  # type: ignore[valid-type]
Batching = Literal["auto", "on", "off"]

# Sized before any worker imports numpy/torch/onnxruntime, so each sizes its thread pools to
# its share of the CPUs.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "ONNX_INTRA_OP_THREADS")


def cpu_count() -> int:
    # sched_getaffinity honours `docker run --cpuset-cpus`; cpu_count() would not.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class ServingSettings(EnvSettings):
    # EnvSettings: frozen, empty = default (compose passes `SERVING_WORKERS: ${...:-}`).
    model_config = {**EnvSettings.model_config, "env_prefix": "SERVING_"}
    component = "serving"
    where = "in the service's environment (docker-compose.yml)"

    model_name: str = Field(min_length=1, examples=["wine"])
    """Registered model to serve, e.g. `wine` (required)."""

    model_alias: str = Field(default="production", examples=["production"])
    """Alias to serve and follow: when it moves to another version, that version is loaded,
    warmed up and switched to without failing a request."""

    engine: EngineName = "fast"
    """`fast`: the model in-process behind a minimal ASGI app (MLflow's scoring protocol,
    exact fast paths for sklearn/ONNX, hot swap). `mlflow`: `mlflow models serve
    --env-manager local` children behind a switchable proxy."""

    host: str = "0.0.0.0"
    """Address to listen on."""

    port: int = Field(default=8080, ge=1, le=65535)
    """Port to listen on (container-internal; compose publishes it)."""

    workers: int = Field(default_factory=cpu_count, ge=1)
    """Worker processes: fast engine — processes sharing the listening socket, each with its
    own copy of the model; mlflow engine — `mlflow models serve --workers`. Default: one per
    CPU available to the container."""

    threads_per_worker: int | None = Field(default=None, ge=1)
    """Intra-op threads per worker for torch / onnxruntime / BLAS (OMP_NUM_THREADS,
    ONNX_INTRA_OP_THREADS). Default: CPUs / workers, at least 1 — more would oversubscribe."""

    poll_interval: float = Field(default=5.0, gt=0)
    """Seconds between registry lookups of the alias (and between retries while the tracking
    server is down or the alias is not set yet)."""

    batching: Batching = "auto"
    """Micro-batching of concurrent requests into one predict call (pyfunc models such as text
    classifiers). `auto`: on when, at load, batched predictions are bit-identical to one
    request at a time and batching is measurably cheaper per row; `on`: always (results may
    differ in the last bits from `mlflow models serve`, e.g. torch); `off`: never."""

    max_batch_size: int = Field(default=32, ge=1)
    """Upper bound on rows per batched predict call."""

    max_batch_wait_ms: float = Field(default=0.0, ge=0)
    """How long a batch may wait for more requests once the model is idle. 0 = never wait:
    batches form only from requests that queue while the previous batch runs, so a lone
    request pays no added latency."""

    request_timeout: float = Field(
        default=60.0, gt=0,
        validation_alias=AliasChoices("SERVING_REQUEST_TIMEOUT",
                                      "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"),
    )
    """Seconds a prediction may take before the answer is 504, as in `mlflow models serve`
    (whose variable MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT is honoured too)."""

    load_timeout: float = Field(default=600.0, gt=0)
    """Seconds a new version may take to download, load and warm up before the switch is
    abandoned (the current version keeps serving; retried later)."""

    graceful_timeout: float = Field(default=30.0, ge=0)
    """On SIGTERM: seconds in-flight requests get to finish before workers are killed."""

    model_dir: Path | None = None
    """Where model versions are downloaded (one folder per version, removed when retired).
    Default: a fresh temporary directory."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the serving processes."""

    tracking_uri: str = Field(
        default="http://mlflow:5000",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "SERVING_TRACKING_URI"),
    )
    """MLflow tracking/registry server (MLFLOW_TRACKING_URI); the compose service by
    default."""

    @field_validator("model_name", "model_alias")
    @classmethod
    def _no_slashes(cls, value: str) -> str:
        if "/" in value or "@" in value:
            # The shared error format appends the variable and an example (`=wine`).
            raise ValueError(f"{value!r} contains '/' or '@': give the bare name and alias "
                             "in their own variables")
        return value

    @property
    def alias_uri(self) -> str:
        return f"models:/{self.model_name}@{self.model_alias}"

    @property
    def intra_op_threads(self) -> int:
        return self.threads_per_worker or max(1, cpu_count() // self.workers)

    def child_environment(self) -> dict[str, str]:
        """Variables the supervisor sets in its own environment before it starts workers (which
        inherit it): thread pool sizes, quiet downloads, the registry, fail-fast HTTP. A thread
        or HTTP variable already set by the user wins."""
        from services.serving.alias import FAIL_FAST_HTTP

        threads = str(self.intra_op_threads)
        defaults = {**dict.fromkeys(THREAD_VARIABLES, threads),
                    "TOKENIZERS_PARALLELISM": "false",
                    # A progress bar per download is noise in container logs.
                    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
                    **FAIL_FAST_HTTP}
        wanted = {k: v for k, v in defaults.items() if k not in os.environ}
        wanted["MLFLOW_TRACKING_URI"] = self.tracking_uri
        # `mlflow models serve` execs `uvicorn` from PATH: the one next to this interpreter.
        bindir = os.path.dirname(sys.executable)
        path = os.environ.get("PATH", "")
        if bindir not in path.split(os.pathsep):
            wanted["PATH"] = bindir + os.pathsep + path
        return wanted


def inherited_environment(**changes: str | None) -> dict[str, str]:
    """This process's environment with ``changes`` applied (None removes a variable), for a
    child that must inherit the rest (`mlflow models serve`: the registry, thread sizes)."""
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
