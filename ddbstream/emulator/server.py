"""The local daemon's single loopback HTTP endpoint.

Requests for the routes our engine owns (health, Lambda event source mappings, Lambda
Invoke, ...) go to their handlers; everything else goes to moto's WSGI application, which
holds the AWS resources in memory.
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

from werkzeug.wrappers import Request, Response

from ddbstream.emulator.http import Handler, Route, aws_error, json_response

log = logging.getLogger("ddbstream.emulator")

LOOPBACK = "127.0.0.1"


@dataclass
class Emulator:
    """moto plus the routes and components the daemon adds on top of it."""

    region: str = "us-east-1"
    account: str = "123456789012"
    endpoint: str = ""
    started_at: float = field(default_factory=time.time)
    routes: list[Route] = field(default_factory=list)
    components: dict[str, Any] = field(default_factory=dict)
    restored: str | None = None  # what a snapshot brought back at start (emulator/snapshot.py)
    _shutdown_hooks: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.moto_app = DomainDispatcherApplication(create_backend_app)
        self.add_route("GET", r"/_ddbstream/health", self._health)

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method, re.compile(f"^{pattern}$"), handler))

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        self._shutdown_hooks.append(hook)

    def shutdown(self) -> None:
        """Run the components' shutdown hooks, last registered first (drains in-flight work)."""
        for hook in reversed(self._shutdown_hooks):
            try:
                hook()
            except Exception:  # one component failing to stop must not keep the others running
                log.exception("shutdown hook failed")

    def _health(self, request: Request, match: re.Match[str]) -> Response:
        return json_response(
            {
                "status": "ok",
                "pid": os.getpid(),
                "started_at": self.started_at,
                "endpoint": self.endpoint,
                "region": self.region,
                "components": sorted(self.components),
                "restored": self.restored,
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
        return self.moto_app(environ, start_response)


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
    from moto.backends import get_backend
    from moto.moto_server.werkzeug_app import create_backend_app

    def load() -> None:
        dispatcher = emulator.moto_app
        for service in services:
            try:
                get_backend(service)[emulator.account][emulator.region]
                with dispatcher.lock:
                    if service not in dispatcher.app_instances:
                        dispatcher.app_instances[service] = create_backend_app(service)
            except Exception:  # warming is an optimisation: a failure here only costs time later
                log.debug("warming %s failed", service, exc_info=True)

    thread = threading.Thread(target=load, name="ddbstream-warm-up", daemon=True)
    thread.start()
    return thread


def build_emulator(region: str = "us-east-1") -> Emulator:
    """The emulator with every component installed."""
    emulator = Emulator(region=region)
    for install in _component_installers():
        install(emulator)
    return emulator


def _component_installers() -> list[Callable[[Emulator], None]]:
    """Each component module exposes ``install(emulator)``; the order matters (streams first)."""
    from ddbstream.emulator import esm, runtime, streams

    installers: list[Callable[[Emulator], None]] = [streams.install, runtime.install, esm.install]
    return installers


class DaemonServer:
    """A threaded HTTP server on 127.0.0.1 serving an Emulator."""

    def __init__(self, emulator: Emulator, port: int = 0):
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self.emulator = emulator
        self.server = make_server(LOOPBACK, port, emulator, threaded=True, request_handler=MotoRequestHandler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        emulator.endpoint = f"http://{LOOPBACK}:{self.port}"
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="ddbstream-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, then let the components drain."""
        self.server.shutdown()
        self.emulator.shutdown()
        self.server.server_close()
