"""`python -m services.serving`: the serving container's entry point (settings: settings.py)."""

from __future__ import annotations

import logging
import sys


def main() -> int:
    from services.serving.errors import ServingError
    from services.serving.settings import ServingSettings
    from wrappers.settings import SettingsInvalid

    try:
        settings = ServingSettings.load()
    except SettingsInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from services.serving.supervisor import Supervisor

    try:
        return Supervisor(settings).run()
    except ServingError as exc:
        logging.getLogger("serving").error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
