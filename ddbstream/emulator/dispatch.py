"""Which of moto's per-service applications answers a request, decided once per service.

moto's ``DomainDispatcherApplication`` works out the service of every request from scratch,
under one global lock: it lists moto's package directory and tries each backend's URL
patterns in turn. The answer depends only on the host name it infers from the request's
credential scope and X-Amz-Target, so this dispatcher asks moto for that host name, keeps
moto's answer for it, and hands the request to the service's application. DynamoDB's and
DynamoDB Streams' JSON requests (one route, ``POST /``) go straight to moto's handler, as
moto's Flask view does, without Flask's request context around it. Requests that are not
signed with a header, or that name moto's own routes, go through moto's dispatcher as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError
from flask import Response
from moto.core.request import normalize_request
from moto.core.utils import convert_to_flask_response
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger("ddbstream.emulator.dispatch")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_MOTO_OWN_PATHS = ("/moto-api", "/favicon.ico", "/latest/meta-data/", "/latest/api/")
_DIRECT_BACKENDS = frozenset({"dynamodb", "dynamodbstreams"})  # JSON protocol, one route: POST /
_MAX_HOSTS = 512  # host names remembered (services x regions); past that, moto decides each time


class MotoDispatch:
    """WSGI application: moto's services, each request routed by its inferred host name."""

    def __init__(self, domains: DomainDispatcherApplication):
        self.domains = domains
        self._backends: dict[str, Any] = {}  # host name -> moto's backend name (None: moto's fallback)
        self._views: dict[str, Callable[..., Any] | None] = {}  # backend -> its one view's handler

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        backend = self._backend_of(environ)
        if backend is None:
            return self.domains(environ, start_response)
        handler = self._direct_handler(backend, environ)
        if handler is not None:
            return _answer(handler, environ, start_response)
        return self.application(backend)(environ, start_response)

    def application(self, backend: str) -> Any:
        """moto's Flask application for ``backend``, made once (under moto's lock, as moto does)."""
        app = self.domains.app_instances.get(backend)
        if app is None:
            with self.domains.lock:
                app = self.domains.app_instances.get(backend)
                if app is None:
                    app = self.domains.app_instances[backend] = self.domains.create_app(backend)  # type: ignore[arg-type]
        return app

    def _backend_of(self, environ: dict[str, Any]) -> str | None:
        path = environ.get("PATH_INFO", "")
        if not environ.get("HTTP_AUTHORIZATION") or path.startswith(_MOTO_OWN_PATHS):
            return None
        try:
            host = self.domains.infer_service_region_host(environ, path)
        except Exception:  # moto's own dispatcher fails the same way and answers for it
            return None
        if host is None:
            return None
        if host in self._backends:
            return self._backends[host]
        with self.domains.lock:
            backend = self.domains.get_backend_for_host(host)
        if len(self._backends) < _MAX_HOSTS:
            self._backends[host] = backend
        return backend if isinstance(backend, str) else None

    def _direct_handler(self, backend: str, environ: dict[str, Any]) -> Callable[..., Any] | None:
        if backend not in _DIRECT_BACKENDS or environ.get("REQUEST_METHOD") != "POST":
            return None
        if environ.get("PATH_INFO") != "/":
            return None
        if backend not in self._views:
            views = [
                view
                for view in self.application(backend).view_functions.values()
                if isinstance(view, convert_to_flask_response)
            ]
            self._views[backend] = views[0].callback if len(views) == 1 else None
        return self._views[backend]


def _answer(handler: Callable[..., Any], environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """What moto's Flask view (moto.core.utils.convert_to_flask_response) answers, without Flask."""
    request = normalize_request(BackendRequest(environ))
    recorder._record_request(request)
    try:
        result = handler(request, _raw_url(request, environ), dict(request.headers))
    except ClientError as exc:
        result = 400, {}, exc.response["Error"]["Message"]
    status, headers, content = result if len(result) == 3 else (200, {}, result)
    plain = _plain_answer(status, headers, content)
    if plain is None:
        return Response(response=content, status=status, headers=headers)(environ, start_response)
    start_response(*plain[:2])
    return [plain[2]]


_FIXED_BY_FLASK = frozenset({"content-length", "location", "content-location"})
_FLASK_CONTENT_TYPE = ("Content-Type", "text/html; charset=utf-8")  # Flask's default mimetype


def _plain_answer(status: Any, headers: Any, content: Any) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """What Flask's Response sends for a usual answer (a status with a body, one value a header),
    made without building one; None for any other answer (Flask's Response makes it then)."""
    if not isinstance(status, int) or status not in HTTP_STATUS_CODES or status < 200 or status in (204, 304):
        return None
    if not isinstance(content, (str, bytes)) or not isinstance(headers, dict):
        return None
    if any(isinstance(value, (list, tuple)) for value in headers.values()):
        return None  # several values a header
    pairs = [(str(name), str(value)) for name, value in headers.items()]
    names = {name.lower() for name, _ in pairs}
    if names & _FIXED_BY_FLASK or any("\n" in value or "\r" in value for _, value in pairs):
        return None
    if "content-type" not in names:
        pairs.append(_FLASK_CONTENT_TYPE)
    body = content.encode() if isinstance(content, str) else content
    pairs.append(("Content-Length", str(len(body))))
    return f"{status} {HTTP_STATUS_CODES[status].upper()}", pairs, body


def _raw_url(request: Any, environ: dict[str, Any]) -> str:
    """moto's ``Request.raw_url`` of a ``POST /`` (the guard let only a loopback ``name:port`` Host
    through), without werkzeug's URL building (it costs as much as the stream record of a write)."""
    host = environ.get("HTTP_HOST", "")
    if environ.get("QUERY_STRING") or environ.get("SCRIPT_NAME") or not host or host.endswith(":80"):
        return str(request.raw_url)
    return f"{environ['wsgi.url_scheme']}://{host.lower()}/"
