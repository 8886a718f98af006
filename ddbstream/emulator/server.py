"""The local daemon's single loopback HTTP endpoint.

Requests for the routes our engine owns (health, Lambda event source mappings, Lambda
Invoke, ...) go to their handlers; everything else goes to moto's WSGI application, which
holds the AWS resources in memory. The server knows routes and shutdown hooks, not the
components behind them: daemon.py assembles those.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.backends import get_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.utilities.utils import get_partition
from werkzeug.wrappers import Request, Response

from ddbstream.emulator.dispatch import MotoDispatch
from ddbstream.emulator.guard import RequestGuard
from ddbstream.emulator.http import Handler, Route, aws_error, json_response
from ddbstream.emulator.http_server import KeepAliveServer

log = logging.getLogger("ddbstream.emulator")

LOOPBACK = "127.0.0.1"


def _straight(app: Callable[..., Any], environ: dict[str, Any], start_response: Any) -> Any:
    return app(environ, start_response)


@dataclass
class Emulator:
    """moto plus the routes the daemon adds on top of it, its shutdown hooks and its health document."""

    region: str = "us-east-1"
    account: str = "123456789012"
    endpoint: str = ""
    started_at: float = field(default_factory=time.time)
    routes: list[Route] = field(default_factory=list)
    component_names: list[str] = field(default_factory=list)  # listed by the health route (set by daemon.py)
    restored: str | None = None  # what the durable store brought back at start (emulator/store/)
    secret: str = "testing"  # the stack secret every request must carry (emulator/guard.py)
    token: str = ""  # names this daemon process on the health route (the CLI checks it before signalling)
    # hands each request to moto_entry and may watch the answer (metrics: DynamoDB's UserErrors)
    around_moto: Callable[[Callable[..., Any], dict[str, Any], Any], Any] = field(default=_straight)
    _shutdown_hooks: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.moto_app = MotoDispatch(DomainDispatcherApplication(create_backend_app))
        self.moto_entry: Callable[..., Any] = self.moto_app  # what requests for moto go through (a journal)
        self.add_route("GET", r"/_ddbstream/health", self._health)

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method, re.compile(f"^{pattern}$"), handler))

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        self._shutdown_hooks.append(hook)

    def shutdown(self) -> None:
        """Run the shutdown hooks, last registered first (drains in-flight work)."""
        for hook in reversed(self._shutdown_hooks):
            try:
                hook()
            except Exception:  # one hook failing must not keep the others from running
                log.exception("shutdown hook failed")

    def _health(self, request: Request, match: re.Match[str]) -> Response:
        return json_response(
            {
                "status": "ok",
                "pid": os.getpid(),
                "started_at": self.started_at,
                "endpoint": self.endpoint,
                "region": self.region,
                "components": sorted(self.component_names),
                "restored": self.restored,
                "token": self.token,
            }
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        for route in self.routes:
            if route.method != method:
                continue
            match = route.pattern.match(path)
            if match:
                request = Request(environ)
                try:
                    response = route.handler(request, match)
                except Exception as exc:  # a bug in a handler must not kill the request thread silently
                    log.exception("handler for %s %s failed", method, path)
                    response = aws_error("ServiceException", f"internal error: {exc}", 500)
                return response(environ, start_response)
        return self.around_moto(self.moto_entry, environ, start_response)


# The services a pipeline uses, loaded in the background once the daemon answers so that
# `ddbstream up`'s first request to each does not pay for importing moto's backend.
PIPELINE_SERVICES = (
    "dynamodb",
    "dynamodbstreams",
    "sqs",
    "lambda",
    "iam",
    "logs",
    "sns",
    "s3",
    "events",
    "cloudwatch",
    "sts",
)


def warm_up(emulator: Emulator, services: tuple[str, ...] = PIPELINE_SERVICES) -> threading.Thread:
    """Load moto's backends and WSGI apps for ``services`` in a background thread."""

    def load() -> None:
        for service in services:
            try:
                backends = get_backend(service)[emulator.account]
                # Global services (iam, s3, sts) keep one backend per partition, not per region.
                backends[emulator.region if emulator.region in backends else get_partition(emulator.region)]
                emulator.moto_app.application(service)
            except Exception:  # warming is an optimisation: a failure here only costs time later
                log.debug("warming %s failed", service, exc_info=True)

    thread = threading.Thread(target=load, name="ddbstream-warm-up", daemon=True)
    thread.start()
    return thread


class DaemonServer:
    """An HTTP/1.1 server on 127.0.0.1 (a thread per connection) serving an Emulator."""

    def __init__(self, emulator: Emulator, port: int = 0, cors_origins: tuple[str, ...] = ()):
        self.emulator = emulator
        self.guard = RequestGuard(emulator, emulator.secret, cors_origins)
        self.server = KeepAliveServer(LOOPBACK, port, self.guard)
        self.port = self.server.server_address[1]
        self.guard.listen_on(self.port)
        emulator.endpoint = f"http://{LOOPBACK}:{self.port}"
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="ddbstream-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests (open connections take no new one), then let the components drain."""
        self.server.closing.set()
        self.server.shutdown()
        self.emulator.shutdown()
        self.server.server_close()
