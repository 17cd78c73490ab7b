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


# (content-type, body length) -> the response headers of a reply without extra headers. A
# server copies the list it is given (uvicorn: default headers + list(headers)), so one list
# serves every reply of that type and length; lengths are bounded to keep the cache small.
_HEADERS: dict[tuple[bytes, int], list[tuple[bytes, bytes]]] = {}
_CACHED_LENGTHS = 4096


def reply_headers(reply: Reply) -> list[tuple[bytes, bytes]]:
    """Content-type, content-length and the reply's own headers."""
    key = (reply.content_type, len(reply.body))
    headers = _HEADERS.get(key)
    if headers is None:
        headers = [(b"content-type", key[0]), (b"content-length", str(key[1]).encode())]
        if reply.headers:
            return headers + list(reply.headers)
        if key[1] < _CACHED_LENGTHS:
            _HEADERS[key] = headers
    elif reply.headers:
        return headers + list(reply.headers)
    return headers


async def send_reply(send, reply: Reply) -> None:
    """The response start and its body (content-type and content-length set)."""
    await send({"type": "http.response.start", "status": reply.status,
                "headers": reply_headers(reply)})
    await send({"type": "http.response.body", "body": reply.body})

