"""The daemon's front door: who may talk to it, and from where.

The daemon runs the developer's code and holds their data, so like a notebook server it
answers only requests that (1) name it by a loopback Host (a DNS-rebinding page sends its
own host name), (2) come from no web origin, or from one the developer allowed with
``--cors-origin``, and (3) carry the stack's secret as the access key id of their SigV4
credentials (other local users cannot read the 0600 state that holds it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ddbstream.stack_secret import access_key_of, matches

_CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"


class RequestGuard:
    """WSGI middleware refusing foreign hosts, foreign origins and requests without the secret."""

    def __init__(self, app: Callable[..., Any], secret: str, cors_origins: Iterable[str] = ()):
        if not secret:
            raise ValueError("the daemon needs a stack secret")
        self.app = app
        self.secret = secret
        self.cors_origins = frozenset(cors_origins)
        self.hosts: frozenset[str] = frozenset()

    def listen_on(self, port: int) -> None:
        """The Host values a browser or client uses for this daemon: loopback names only."""
        self.hosts = frozenset(f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_HOST", "").lower() not in self.hosts:
            return _refuse(start_response, "Forbidden", "the daemon answers only to a loopback Host")
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin not in self.cors_origins:
            return _refuse(start_response, "Forbidden", "requests from web pages are refused (see --cors-origin)")
        if origin is not None and environ.get("REQUEST_METHOD") == "OPTIONS":
            return _preflight(start_response, origin, environ)
        presented = access_key_of(environ.get("HTTP_AUTHORIZATION"), environ.get("QUERY_STRING", ""))
        if not matches(self.secret, presented):
            return _refuse(
                start_response,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        return self.app(environ, _with_cors(start_response, origin))


def _with_cors(start_response: Callable[..., Any], origin: str | None) -> Callable[..., Any]:
    """moto's app allows every origin; only the allowed one, if any, is told so."""

    def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
        if origin is not None:
            kept += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return start_response(status, kept, exc_info) if exc_info else start_response(status, kept)

    return respond


def _preflight(start_response: Callable[..., Any], origin: str, environ: dict[str, Any]) -> Iterable[bytes]:
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", _CORS_METHODS),
        ("Access-Control-Allow-Headers", environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "*")),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
        ("Content-Length", "0"),
    ]
    start_response("204 No Content", headers)
    return [b""]


def _refuse(start_response: Callable[..., Any], code: str, message: str) -> Iterable[bytes]:
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    start_response(
        "403 Forbidden",
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Content-Length", str(len(body))),
            ("x-amzn-ErrorType", code),
        ],
    )
    return [body]
