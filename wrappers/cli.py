"""What every CLI under scripts/ shares: the common flags and how errors reach the user."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Callable

from wrappers.errors import WrappersError
from wrappers.tracking import DEFAULT_TRACKING_URI, ensure_experiment, use_tracking_uri


def parser(description: str, register: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the compose stack's "
        f"{DEFAULT_TRACKING_URI})",
    )
    if register:
        p.add_argument("--register", metavar="NAME", help="register the logged model as NAME")
        p.add_argument(
            "--alias", help="set this alias (e.g. staging, production) on the new version"
        )
        p.add_argument("--experiment", help="MLflow experiment name (default: per model kind)")
        p.add_argument(
            "--artifact-location",
            help="create --experiment with its artifacts here, e.g. "
            "wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PATH for Azure Blob "
            "(default: the server's artifact store)",
        )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(main: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    """Connect to the tracking server, run ``main``, print its result; errors → exit 2."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # azure-storage-blob logs every HTTP request and response header at INFO.
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        uri = use_tracking_uri(args.tracking_uri)
        if getattr(args, "artifact_location", None):
            if not args.experiment:
                raise WrappersError("--artifact-location needs --experiment NAME")
            ensure_experiment(args.experiment, args.artifact_location)
        # --json: stdout carries only the JSON document (MLflow prints run links to stdout).
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            result = main(args)
    except (WrappersError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_jsonable(result), indent=2, default=str))
    else:
        _print_human(result, uri)
    return 0


def _jsonable(result):
    from dataclasses import asdict, is_dataclass

    if is_dataclass(result):
        return asdict(result)
    if isinstance(result, list):
        return [_jsonable(r) for r in result]
    return result


def _print_human(result, uri: str) -> None:
    from wrappers.base import LoggedModel

    if isinstance(result, LoggedModel):
        print(f"logged {result.kind} model: {result.model_uri} (tracking: {uri})")
        for k, v in result.metrics.items():
            print(f"  {k} = {v:.4f}")
        if result.version:
            print(f"registered {result.registered_name} version {result.version}")
        if result.alias_uri:
            print(f"alias set: {result.alias_uri}")
    elif result is not None:
        print(result)
