"""Settings of the model kinds: how onnxruntime sessions run (``ONNX_*``) and which commit a
logged model is tagged with (``GIT_SHA``). The universal models' cache and default storage have
their own: :mod:`wrappers.universal.settings`.

Read with ``.load()`` when needed (a session is built, a model is logged), not at import: the
serving supervisor sets ONNX_INTRA_OP_THREADS for each worker, and tests monkeypatch them.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wrappers.settings import EnvSettings


class OnnxSettings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="ONNX_")
    component = "onnx"

    intra_op_threads: int = Field(default=1, ge=0)
    """Threads onnxruntime uses inside one operator, per session. Serving containers run
    several workers on few cores: one per worker avoids oversubscription, and single-row models
    gain nothing from more. 0 = onnxruntime's default (one per core)."""


class ProvenanceSettings(EnvSettings):
    component = "provenance"

    git_sha: str | None = Field(default=None, validation_alias="GIT_SHA",
                                examples=["3e34714"])
    """The commit the code was built from (set in images, where there is no .git); tagged on
    every logged model. Unset: `git rev-parse HEAD` in the source tree."""
