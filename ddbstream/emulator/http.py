"""What every route of the daemon shares: the route type, AWS-shaped JSON responses, a request's body."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

Handler = Callable[[Request, "re.Match[str]"], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def aws_error(code: str, message: str, status: int = 400) -> Response:
    """An error in the REST-JSON shape botocore parses (Lambda's APIs use it)."""
    return json_response(
        {"Type": "User", "Message": message, "message": message},
        status=status,
        headers={"x-amzn-ErrorType": code},
    )


def request_body(environ: dict[str, Any]) -> bytes:
    """A WSGI request's body, left readable for the application. The daemon's server has read
    it whole already: then it is that buffer's bytes, not a copy (this runs for every write)."""
    source = environ.get("wsgi.input")
    if isinstance(source, io.BytesIO) and source.tell() == 0:
        body = source.getvalue()
        if len(body) == int(environ.get("CONTENT_LENGTH") or 0):
            return body
    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    return body
