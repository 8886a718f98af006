"""Debug mode's route: `up --debug` and `invoke --debug` turn it on for one function.

In debug mode the function's next worker listens for a debugger on 127.0.0.1:PORT (debugpy for
Python, the V8 inspector for Node.js) and waits for one before it runs the handler; the function
has no timeout and one worker at a time (pool.py), so a mapping just waits for it.
"""

from __future__ import annotations

import json
import re

from werkzeug.wrappers import Request, Response

from ddbstream.emulator.http import aws_error, json_response
from ddbstream.emulator.runtime.model import InvokeError
from ddbstream.emulator.runtime.pool import LambdaRuntime
from ddbstream.ports import port_in_use

DEBUG_PATH = r"/_ddbstream/functions/(?P<function>[A-Za-z0-9_-]{1,140})/debug"


def add_debug_routes(emulator, runtime: LambdaRuntime) -> None:
    """GET (the port, or null), PUT {"port": N} (on) and DELETE (off) a function's debug mode."""
    for method in ("GET", "PUT", "DELETE"):
        emulator.add_route(method, DEBUG_PATH, lambda request, match: debug_route(runtime, request, match))


def debug_route(runtime: LambdaRuntime, request: Request, match: re.Match[str]) -> Response:
    name = match.group("function")
    try:
        runtime.resolve(name)  # 404 for a function that does not exist
        if request.method == "PUT":
            port = _requested_port(request.get_data())
            if runtime.debug.ports.get(name) != port:
                _check_free(runtime, port)
            runtime.set_debug(name, port)
        elif request.method == "DELETE":
            runtime.set_debug(name, None)
    except InvokeError as exc:
        return aws_error(exc.code, exc.message, exc.status)
    return json_response({"function": name, "port": runtime.debug.ports.get(name)})


def _requested_port(body: bytes) -> int:
    try:
        port = json.loads(body or b"{}").get("port")
    except (ValueError, AttributeError):
        port = None
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise InvokeError('the body must be {"port": N} with N from 1 to 65535', "InvalidParameterValueException", 400)
    return port


def _check_free(runtime: LambdaRuntime, port: int) -> None:
    """Refuse a port another function debugs on, or that something else listens on."""
    others = [name for name, used in runtime.debug.ports.items() if used == port]
    if others:
        raise InvokeError(f"port {port} is already the debug port of {others[0]}", "ResourceConflictException", 409)
    if port_in_use(port):
        raise InvokeError(
            f"port {port} is in use on 127.0.0.1: choose another with --debug-port", "ResourceConflictException", 409
        )
