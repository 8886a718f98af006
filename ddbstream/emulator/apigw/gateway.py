"""The local API Gateway: a loopback HTTP listener serving every HTTP API moto holds.

An API answers at ``http://127.0.0.1:PORT/{apiId}/...`` (its ``$default`` stage). API
Gateway is public, so no stack secret is asked for; like the daemon, the listener answers
only a loopback Host, and refuses a request from a web page unless the API's CORS
configuration allows that origin.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ddbstream.emulator.apigw.access_log import write_access_log
from ddbstream.emulator.apigw.model import HttpApi, find_api, function_of
from ddbstream.emulator.apigw.payload import MalformedResponse, Reply, build_event, error_reply, read_response
from ddbstream.emulator.apigw.payload import request_id as new_request_id
from ddbstream.emulator.runtime import InvokeError, Throttled

log = logging.getLogger("ddbstream.emulator.apigw")

LOOPBACK = "127.0.0.1"
DEFAULT_TIMEOUT_MS = 30_000
CONCURRENCY = 32
MAX_REQUEST_BODY = 10 * 1024 * 1024  # an HTTP API's payload limit


class ApiGateway:
    """Routes requests to the function behind each route and maps the answers back."""

    def __init__(self, region: str, account: str, runtime: Any, port: int = 0):
        self.region = region
        self.account = account
        self.runtime = runtime
        self._calls = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="apigw-invoke")
        self._lock = threading.Lock()
        self.stats: dict[str, dict[str, Any]] = {}  # apiId -> requests, last_5xx
        self.server = make_server(LOOPBACK, port, self, threaded=True)
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.hosts = frozenset(f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]"))
        self._thread = threading.Thread(target=self.server.serve_forever, name="ddbstream-apigw", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._calls.shutdown(wait=False, cancel_futures=True)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        reply = self._answer(request)
        return Response(reply.body, status=reply.status, headers=reply.headers)(environ, start_response)

    def _answer(self, request: Request) -> Reply:
        rid, now = new_request_id(), time.time()
        if request.host.lower() not in self.hosts:
            return error_reply(403, "Forbidden", rid)
        api_id, _, rest = request.path.lstrip("/").partition("/")
        api = find_api(self.account, self.region, api_id)
        if api is None or api.stage is None:
            return error_reply(404, "Not Found", rid)
        origin = request.headers.get("Origin")
        allowed = _allowed_origin(api, origin)
        if origin is not None and allowed is None:
            return error_reply(403, "Forbidden", rid)
        if allowed is not None and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return _preflight(api, allowed, rid)
        if (request.content_length or 0) > MAX_REQUEST_BODY:
            return error_reply(413, "Request Entity Too Large", rid)
        raw_path = "/" + rest
        reply, context = self._route(request, api, raw_path, rid, now)
        if allowed is not None:
            reply.headers += [("access-control-allow-origin", allowed), ("vary", "Origin")]
        self._record(api, reply, context, request, (raw_path, rid, now))
        return reply

    def _route(self, request: Request, api: HttpApi, raw_path: str, rid: str, now: float) -> tuple[Reply, dict]:
        context: dict[str, Any] = {"routeKey": "-", "integrationErrorMessage": None}
        selected = api.select(request.method, raw_path)
        function = function_of(selected[0].integration) if selected else None
        if selected is None or function is None:
            return error_reply(404, "Not Found", rid), context
        route, params = selected
        context["routeKey"] = route.key
        event = build_event(request, api.api_id, self.account, route.key, params, raw_path, rid, now)
        timeout_ms = getattr(route.integration, "timeout_in_millis", None) or DEFAULT_TIMEOUT_MS
        reply, error = self._invoke(function, event, timeout_ms / 1000, rid)
        context["integrationErrorMessage"] = error
        return reply, context

    def _invoke(self, function: str, event: dict, timeout: float, rid: str) -> tuple[Reply, str | None]:
        """Call the function; API Gateway's answer and the integration error, if any."""
        future = self._calls.submit(self.runtime.invoke, function, json.dumps(event).encode())
        try:
            result = future.result(timeout=timeout)
        except FutureTimeout:
            return error_reply(503, "Service Unavailable", rid), "the integration timed out"
        except Throttled as exc:
            return error_reply(429, "Too Many Requests", rid), str(exc)
        except InvokeError as exc:
            return error_reply(500, "Internal Server Error", rid), str(exc)
        if result.function_error:
            return error_reply(500, "Internal Server Error", rid), _error_message(result.payload)
        try:
            reply = read_response(result.payload)
        except MalformedResponse as exc:
            return error_reply(502, "Internal Server Error", rid), f"malformed Lambda proxy response: {exc}"
        reply.headers.append(("apigw-requestid", rid))
        return reply, None

    def _record(self, api: HttpApi, reply: Reply, context: dict, request: Request, where: tuple) -> None:
        """Count the request (and a 5xx) and write its access log line."""
        raw_path, rid, now = where
        with self._lock:
            stats = self.stats.setdefault(api.api_id, {"requests": 0, "last_5xx": None})
            stats["requests"] += 1
            if reply.status >= 500:
                stats["last_5xx"] = {"at": now, "status": reply.status, "route": context["routeKey"]}
        context.update(
            {
                "requestId": rid,
                "extendedRequestId": rid,
                "apiId": api.api_id,
                "stage": "$default",
                "httpMethod": request.method,
                "path": raw_path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "status": reply.status,
                "responseLength": len(reply.body),
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now),
                "identity.sourceIp": request.remote_addr,
                "identity.userAgent": request.headers.get("User-Agent"),
                "responseLatency": int((time.time() - now) * 1000),
            }
        )
        from moto.logs.models import logs_backends

        try:
            write_access_log(api.stage, api.api_id, context, lambda: logs_backends[self.account][self.region])
        except Exception:  # a broken log group must not fail the request
            log.exception("writing the access log of %s failed", api.api_id)


def _allowed_origin(api: HttpApi, origin: str | None) -> str | None:
    if origin is None:
        return None
    allowed = api.cors.get("AllowOrigins") or api.cors.get("allowOrigins") or []
    return origin if origin in allowed else ("*" if "*" in allowed else None)


def _preflight(api: HttpApi, origin: str, rid: str) -> Reply:
    def joined(name: str, default: str) -> str:
        values = api.cors.get(name[0].upper() + name[1:]) or api.cors.get(name)
        return ",".join(values) if values else default

    headers = [
        ("access-control-allow-origin", origin),
        ("access-control-allow-methods", joined("allowMethods", "*")),
        ("access-control-allow-headers", joined("allowHeaders", "*")),
        ("apigw-requestid", rid),
        ("vary", "Origin"),
    ]
    max_age = api.cors.get("MaxAge") or api.cors.get("maxAge")
    if max_age:
        headers.append(("access-control-max-age", str(max_age)))
    return Reply(204, headers, b"")


def _error_message(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("errorMessage", "the function failed"))
    except (ValueError, AttributeError):
        return "the function failed"
