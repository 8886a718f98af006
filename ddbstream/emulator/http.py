"""What every route of the daemon shares: the route type and AWS-shaped JSON responses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

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
