"""The mlflow engine's front: forwards every request to the current `mlflow models serve`.

Switching is a reference swap like the fast engine's: requests already forwarded finish on the
old backend (the supervisor stops it only after they drained), new ones go to the new one, and
client connections stay open across the switch — which a TCP-level switch could not offer.
"""

from __future__ import annotations

import json
import time

from services.serving import metrics
from services.serving.asgi import PROMETHEUS, Reply, read_body, send_reply, unavailable

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the client library sets itself.
_NOT_FORWARDED = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te",
                            b"upgrade", b"proxy-connection", b"host", b"content-length"})


# MLflow's scoring routes (and ours): counted by path; anything else as "other".
_ROUTES = frozenset({"/invocations", "/ping", "/health", "/version", "/metrics"})


class Backend:
    """Where the proxy forwards to, and how many requests it has there right now."""

    __slots__ = ("version", "url", "inflight")

    def __init__(self, version: str, url: str):
        self.version, self.url, self.inflight = version, url, 0


class ProxyState:
    """What the proxy serves; the worker's control thread swaps ``backend``."""

    def __init__(self, model_name: str, alias: str, request_timeout: float = 60.0):
        self.backend: Backend | None = None
        self.request_timeout = request_timeout
        self.waiting = unavailable(model_name, alias)
        self.session = None  # aiohttp.ClientSession, created on the event loop

    def switch(self, version: str, url: str) -> Backend | None:
        """Forward to ``url`` from the next request on; returns the backend it replaces."""
        previous, self.backend = self.backend, Backend(version, url)
        return previous


def build_app(state: ProxyState):
    """The proxy's ASGI app: every route forwarded, except GET /metrics (the container's)."""
    import aiohttp

    def session() -> aiohttp.ClientSession:
        if state.session is None:
            state.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
                # mlflow answers 504 itself after its own timeout; this only catches a hang.
                timeout=aiohttp.ClientTimeout(total=state.request_timeout + 10),
                auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return state.session

    async def forward(scope, body: bytes, backend: Backend) -> Reply:
        url = backend.url + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k not in _NOT_FORWARDED]
        backend.inflight += 1
        try:
            async with session().request(scope["method"], url, data=body,
                                         headers=headers) as resp:
                payload = await resp.read()
                content_type = resp.headers.get("content-type", "application/json")
                allow = resp.headers.get("allow")
                extra = ((b"allow", allow.encode()),) if allow else ()
                return Reply(resp.status, payload, content_type.encode(), extra)
        except (aiohttp.ClientError, TimeoutError) as exc:
            message = (f"mlflow models serve for version {backend.version} did not answer "
                       f"({type(exc).__name__}: {exc}); the supervisor restarts it — retry")
            return Reply(502, json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE",
                                          "message": message}).encode())
        finally:
            backend.inflight -= 1

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        path = scope["path"]
        body = await read_body(receive)
        if path == "/metrics" and scope["method"] == "GET":
            reply = Reply(200, metrics.render(), PROMETHEUS)
        elif state.backend is None:
            reply = state.waiting
        else:
            reply = await forward(scope, body, state.backend)
            if path == "/invocations" and reply.status == 200:
                metrics.count_prediction("proxy")
        await send_reply(send, reply)
        metrics.observe_request(path if path in _ROUTES else "other", reply.status,
                                started if path == "/invocations" else None)

    return app
