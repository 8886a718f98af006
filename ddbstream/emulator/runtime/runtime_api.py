"""The Lambda Runtime API one worker talks to: a loopback HTTP server per worker.

It speaks the contract of ``/2018-06-01/runtime/...`` (``invocation/next``, ``.../response``,
``.../error``, ``init/error``) and hands each call to its backend, the worker.
"""

from __future__ import annotations

import logging
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from ddbstream.emulator.runtime.model import Invocation, error_body

log = logging.getLogger("ddbstream.emulator.runtime")

RUNTIME_API = "/2018-06-01/runtime"
_RESULT_PATH = re.compile(rf"{RUNTIME_API}/invocation/([^/]+)/(response|error)")


class RuntimeApiBackend(Protocol):
    """What the Runtime API asks of a worker (called from the server's request threads)."""

    def next_invocation(self) -> Invocation | None:
        """Block until the next event; None when the worker is being stopped."""

    def post_result(self, request_id: str, kind: str, body: bytes) -> bool:
        """Record a /response or /error; False when ``request_id`` is not the current invocation."""

    def post_init_error(self, body: bytes) -> None:
        """Record that the function's initialisation failed."""


class RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stalls
    server: RuntimeApiServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep the daemon log quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        all_headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        all_headers.update(headers or {})
        lines += [f"{k}: {v}" for k, v in all_headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reported_error(self) -> bytes:
        """The error a runtime posted without a body: named by its error-type header."""
        return error_body(self.headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown", "")

    def _not_found(self) -> None:
        self._send(404, error_body("InvalidRequest", f"no such Runtime API path {self.path}"))

    def do_GET(self) -> None:  # noqa: N802
        if self.path != f"{RUNTIME_API}/invocation/next":
            self._not_found()
            return
        invocation = self.server.backend.next_invocation()
        if invocation is None:  # the worker is being stopped
            self.close_connection = True
            self._send(500, error_body("Runtime.Stopped", "the worker is being stopped"))
            return
        config = invocation.config
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": config.arn
            + ("" if config.version == "$LATEST" else f":{config.version}"),
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        self._send(200, invocation.payload, headers)

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        backend = self.server.backend
        match = _RESULT_PATH.fullmatch(self.path)
        if match:
            kind = match.group(2)
            if kind == "error" and not body:
                body = self._reported_error()
            if not backend.post_result(match.group(1), kind, body):
                self._send(400, error_body("InvalidRequestID", "Invalid request ID"))
                return
            self._send(202, b'{"status":"OK"}')
        elif self.path == f"{RUNTIME_API}/init/error":
            backend.post_init_error(body or self._reported_error())
            self._send(202, b'{"status":"OK"}')
        else:
            self._not_found()


class RuntimeApiServer(ThreadingHTTPServer):
    """Listens on a free loopback port; the worker's process finds it in AWS_LAMBDA_RUNTIME_API."""

    daemon_threads = True

    def __init__(self, backend: RuntimeApiBackend):
        self.backend = backend
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # a killed worker's connection: expected
            return
        log.exception("Runtime API request from %s failed", client_address)
