"""A target's input: the whole event, or its ``Input``, ``InputPath`` or ``InputTransformer``.

An InputTransformer fills its template's ``<name>`` placeholders from its InputPathsMap
(JSONPath into the event) and EventBridge's own ``<aws.events.*>`` variables. Outside a JSON
string a value goes in as JSON (a string quoted); inside one, a string goes in as it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def target_input(target: dict[str, Any], event: dict[str, Any], rule_arn: str, rule_name: str) -> str:
    """The text the target receives."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        return json.dumps(at_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: at_path(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
        values.update(
            {
                "aws.events.event": event,
                "aws.events.event.json": event,
                "aws.events.rule-arn": rule_arn,
                "aws.events.rule-name": rule_name,
                "aws.events.event.ingestion-time": event.get("time"),
            }
        )
        return fill(transformer.get("InputTemplate") or "", values)
    return json.dumps(event)


def at_path(event: Any, path: str) -> Any:
    """A JSONPath of the simple kind EventBridge takes ($, $.a.b, $.a[0]); None when absent."""
    value = event
    rest = path.strip()
    if not rest.startswith("$"):
        return None
    for key, index in _PATH_PART.findall(rest[1:]):
        if key:
            value = value.get(key) if isinstance(value, dict) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        if value is None:
            return None
    return value


def fill(template: str, values: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        if _inside_string(template, match.start()):
            text = value if isinstance(value, str) else json.dumps(value)
            return json.dumps(text)[1:-1] if value is not None else ""
        return json.dumps(value)

    return _PLACEHOLDER.sub(replace, template)


def _inside_string(template: str, position: int) -> bool:
    """Whether ``position`` is inside a JSON string (after an odd number of unescaped quotes)."""
    quotes, escaped = 0, False
    for char in template[:position]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quotes += 1
    return quotes % 2 == 1
