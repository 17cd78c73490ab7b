"""An HTTP proxy on 127.0.0.1 that counts requests and injects seeded faults.

Sits between a storage client and Azurite, s3rver or moto (requests go upstream unchanged,
Host header included, so S3 signatures stay valid). For each request it either forwards it,
answers 503/429 itself, drops the connection before or after the upstream saw the request, or
cuts a response body short. The decision is a function of (seed, method, path+query, Range, how
many times that exact request was seen), so a run's faults do not depend on thread timing.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "content-length"}
DROP_MODES = ("drop_before", "drop_after", "truncate")
BUSY_BODY = (b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
             b"<Message>injected by FaultInjectingProxy</Message></Error>")


class QuietThreadingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients reset connections we cut short on purpose; anything else is a real bug.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query
    query: dict[str, str]
    outcome: str  # "forwarded" | "error-503" | "error-429" | one of DROP_MODES
    status: int | None  # what the client got, None if the connection was dropped

    @property
    def comp(self) -> str | None:
        return self.query.get("comp")


class FaultInjectingProxy:
    def __init__(self, upstream_port: int, seed: int = 0, drop_rate: float = 0.0,
                 error_rate: float = 0.0, error_statuses: tuple[int, ...] = (503, 429),
                 upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.seed = seed
        self.drop_rate = drop_rate
        self.error_rate = error_rate
        self.error_statuses = error_statuses
        self.on_forwarded: Callable[[RecordedRequest], None] | None = None
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._active = 0  # requests being handled right now
        self.log: list[RecordedRequest] = []
        self._server = QuietThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def blob_endpoint(self, account: str) -> str:
        return f"http://127.0.0.1:{self.port}/{account}"

    def start(self) -> FaultInjectingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set_faults(self, drop_rate: float, error_rate: float) -> None:
        with self._lock:
            self.drop_rate, self.error_rate = drop_rate, error_rate

    def reset_log(self) -> None:
        with self._lock:
            self.log = []

    def requests(self, method: str | None = None, comp: str | None = None,
                 outcome: str | None = "forwarded") -> list[RecordedRequest]:
        """Recorded requests matching all given filters (None = any)."""
        with self._lock:
            log = list(self.log)
        return [r for r in log
                if (method is None or r.method == method)
                and (comp is None or r.comp == comp)
                and (outcome is None or r.outcome == outcome)]

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Return once no request is being handled: after a client is killed, the requests
        it had already sent finish (and are logged) before a test resets the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._active == 0:
                    return
            time.sleep(0.02)
        raise TimeoutError(f"proxy still handling {self._active} requests after {timeout} s")

    def outcomes(self) -> Counter[str]:
        with self._lock:
            return Counter(r.outcome for r in self.log)

    def _decide(self, method: str, target: str, range_header: str | None) -> str:
        key = f"{method} {target} {range_header or ''}"
        with self._lock:
            self._seen[key] += 1
            nth = self._seen[key]
            drop_rate, error_rate = self.drop_rate, self.error_rate
        rng = random.Random(f"{self.seed}|{key}|{nth}")
        roll = rng.random()
        if roll < drop_rate:
            return rng.choice(DROP_MODES)
        if roll < drop_rate + error_rate:
            return f"error-{rng.choice(self.error_statuses)}"
        return "forwarded"

    def _record(self, method: str, target: str, outcome: str, status: int | None) -> None:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        rec = RecordedRequest(method, parts.path, query, outcome, status)
        with self._lock:
            self.log.append(rec)
        if outcome == "forwarded" and self.on_forwarded:
            self.on_forwarded(rec)

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream_conn: http.client.HTTPConnection | None = None

            def log_message(self, *args):  # keep test output readable
                pass

            def _drop(self):
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def _forward(self, method: str, body: bytes):
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if body or method in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                for attempt in range(2):
                    if self.upstream_conn is None:
                        self.upstream_conn = http.client.HTTPConnection(*proxy.upstream,
                                                                        timeout=120)
                    try:
                        self.upstream_conn.request(method, self.path, body=body, headers=headers)
                        resp = self.upstream_conn.getresponse()
                        return resp, resp.read()
                    except (OSError, http.client.HTTPException):
                        # Upstream closed an idle keep-alive connection: reconnect once.
                        self.upstream_conn.close()
                        self.upstream_conn = None
                        if attempt:
                            raise
                raise AssertionError("unreachable")

            def _handle(self):
                with proxy._lock:
                    proxy._active += 1
                try:
                    self._answer()
                finally:
                    with proxy._lock:
                        proxy._active -= 1

            def _answer(self):
                method = self.command
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    return self._drop()  # the client died mid-body: nothing to forward
                outcome = proxy._decide(method, self.path, self.headers.get("x-ms-range")
                                        or self.headers.get("Range"))
                # Each request is recorded before its answer is written: a client that has its
                # answer must find it in the log (a test reads the log right after a call).
                if outcome.startswith("error-"):
                    status = int(outcome.split("-")[1])
                    proxy._record(method, self.path, outcome, status)
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(BUSY_BODY)))
                    self.send_header("x-ms-error-code", "ServerBusy")
                    self.end_headers()
                    if method != "HEAD":
                        self.wfile.write(BUSY_BODY)
                    return
                if outcome == "drop_before":
                    proxy._record(method, self.path, outcome, None)
                    return self._drop()
                resp, data = self._forward(method, body)
                if outcome == "drop_after":
                    proxy._record(method, self.path, outcome, None)
                    return self._drop()
                if outcome == "truncate" and len(data) < 2:
                    outcome = "forwarded"  # nothing to cut short: deliver it
                proxy._record(method, self.path, outcome, resp.status)
                self.send_response_only(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                if method == "HEAD":
                    self.send_header("Content-Length", resp.getheader("Content-Length", "0"))
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if outcome == "truncate":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    return self._drop()
                if method != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = do_OPTIONS = _handle

        return Handler
