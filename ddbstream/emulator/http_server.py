"""The daemon's HTTP/1.1 server: persistent connections, one thread per connection.

werkzeug's development server answers every request with ``Connection: close``, so each
request paid for a new TCP connection and a new thread (and a 10 ms wait for more input).
This server reads a request's header lines itself (http.server parses them with the email
package), keeps werkzeug's WSGI environ (with moto's handling of underscored header names)
and writes the answers itself: with their Content-Length, or
chunked (a streamed answer such as StartLiveTail's event stream), so the connection can
carry the next request. A request body is read whole before the application sees it, so
the next request on the connection is never half read.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import ThreadedWSGIServer

log = logging.getLogger("ddbstream.emulator.http")

IDLE_SECONDS = 300.0  # a connection with no request for this long is closed
_NO_BODY_STATUSES = (204, 304)


class KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server with persistent connections; ``closing`` ends them (shutdown)."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app: Callable[..., Any]):
        super().__init__(host, port, app, handler=KeepAliveHandler)
        self.closing = threading.Event()


class KeepAliveHandler(MotoRequestHandler):
    """Serves the requests of one connection until the client closes it, goes idle, or the daemon stops."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    server: KeepAliveServer

    def run_wsgi(self) -> None:
        if self.server.closing.is_set():  # the daemon is stopping: no new request (the client retries, refused)
            self.close_connection = True
            return
        environ = self.make_environ()
        try:
            _read_body(environ, self.rfile)
        except ValueError:
            self.close_connection = True
            self.send_error(400, "Bad request body")
            return
        answer = _Answer(self, environ)
        try:
            body = self.server.app(environ, answer.start_response)
            try:
                for data in body:
                    answer.write(data)
                answer.finish()
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError):  # the client went away mid-answer
            self.close_connection = True
        except Exception:
            log.exception("error answering %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            self.close_connection = True
            if not answer.headers_sent:
                self.send_error(500, "Internal Server Error")

    def parse_request(self) -> bool:
        """http.server's parse_request for the usual ``METHOD target HTTP/1.x`` line, with the
        headers read by a plain loop (http.server hands them to the email package, a third of
        the server's time a request); any other request line goes to http.server's."""
        words = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n").split(" ")
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return bool(super().parse_request())
        self.requestline = " ".join(words)
        self.command, path, self.request_version = words
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path  # as http.server does
        try:
            self.headers = _read_headers(self.rfile)  # type: ignore[assignment]
        except ValueError as exc:
            self.close_connection = True
            self.send_error(431 if "too many" in str(exc) else 400, str(exc))
            return False
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if self.headers.get("Expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return bool(self.handle_expect_100())
        return True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Not one line a request: the daemon's log is for what matters."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _read_body(environ: dict[str, Any], rfile: Any) -> None:
    """Replace ``wsgi.input`` by the whole body, read now (chunked or by Content-Length)."""
    if environ.pop("wsgi.input_terminated", False):  # chunked: werkzeug's DechunkedInput
        try:
            body = environ["wsgi.input"].read()
        except OSError as exc:
            raise ValueError(str(exc)) from None
        environ["CONTENT_LENGTH"] = str(len(body))
        del environ["HTTP_TRANSFER_ENCODING"]  # the body is no longer chunked (werkzeug would read none)
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        body = rfile.read(length) if length else b""
        if len(body) < length:
            raise ConnectionError("the client closed the connection mid-body")
    environ["wsgi.input"] = io.BytesIO(body)


_MAX_HEADERS = 100  # http.server's limits
_MAX_LINE = 65536


class _Headers:
    """A request's header lines, in order; ``get`` by name, whatever its case (what the handler asks)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self._pairs = pairs
        self._first: dict[str, str] = {}
        for name, value in pairs:
            self._first.setdefault(name.lower(), value)

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def keys(self) -> list[str]:
        return [name for name, _ in self._pairs]

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def __getitem__(self, name: str) -> str | None:
        return self._first.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first


def _read_headers(rfile: Any) -> _Headers:
    """The header lines up to the blank one; a folded line continues the header before it."""
    pairs: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise ValueError("Header line too long")
        if line in (b"\r\n", b"\n", b""):
            return _Headers(pairs)
        text = str(line, "iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and pairs:  # obsolete line folding
            name, value = pairs[-1]
            pairs[-1] = (name, value + " " + text.strip(" \t"))
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError("Bad header line")
        if len(pairs) >= _MAX_HEADERS:
            raise ValueError("Got too many headers")
        pairs.append((name, value.strip(" \t")))


class _Answer:
    """One response on a persistent connection: the status line and headers, then the body, framed."""

    def __init__(self, handler: KeepAliveHandler, environ: dict[str, Any]):
        self.handler = handler
        self.head_only = environ["REQUEST_METHOD"] == "HEAD"
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.chunked = False
        self.length: int | None = None  # the declared Content-Length
        self.written = 0

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        if exc_info:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status:
            raise AssertionError("start_response called twice")
        self.status, self.headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        if not self.headers_sent:
            self._send_head(data)
            return
        self._send_body(data)

    def finish(self) -> None:
        if not self.headers_sent:
            self._send_head(b"", complete=True)
        elif self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")
        if self.length is not None and self.written != self.length and not self.head_only:
            self.handler.close_connection = True  # the client cannot tell where this answer ended

    def _send_head(self, first: bytes, complete: bool = False) -> None:
        if not self.status:
            raise AssertionError("the application wrote before start_response")
        handler = self.handler
        code = int(self.status.split(" ", 1)[0])
        names = {name.lower(): value for name, value in self.headers}
        lines = [f"{handler.protocol_version} {self.status}", *(f"{n}: {v}" for n, v in self.headers)]
        if "date" not in names:
            lines.append(f"Date: {_http_date()}")
        no_body = self.head_only or 100 <= code < 200 or code in _NO_BODY_STATUSES
        if "content-length" in names:
            self.length = int(names["content-length"])
        elif no_body:
            pass
        elif complete:  # the whole body is known (empty): say so rather than chunk it
            self.length = 0
            lines.append("Content-Length: 0")
        elif handler.request_version >= "HTTP/1.1":
            self.chunked = True
            lines.append("Transfer-Encoding: chunked")
        else:
            handler.close_connection = True  # HTTP/1.0: the end of the connection ends the body
        if names.get("connection", "").lower() == "close":
            handler.close_connection = True
        elif handler.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.headers_sent = True
        if no_body:
            handler.wfile.write(head)
            return
        handler.wfile.write(head + self._framed(first) if first else head)
        self.written += len(first)

    def _send_body(self, data: bytes) -> None:
        if not data or self.head_only:
            return
        self.written += len(data)
        self.handler.wfile.write(self._framed(data))

    def _framed(self, data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header's value, formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]
