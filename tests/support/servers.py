"""Azurite and s3rver from npm, installed under .cache/ and started on a free local port.

Used by the store and universal test tiers and by the transfer benchmark.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field

from tests.support.net import free_port
from wrappers.settings import EnvSettings

REPO = Path(__file__).resolve().parents[2]
NPM_CACHE = REPO / ".cache"
AZURITE_VERSION = "3.35.0"
S3RVER_VERSION = "3.7.1"
# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")
S3RVER_KEY = "S3RVER"  # s3rver's fixed access key id and secret


class NpmUnavailable(RuntimeError):
    pass


def npm_install(package: str, version: str, binary: str) -> Path:
    """``package@version`` under .cache/npm-<package> (reused when that version is there)."""
    prefix = NPM_CACHE / f"npm-{package}"
    bin_path = prefix / "node_modules" / ".bin" / binary
    manifest = prefix / "node_modules" / package / "package.json"
    if bin_path.exists() and manifest.exists() and \
            json.loads(manifest.read_text()).get("version") == version:
        return bin_path
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        raise NpmUnavailable(
            f"node and npm are needed to run {package} (apt-get install nodejs npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                    "--omit=dev", "--loglevel=error", f"{package}@{version}"],
                   check=True, timeout=600)
    return bin_path


@dataclass
class LocalServer:
    name: str
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _start(name: str, argv: list[str], port: int, log_path: Path,
           timeout: float = 60) -> LocalServer:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: "
                               f"{log_path.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return LocalServer(name, proc, port, log_path)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s: "
                       f"{log_path.read_text()[-2000:]}")


def start_azurite(data_dir: Path, port: int | None = None) -> LocalServer:
    binary = npm_install("azurite", AZURITE_VERSION, "azurite-blob")
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    return _start("azurite", [
        str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--location", str(data_dir), "--disableTelemetry", "--skipApiVersionCheck", "--loose",
    ], port, data_dir / "azurite.log")


def start_s3rver(data_dir: Path, buckets: tuple[str, ...] = (),
                 port: int | None = None) -> LocalServer:
    binary = npm_install("s3rver", S3RVER_VERSION, "s3rver")
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(binary), "-d", str(data_dir), "-a", "127.0.0.1", "-p", str(port), "-s",
            "--no-vhost-buckets"]
    for bucket in buckets:
        argv += ["--configure-bucket", bucket]
    return _start("s3rver", argv, port, data_dir.parent / f"s3rver-{port}.log")


@dataclass(frozen=True)
class Azurite:
    """A running Azurite, as tests reach it."""

    blob_endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1

    @property
    def port(self) -> int:
        return urlsplit(self.blob_endpoint).port or 80

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.blob_endpoint)

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)


@dataclass(frozen=True)
class S3rver:
    """A running s3rver, as tests reach it (its fixed key pair)."""

    endpoint: str  # http://127.0.0.1:PORT

    @property
    def port(self) -> int:
        return urlsplit(self.endpoint).port or 80

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        return s3rver_env(endpoint or self.endpoint)

    def client(self):
        import boto3
        from botocore.config import Config

        env = self.env()
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                            config=Config(s3={"addressing_style": "path"}))


def azurite_connection_string(blob_endpoint: str, key: str = AZURITE_KEY) -> str:
    """``blob_endpoint`` is http://HOST:PORT/devstoreaccount1 (path-style, as Azurite serves)."""
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={blob_endpoint.rstrip('/')};")


def s3rver_env(endpoint: str) -> dict[str, str]:
    return {"MLFLOW_S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": S3RVER_KEY,
            "AWS_SECRET_ACCESS_KEY": S3RVER_KEY, "AWS_DEFAULT_REGION": "us-east-1"}


class LocalServerSettings(EnvSettings):
    """The variables the test servers read (the tests' own; the code under test has its own
    settings modules)."""

    azurite_blob_endpoint: str | None = Field(
        default=None, validation_alias="AZURITE_BLOB_ENDPOINT",
        examples=["http://127.0.0.1:10000/devstoreaccount1"])
    """A running Azurite to use instead of starting one from npm (e.g. the compose stack's)."""

    ci: str = Field(default="", validation_alias="CI")
    """Set by CI systems; there a missing npm server fails the run instead of skipping."""

    @property
    def in_ci(self) -> bool:
        return self.ci.lower() in ("1", "true", "yes")


def in_ci() -> bool:
    """Whether this runs in CI (CI=1/true/yes), read now."""
    return LocalServerSettings.load().in_ci
