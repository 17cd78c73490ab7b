"""Entry point of a serving container: `python -m services.serving` (settings: settings.py)."""

from __future__ import annotations

import logging
import os
import sys

from services.serving import metrics
from services.serving.alias_watch import AliasWatcher
from services.serving.settings import ServingSettings, SettingsError

log = logging.getLogger("serving")


def main() -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        s = ServingSettings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.environ["MLFLOW_TRACKING_URI"] = s.tracking_uri
    import uvicorn

    log.info("serving %s with the %s engine on %s:%d (registry %s, polling every %.0fs)",
             s.alias_uri, s.engine, s.host, s.port, s.tracking_uri, s.poll_interval)

    if s.engine == "fast":
        from services.serving import fast

        slot = fast.ModelSlot()

        def on_version(version: str) -> None:
            slot.swap(slot.load(s.model_name, version))

        app = fast.build_app(slot, s.model_name, s.model_alias)
    else:
        from services.serving import mlflow_engine

        supervisor = mlflow_engine.BackendSupervisor(
            s.model_name, s.backend_start_timeout, s.drain_seconds)

        def on_version(version: str) -> None:
            supervisor.switch_to(version)

        app = mlflow_engine.build_app(supervisor, s.model_name, s.model_alias)

    def on_version_with_metrics(version: str) -> None:
        on_version(version)
        metrics.set_served(s.model_name, s.model_alias, version, s.engine)
        metrics.SWITCHES.inc()

    watcher = AliasWatcher(s.model_name, s.model_alias, s.poll_interval, on_version_with_metrics)
    watcher.start()
    try:
        uvicorn.run(app, host=s.host, port=s.port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=10)
    finally:
        watcher.stop()
        if s.engine == "mlflow" and supervisor.current is not None:
            supervisor.stop(supervisor.current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
