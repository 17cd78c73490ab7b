"""Transfer errors: each names the blob or container, the cause, and what to do about it."""

from __future__ import annotations

from wrappers.errors import WrappersError


class TransferError(WrappersError):
    """Base class of every error raised by wrappers.transfer."""


def describe_cause(cause: BaseException | str) -> str:
    """One line: HTTP status and service error code when there are any, then the message."""
    if isinstance(cause, str):
        return cause
    status = getattr(cause, "status_code", None)
    code = getattr(cause, "error_code", None)
    response = getattr(cause, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", status)
        code = response.get("Error", {}).get("Code", code)
    code = getattr(code, "value", code)
    # Azure errors carry a multi-line XML body; the first line says what happened.
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0][:300] if lines else ''}"
    if status:
        return f"HTTP {status}{' ' + str(code) if code else ''} ({text})"
    return text


class UnsupportedStoreURI(TransferError):
    """The URI is none of the forms a store can be opened with; the message lists them."""

    def __init__(self, uri: str):
        self.uri = uri
        super().__init__(
            f"cannot store files at {uri!r}: expected "
            "wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PREFIX, azure://CONTAINER/PREFIX "
            "(with AZURE_STORAGE_CONNECTION_STRING) or s3://BUCKET/PREFIX"
        )


class MissingCredentials(TransferError):
    """No usable credentials for the URI (or ones for another account); nothing was sent."""

    def __init__(self, uri: str, hint: str):
        self.uri = uri
        super().__init__(f"no credentials for {uri}: {hint}")


class StoreAccessDenied(TransferError):
    """The store answered 401/403: wrong key, expired SAS, or no permission."""

    def __init__(self, uri: str, cause: str, hint: str):
        self.uri = uri
        super().__init__(f"access to {uri} denied ({cause}) — {hint}")


class ContainerNotFound(TransferError):
    """The Azure container or S3 bucket does not exist; nothing was written."""

    def __init__(self, uri: str, kind: str, name: str, hint: str):
        self.uri = uri
        super().__init__(f"{kind} '{name}' does not exist (while accessing {uri}) — {hint}")


class TransferFailed(TransferError):
    """Retries are exhausted (or the failure is not transient); nothing was committed."""

    def __init__(self, uri: str, what: str, cause: BaseException | str,
                 attempts: int | None = None):
        self.uri = uri
        self.cause = cause
        tried = f" after {attempts} attempts" if attempts else ""
        super().__init__(
            f"{what} of {uri} failed{tried}; last cause: {describe_cause(cause)}. "
            "Nothing was committed: "
            "rerun the same command to resume (blocks already stored are not sent again)"
        )


class IntegrityError(TransferError):
    """Bytes on disk do not hash to the sha256 recorded at upload time."""

    def __init__(self, uri: str, expected: str, actual: str, hint: str | None = None):
        self.uri, self.expected, self.actual = uri, expected, actual
        super().__init__(
            f"sha256 mismatch for {uri}: expected {expected}, got {actual} — "
            + (hint or "the downloaded copy was discarded; retry, and if it persists the stored "
               "object was changed after upload: upload it again")
        )


class BlobNotFound(TransferError):
    """The object is not in the store (its container or bucket is)."""

    def __init__(self, uri: str, hint: str = "check the manifest's store URI and the credentials' "
                 "account/endpoint"):
        self.uri = uri
        super().__init__(f"{uri} does not exist — {hint}")
