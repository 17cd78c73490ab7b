"""Minimal ASGI plumbing shared by both engines: read a body, send a response."""

from __future__ import annotations

import json

JSON = b"application/json"


async def read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def respond(send, status: int, body: bytes | str, content_type: bytes = JSON,
                  extra_headers: list | None = None) -> None:
    if isinstance(body, str):
        body = body.encode()
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})


def error_body(message: str, error_code: str) -> str:
    return json.dumps({"error_code": error_code, "message": message})


def header(scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return v.decode("latin-1")
    return None
