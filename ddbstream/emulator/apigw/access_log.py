"""A stage's access log: one line per request in the log group of its AccessLogSettings,
with the ``$context`` variables of its format filled in (``-`` for one that has no value)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ddbstream.emulator.runtime.logs import LogStreamWriter

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


def render(template: str, context: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1))
        return "-" if found is None or found == "" else str(found)

    return _VARIABLE.sub(value, template)


def write_access_log(stage: Any, api_id: str, context: dict[str, Any], backend: Callable[[], Any]) -> None:
    """Append the request's line to the stage's access log group, if the stage has one."""
    settings = getattr(stage, "access_log_settings", None) or {}
    arn, template = settings.get("destinationArn"), settings.get("format")
    if not arn or not template:
        return
    group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
    LogStreamWriter(backend, group, f"{api_id}_{stage.name}").write([render(template, context)])
