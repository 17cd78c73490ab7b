"""Create the S3 bucket and the Azure container if they are missing — check, then create.

Runs once (`restart: "no"`); the MLflow server starts only after it exits 0
(`depends_on: condition: service_completed_successfully`). Safe to run any number of times.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from services.init.settings import InitSettings
from wrappers.settings import SettingsInvalid

log = logging.getLogger("init")


def retry(what: str, fn: Callable[[], bool], budget: float) -> bool:
    """Call ``fn`` until it returns, logging at growing intervals; False when out of time."""
    deadline = time.monotonic() + budget
    delay, attempt = 0.5, 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 — any failure is "not ready yet" here
            if time.monotonic() + delay > deadline:
                log.error("%s: giving up after %d attempts: %s", what, attempt, exc)
                raise
            if attempt in (1, 3) or attempt % 10 == 0:
                log.info("%s: not ready (%s), retrying", what, type(exc).__name__)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def ensure_bucket(s: InitSettings) -> bool:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3",
        endpoint_url=s.s3_endpoint_url,
        aws_access_key_id=s.aws_access_key_id or None,
        aws_secret_access_key=s.aws_secret_access_key.get_secret_value() or None,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
    try:
        s3.head_bucket(Bucket=s.s3_bucket)
        log.info("bucket s3://%s exists at %s", s.s3_bucket, s.s3_endpoint_url)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    s3.create_bucket(Bucket=s.s3_bucket)
    log.info("created bucket s3://%s at %s", s.s3_bucket, s.s3_endpoint_url)
    return True


def ensure_container(s: InitSettings) -> bool:
    from azure.storage.blob import BlobServiceClient

    svc = BlobServiceClient.from_connection_string(s.azure_connection_string.get_secret_value())
    container = svc.get_container_client(s.azure_container)
    if container.exists():
        log.info("container %s exists at %s", s.azure_container, svc.url)
        return False
    container.create_container()
    log.info("created container %s at %s", s.azure_container, svc.url)
    return True


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        s = InitSettings.load()
    except SettingsInvalid as exc:
        log.error("%s", exc)
        return 2
    retry(f"S3 at {s.s3_endpoint_url}", lambda: ensure_bucket(s), s.wait_seconds)
    if s.azure_connection_string:
        retry("Azurite blob service", lambda: ensure_container(s), s.wait_seconds)
    else:
        log.info("AZURE_STORAGE_CONNECTION_STRING not set: skipping the Azure container")
    return 0


if __name__ == "__main__":
    sys.exit(main())
