"""The fast engine: the model in every worker process, MLflow's scoring protocol from it.

Supervisor side: preparing a version is every worker loading it (``Load``; any failure:
``Discard`` everywhere, ModelLoadFailed); there is nothing to retire or keep alive besides the
workers. Worker side: the app (app.py, routes from protocols/) and :class:`FastControl`.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from services.serving.engines.base import describe_exception, drain
from services.serving.errors import ModelLoadFailed
from services.serving.messages import (
    Activate,
    Activated,
    Command,
    Discard,
    Discarded,
    Failed,
    Load,
    Loaded,
    Reply,
)
from services.serving.settings import ServingSettings

if TYPE_CHECKING:
    from services.serving.engines.fast.model import FastLoadSummary


class FastEngine:
    name = "fast"

    def __init__(self, settings: ServingSettings):
        self.settings = settings

    def worker_processes(self) -> int:
        return self.settings.workers

    # --- supervisor side ----------------------------------------------------------------------

    def prepare(self, version, path, pool, workers) -> FastLoadSummary:
        s = self.settings
        replies = pool.broadcast(Load(version, str(path)), s.load_timeout, workers)
        failed = {i: r for i, r in replies.items() if not isinstance(r, Loaded)}
        if failed or not replies:
            pool.broadcast(Discard(version), 30, workers)
            index, reply = next(iter(failed.items()), (None, None))
            cause = reply.error if isinstance(reply, Failed) else \
                "no worker is running" if index is None else \
                f"worker {index} died or timed out (SERVING_LOAD_TIMEOUT={s.load_timeout:g}s)"
            raise ModelLoadFailed(s.model_name, version, cause)
        return next(iter(replies.values())).summary

    def activation(self, version: str) -> Activate:
        return Activate(version)

    def retire(self, version: str) -> None:
        """Nothing: each worker let go of the replaced model when it activated the new one."""

    def keep_alive(self, pool, served) -> None:
        """Nothing: the engine runs nothing besides the workers (the pool restarts those)."""

    def stop(self) -> None:
        """Nothing to stop besides the workers."""

    # --- worker side --------------------------------------------------------------------------

    def serve(self):
        from services.serving.engines.fast.app import FastState, build_app

        s = self.settings
        state = FastState(s.model_name, s.model_alias, s.request_timeout, s.max_batch_size,
                          s.max_batch_wait_ms / 1000)
        return build_app(state), FastControl(state, s)


class FastControl:
    """Commands for a fast worker: Load builds a LoadedModel next to the served one."""

    def __init__(self, state, settings: ServingSettings):
        self.state, self.settings = state, settings
        self.staged: dict = {}  # version -> LoadedModel, loaded and not yet activated

    def handle(self, command: Command) -> Reply:
        from services.serving import metrics
        from services.serving.engines.fast import model as fast_model

        if isinstance(command, Load):
            try:
                loaded = fast_model.load(command.path, command.version, self.settings.batching)
            except Exception as exc:  # noqa: BLE001 — reported to the supervisor, which logs
                return Failed(command.version, describe_exception(exc))
            self.staged[command.version] = loaded
            return Loaded(command.version, loaded.summary)
        if isinstance(command, Discard):
            self.staged.pop(command.version, None)
            return Discarded(command.version)
        if isinstance(command, Activate):
            model = self.staged.pop(command.version, None)
            if model is None:
                return Failed(command.version, "activate before load")
            previous = self.state.activate(model)
            metrics.set_served(self.settings.model_name, self.settings.model_alias,
                               command.version, FastEngine.name,
                               previous.version if previous else None)
            drained = drain(lambda: previous.inflight if previous else 0,
                            self.settings.request_timeout + 1)
            if previous is not None:
                if previous.batcher is not None:
                    previous.batcher.close()
                # The replaced model's reference cycles are collected, not frozen below.
                previous = None
                gc.unfreeze()
                gc.collect()
            # The loaded libraries and model are long-lived: out of the collector's sight, its
            # full collections (which the per-request objects trigger now and then, ~0.1 s
            # each over a loaded model's heap) stop walking them.
            gc.freeze()
            return Activated(command.version, drained)
        return Failed(getattr(command, "version", ""), f"unknown command {command!r}")
