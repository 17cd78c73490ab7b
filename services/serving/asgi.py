"""The little ASGI both engines need: read a request body, send a whole response, and the
answers every route shares (503 while nothing is loaded; FastAPI's 404 and 405, which is what
`mlflow models serve` answers for unknown paths and wrong methods)."""

from __future__ import annotations

import json
from typing import NamedTuple

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"


class Reply(NamedTuple):
    status: int
    body: bytes
    content_type: bytes = JSON
    headers: tuple[tuple[bytes, bytes], ...] = ()


NOT_FOUND = Reply(404, b'{"detail":"Not Found"}')


def method_not_allowed(allowed: bytes) -> Reply:
    """FastAPI's 405, with the Allow header (``b"GET"``, ``b"POST"``)."""
    return Reply(405, b'{"detail":"Method Not Allowed"}', JSON, ((b"allow", allowed),))


def unavailable(model_name: str, alias: str, detail: str = "") -> Reply:
    """503 while no version is loaded: the compose healthcheck stays red, callers see why."""
    message = (f"no model loaded yet: waiting for models:/{model_name}@{alias}"
               + (f" ({detail})" if detail else "")
               + f" — set the alias with `python scripts/registry.py set-alias {model_name} "
               f"VERSION {alias}`")
    body = json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE", "message": message})
    return Reply(503, body.encode())


async def read_body(receive) -> bytes:
    """The whole request body (uvicorn hands it over in one chunk unless it is large)."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body  # the common case: one chunk, no join
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def send_reply(send, reply: Reply) -> None:
    """The response start and its body (content-type and content-length set)."""
    headers = [(b"content-type", reply.content_type),
               (b"content-length", str(len(reply.body)).encode()), *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})

