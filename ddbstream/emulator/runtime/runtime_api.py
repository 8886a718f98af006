"""The Lambda Runtime API one worker talks to: a loopback HTTP server per worker.

It speaks the contract of ``/2018-06-01/runtime/...`` (``invocation/next``, ``.../response``,
``.../error``, ``init/error``) and hands each call to its backend, the worker. Its HTTP is
its own minimal HTTP/1.1 (keep-alive, Content-Length or chunked bodies, ``100 Continue``):
the standard library's handler parses headers with the ``email`` package, ~70 us a request,
and each invocation makes two.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import threading
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from io import BufferedIOBase
from typing import Any, NamedTuple, Protocol

from ddbstream.emulator.runtime.model import Invocation, error_body

log = logging.getLogger("ddbstream.emulator.runtime")

RUNTIME_API = "/2018-06-01/runtime"
_RESULT_PATH = re.compile(rf"{RUNTIME_API}/invocation/([^/]+)/(response|error)")
_MAX_LINE = 65_536
_MAX_HEADERS = 100


class RuntimeApiBackend(Protocol):
    """What the Runtime API asks of a worker (called from the server's request threads)."""

    def next_invocation(self, reply: Callable[[Invocation | None], None]) -> None:
        """A /next came: ``reply`` it the next event, now or later from another thread (None when the
        worker is being stopped); the connection's thread goes on reading meanwhile."""

    def post_result(self, request_id: str, kind: str, body: bytes) -> bool:
        """Record a /response or /error; False when ``request_id`` is not the current invocation."""

    def post_init_error(self, body: bytes) -> None:
        """Record that the function's initialisation failed."""


class BadRequest(Exception):
    """A request this server cannot read: answered 400, then the connection closes."""


class Request(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    keep_alive: bool


def read_request(rfile: BufferedIOBase, wfile: BufferedIOBase) -> Request | None:
    """The next request on a connection (None once the client closed it).

    A minimal HTTP/1.1 reader: the request line, the headers, then a Content-Length or chunked
    body (after a ``100 Continue`` when the client expects one, as curl does for big bodies).
    """
    line = rfile.readline(_MAX_LINE + 1)
    while line in (b"\r\n", b"\n"):  # stray blank lines between requests are allowed
        line = rfile.readline(_MAX_LINE + 1)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(line) > _MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {line[:100]!r}")
    method, path, version = parts
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS + 1):
        header = rfile.readline(_MAX_LINE + 1)
        if header in (b"\r\n", b"\n", b""):
            break
        name, colon, value = header.decode("latin-1").partition(":")
        if not colon or len(header) > _MAX_LINE:
            raise BadRequest(f"bad header line {header[:100]!r}")
        headers[name.strip().lower()] = value.strip()
    else:
        raise BadRequest("too many headers")
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    if headers.get("expect", "").lower() == "100-continue":
        wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return Request(method, path, headers, _read_body(rfile, headers), keep_alive)


def _read_body(rfile: BufferedIOBase, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while size := int(rfile.readline(_MAX_LINE + 1).split(b";")[0] or b"0", 16):
            chunks.append(rfile.read(size))
            rfile.readline(_MAX_LINE + 1)  # the CRLF after each chunk
        while rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(chunks)
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError:
        raise BadRequest("bad Content-Length") from None
    return rfile.read(length) if length > 0 else b""


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None, close: bool = False) -> bytes:
    """An HTTP/1.1 response: status line, headers and body in one buffer (one send)."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json"]
    lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RuntimeApiHandler(socketserver.StreamRequestHandler):
    """One runtime connection, kept alive: requests answered in turn until either side closes."""

    server: RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        self._write_lock = threading.Lock()  # a parked /next is answered from another thread
        # headers and body leave at once: no 40 ms delayed-ACK stalls
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        while True:
            try:
                request = read_request(self.rfile, self.wfile)
            except BadRequest as exc:
                self.wfile.write(response(400, error_body("InvalidRequest", str(exc)), close=True))
                return
            except (OSError, ValueError):  # a killed worker's connection, or a broken chunk size
                return
            if request is None:
                return
            if request.method == "GET" and request.path == f"{RUNTIME_API}/invocation/next":
                self.server.backend.next_invocation(partial(self._reply_next, request.keep_alive))
                continue  # answered by _reply_next, now or once an event comes
            status, body, headers = self.answer(request)
            if not self._send(response(status, body, headers, close=not request.keep_alive), request.keep_alive):
                return

    def _send(self, data: bytes, keep_alive: bool) -> bool:
        """Write a response; shut the connection down after it unless ``keep_alive`` (False: done)."""
        try:
            with self._write_lock:
                self.wfile.write(data)
                if not keep_alive:
                    self.connection.shutdown(socket.SHUT_RDWR)  # also ends the thread's pending read
        except OSError:  # a killed worker's connection
            return False
        return keep_alive

    def answer(self, request: Request) -> tuple[int, bytes, dict[str, str] | None]:
        """(status, body, headers) for a request other than /next, after telling the backend."""
        if request.method != "POST":
            return 404, error_body("InvalidRequest", f"no such Runtime API path {request.path}"), None
        backend = self.server.backend
        match = _RESULT_PATH.fullmatch(request.path)
        if match:
            body = request.body
            if match.group(2) == "error" and not body:
                body = _reported_error(request.headers)
            if not backend.post_result(match.group(1), match.group(2), body):
                return 400, error_body("InvalidRequestID", "Invalid request ID"), None
            return 202, b'{"status":"OK"}', None
        if request.path == f"{RUNTIME_API}/init/error":
            backend.post_init_error(request.body or _reported_error(request.headers))
            return 202, b'{"status":"OK"}', None
        return 404, error_body("InvalidRequest", f"no such Runtime API path {request.path}"), None

    def _reply_next(self, keep_alive: bool, invocation: Invocation | None) -> None:
        """Answer a parked /next with its event (any thread); None: the worker stops (a 500 and close)."""
        if invocation is None:
            self._send(response(500, error_body("Runtime.Stopped", "the worker is being stopped"), close=True), False)
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
        self._send(response(200, invocation.payload, headers, close=not keep_alive), keep_alive)


def _reported_error(headers: dict[str, str]) -> bytes:
    """The error a runtime posted without a body: named by its error-type header."""
    return error_body(headers.get("lambda-runtime-function-error-type") or "Runtime.Unknown", "")


class RuntimeApiServer(socketserver.ThreadingTCPServer):
    """Listens on a free loopback port; the worker's process finds it in AWS_LAMBDA_RUNTIME_API."""

    daemon_threads = True

    def __init__(self, backend: RuntimeApiBackend):
        self.backend = backend
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("Runtime API request from %s failed", client_address)
