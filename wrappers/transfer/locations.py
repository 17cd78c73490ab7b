"""Parse store URIs: where a set of files lives, independent of how we reach it."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import urlparse

from wrappers.transfer.errors import UnsupportedStoreURI

AZURE_SCHEMES = ("wasbs", "wasb", "azure")


@dataclass(frozen=True)
class StoreLocation:
    """A container (Azure) or bucket (S3) plus a key prefix inside it."""

    scheme: str  # "wasbs" | "wasb" | "azure" | "s3"
    container: str  # Azure container or S3 bucket
    prefix: str  # no leading or trailing "/"; "" for the container's root
    account: str | None = None  # Azure storage account, wasbs:// only
    host: str | None = None  # wasbs:// host (ACCOUNT.blob.core.windows.net)

    @property
    def is_azure(self) -> bool:
        return self.scheme in AZURE_SCHEMES

    def key(self, relpath: str) -> str:
        """The blob name / object key of ``relpath`` under this location."""
        relpath = relpath.replace("\\", "/").lstrip("/")
        return posixpath.join(self.prefix, relpath) if self.prefix else relpath

    def uri(self, relpath: str = "") -> str:
        """The URI of ``relpath`` under this location, in the scheme it was given in."""
        path = self.key(relpath) if relpath else self.prefix
        if self.scheme in ("wasbs", "wasb"):
            return f"{self.scheme}://{self.container}@{self.host}/{path}".rstrip("/")
        return f"{self.scheme}://{self.container}/{path}".rstrip("/")

    def __str__(self) -> str:
        return self.uri()


def parse_store_uri(uri: str) -> StoreLocation:
    """``wasbs://C@A.blob.core.windows.net/p``, ``azure://C/p`` or ``s3://B/p``."""
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    prefix = parsed.path.strip("/")
    if scheme in ("wasbs", "wasb"):
        if "@" not in parsed.netloc:
            raise UnsupportedStoreURI(uri)
        container, host = parsed.netloc.split("@", 1)
        account = host.split(".", 1)[0]
        if not container or not account:
            raise UnsupportedStoreURI(uri)
        return StoreLocation(scheme, container, prefix, account=account, host=host)
    if scheme in ("azure", "s3"):
        if not parsed.netloc:
            raise UnsupportedStoreURI(uri)
        return StoreLocation(scheme, parsed.netloc, prefix)
    raise UnsupportedStoreURI(uri)
