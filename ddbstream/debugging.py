"""Debug mode of the local target: a function's next worker waits for a debugger on 127.0.0.1:PORT.

`up --debug` turns it on for the consumer (and a plain `up` off); `invoke --debug` turns it on for
one invocation and puts back what was there. The daemon does the rest (emulator/runtime/debug_api.py).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

from ddbstream.errors import DaemonError, DdbstreamError, InvalidInput, NotFound
from ddbstream.pipeline import Pipeline
from ddbstream.stack_secret import authorization_for

DEFAULT_PORT = 5678  # debugpy's and VS Code's usual port (Node.js's own default is 9229)
DEBUG_READ_TIMEOUT = 24 * 3600.0  # an invocation held at a breakpoint answers when the developer is done


def waiting_line(port: int) -> str:
    return f"waiting for a debugger on 127.0.0.1:{port}"


def require_local(target: str) -> None:
    if target != "local":
        raise InvalidInput("--debug works on the local target only (a debugger cannot attach to AWS Lambda)")


def set_debug(pipeline: Pipeline, function: str, port: int | None) -> int | None:
    """Turn debug mode on (``port``) or off (None) for ``function``; returns its port now."""
    body = None if port is None else {"port": port}
    answer = _call(pipeline, "DELETE" if port is None else "PUT", function, body)
    return answer.get("port")


def debug_port(pipeline: Pipeline, function: str) -> int | None:
    """The function's debug port, or None when debug mode is off."""
    return _call(pipeline, "GET", function, None).get("port")


@contextmanager
def debugging(pipeline: Pipeline, function: str, port: int) -> Iterator[Any]:
    """Debug mode for the time of the block (then as it was); yields a Lambda client that waits."""
    from ddbstream.clients import local_client

    require_local(pipeline.target)
    before = debug_port(pipeline, function)
    set_debug(pipeline, function, port)
    try:
        yield local_client("lambda", pipeline.endpoint, pipeline.region, pipeline.secret, DEBUG_READ_TIMEOUT)
    finally:
        if before != port:
            set_debug(pipeline, function, before)


def _call(pipeline: Pipeline, method: str, function: str, body: dict | None) -> dict:
    """One request to the daemon's debug route; its refusal as one clear error."""
    address = urlsplit(pipeline.endpoint or "")
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=10)
    headers = {"Authorization": authorization_for(pipeline.secret or ""), "Content-Type": "application/json"}
    try:
        connection.request(
            method,
            f"/_ddbstream/functions/{quote(function, safe='')}/debug",
            json.dumps(body) if body else None,
            headers,
        )
        response = connection.getresponse()
        status, answer = response.status, json.loads(response.read() or b"{}")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DaemonError(f"the local daemon did not answer ({exc}): is the stack up? run 'ddbstream up'") from None
    finally:
        connection.close()
    if status == 200:
        return answer
    message = answer.get("message") or answer.get("Message") or f"HTTP {status}"
    if status == 404:
        raise NotFound(f"function {function} does not exist")
    if status == 409:
        raise InvalidInput(message)
    raise DdbstreamError(f"debug mode for {function}: {message}")
