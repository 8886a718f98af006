"""The AWS requests moto serves, journaled: WSGI middleware in front of moto's application.

A request that may change state (any operation but the reads: Get*, List*, Describe*, Query,
Scan, ReceiveMessage, ...) runs as one journal effect and is written, with its body and the
headers moto routes by, once moto answered it with a success and before the answer leaves.
Replaying one hands the same request to moto's application again.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from ddbstream.emulator.http import request_body
from ddbstream.emulator.store.context import running
from ddbstream.emulator.store.journal import Journal

log = logging.getLogger("ddbstream.emulator.store")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Operations that only read, or change nothing a restart should bring back (a received
# message becomes visible again after a restart, as after its visibility timeout).
_READS = re.compile(
    r"^(Get|List|Describe|Query|Scan|BatchGet|TransactGet|Filter|Receive|Head|Search|Lookup|Test|"
    r"ChangeMessageVisibility|Simulate|Validate|Estimate|StartQuery|StopQuery|StartLiveTail)"
)
_SKIPPED_HEADERS = {"HTTP_AUTHORIZATION", "HTTP_USER_AGENT", "HTTP_CONNECTION", "HTTP_ACCEPT_ENCODING", "HTTP_ORIGIN"}
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]*/(\d{8}/[^/,\s]+/[^/,\s]+)/aws4_request")


def operation_of(environ: dict[str, Any], body: bytes) -> str | None:
    """The AWS operation a request names (JSON target or query Action); None for REST requests."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rpartition(".")[2]
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if not action and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else None


def changes_state(environ: dict[str, Any], body: bytes) -> bool:
    operation = operation_of(environ, body)
    if operation is not None:
        return not _READS.match(operation)
    return environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD", "OPTIONS")


def describe(environ: dict[str, Any], body: bytes) -> bytes:
    """The request as journaled: a JSON line (method, path, query, headers) and the raw body."""
    headers = {k: v for k, v in environ.items() if k.startswith("HTTP_") and k not in _SKIPPED_HEADERS}
    scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if scope:  # moto routes by the credential's service; the secret itself is not kept
        headers["HTTP_AUTHORIZATION"] = (
            f"AWS4-HMAC-SHA256 Credential=journal/{scope.group(1)}/aws4_request, SignedHeaders=host, Signature=0"
        )
    if environ.get("CONTENT_TYPE"):
        headers["CONTENT_TYPE"] = environ["CONTENT_TYPE"]
    request = {
        "method": environ.get("REQUEST_METHOD", "GET"),
        "path": environ.get("PATH_INFO", ""),
        "query": environ.get("QUERY_STRING", ""),
        "headers": headers,
    }
    return json.dumps(request).encode() + b"\n" + body


class JournalingApp:
    """WSGI middleware: each state-changing request moto answers with a success is journaled first."""

    def __init__(self, app: WsgiApp, journal: Journal):
        self.app = app
        self.journal = journal

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        file = self.journal.file
        if file is None:
            return self.app(environ, start_response)
        body = request_body(environ)
        if not changes_state(environ, body):
            return self.app(environ, start_response)
        statuses: list[int] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        with self.journal.lock:
            at, seed = self.journal.new_effect()
            with running(at, seed) as effect:
                answer = _read_all(self.app(environ, capture))
            if statuses and statuses[-1] < 400:
                try:
                    file.append("http", at, seed, describe(environ, body), effect.stamps)
                except Exception:  # not kept: the client must not be told it happened
                    log.exception("could not journal %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
                    return _unavailable(start_response)
        return answer


def _read_all(answer: Iterable[bytes]) -> list[bytes]:
    try:
        return list(answer)
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()


def _unavailable(start_response: Callable[..., Any]) -> list[bytes]:
    message = "the local daemon could not write to its store (.ddbstream/store.sqlite3)"
    body = json.dumps({"__type": "ServiceUnavailable", "message": message, "Message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    start_response("503 Service Unavailable", headers, sys.exc_info())
    return [body]


def replay_request(app: WsgiApp, journaled: bytes) -> int:
    """Hand a journaled request to ``app`` again; return the status it answered."""
    line, _, body = journaled.partition(b"\n")
    request = json.loads(line)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request["method"],
        "PATH_INFO": request["path"],
        "QUERY_STRING": request["query"],
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SCRIPT_NAME": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **request["headers"],
    }
    if request["headers"].get("HTTP_X_AMZ_TARGET", "") in _ITEM_WRITES:
        return _replay_item_write(environ)
    statuses: list[int] = []
    _read_all(app(environ, lambda status, headers, exc_info=None: statuses.append(int(status.split(" ", 1)[0]))))
    return statuses[-1] if statuses else 500


# The bulk of a journal: handed straight to moto's DynamoDB handler, without the routing a
# request goes through first (which makes no identifiers: replaying them is the same).
_ITEM_WRITES = {
    f"DynamoDB_20120810.{operation}"
    for operation in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
}


def _replay_item_write(environ: dict[str, Any]) -> int:
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_server.werkzeug_app import BackendRequest

    request = BackendRequest(environ)
    status, _, _ = DynamoHandler.dispatch(request, request.url, dict(request.headers))
    return int(status)
