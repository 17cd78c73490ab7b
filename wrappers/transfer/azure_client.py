"""A BlobServiceClient for a store location: credentials from the environment, our retries.

What the SDK does here: HTTP retries (:class:`JitteredRetryPolicy` is azure-core's policy —
408/429/5xx, timeouts, connection resets — with jitter added) and connection pooling sized to
the transfer's parallelism.
"""

from __future__ import annotations

import logging
import random

from wrappers.transfer.credentials import (
    ACCESS_KEY_ENV,
    CONNECTION_STRING_ENV,
    SAS_TOKEN_ENV,
    AzureCredentials,
)
from wrappers.transfer.errors import MissingCredentials
from wrappers.transfer.locations import StoreLocation
from wrappers.transfer.settings import TransferSettings

# azure-core logs every request's headers at INFO: with the CLIs' and the serving containers'
# INFO logging that is thousands of lines per model. Quiet unless someone set a level on it.
_http_log = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
if _http_log.level == logging.NOTSET:
    _http_log.setLevel(logging.WARNING)


def make_retry_policy(settings: TransferSettings):
    """azure-core's RetryPolicy (it retries 408/429/5xx, timeouts and resets) plus jitter.

    Not the storage SDK's default ExponentialRetry: that one skips 429, which gateways and
    proxies in front of storage answer, and waits 15 s before its first retry.
    """
    from azure.core.pipeline.policies import RetryPolicy

    class JitteredRetryPolicy(RetryPolicy):
        def configure_retries(self, options):
            # Options the storage pipeline leaves for its own retry policy (secondary-region
            # failover, unused here); left in place they would reach requests.Session.
            for storage_only in ("hosts", "location_mode", "retry_to_secondary"):
                options.pop(storage_only, None)
            return super().configure_retries(options)

        def send(self, request):
            response = super().send(request)
            # Storage deserializers read which region answered (set by the storage policy we
            # replace); we only ever talk to the primary.
            response.http_response.location_mode = "primary"
            return response

        def get_backoff_time(self, retry_settings) -> float:
            # Equal jitter: half fixed, half random, so parallel workers that failed together
            # (a dropped connection pool, a throttling burst) do not retry in lockstep.
            backoff = super().get_backoff_time(retry_settings)
            return backoff / 2 + random.uniform(0, backoff / 2)

    retries = settings.max_attempts - 1
    return JitteredRetryPolicy(
        retry_total=retries, retry_connect=retries, retry_read=retries, retry_status=retries,
        retry_backoff_factor=settings.backoff_initial, retry_backoff_max=settings.backoff_max,
    )


def service_client(location: StoreLocation, settings: TransferSettings):
    """A BlobServiceClient for ``location`` from the environment's credentials."""
    import azure.storage.blob as blob
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    creds = AzureCredentials.load()
    session = requests.Session()
    # requests keeps 10 connections per host; more workers than that would open and drop
    # connections on every request.
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(10, settings.max_concurrency + 2))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    common = dict(
        retry_policy=make_retry_policy(settings),
        transport=RequestsTransport(session=session, session_owner=True,
                                    connection_timeout=settings.connection_timeout,
                                    read_timeout=settings.read_timeout),
        max_chunk_get_size=settings.block_size,
        max_single_get_size=settings.block_size,
    )
    if creds.connection_string:
        client = blob.BlobServiceClient.from_connection_string(
            creds.connection_string.get_secret_value(), **common)
        if location.account and client.account_name != location.account:
            raise MissingCredentials(
                location.uri(),
                f"{CONNECTION_STRING_ENV} is for account '{client.account_name}', the URI names "
                f"'{location.account}' — use azure://{location.container}/{location.prefix} "
                f"or a connection string for '{location.account}'",
            )
        return client
    if location.scheme == "azure":
        raise MissingCredentials(
            location.uri(),
            f"azure:// URIs take the account and key from {CONNECTION_STRING_ENV}, which is "
            "not set — e.g. 'DefaultEndpointsProtocol=https;AccountName=NAME;AccountKey=KEY;"
            "EndpointSuffix=core.windows.net'",
        )
    url = f"https://{location.host}"
    if creds.access_key:
        return blob.BlobServiceClient(
            url, credential={"account_name": location.account,
                             "account_key": creds.access_key.get_secret_value()}, **common)
    if creds.sas_token:
        return blob.BlobServiceClient(url, credential=creds.sas_token.get_secret_value(),
                                      **common)
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise MissingCredentials(
            location.uri(),
            f"set {CONNECTION_STRING_ENV}, {ACCESS_KEY_ENV} or {SAS_TOKEN_ENV} "
            "(or pip install azure-identity to use a managed identity / az login)",
        ) from None
    return blob.BlobServiceClient(url, credential=DefaultAzureCredential(), **common)
