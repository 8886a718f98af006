"""Selecting and rendering Lambda lines in tail's formats: line, pretty, short, json and raw.

``line`` (the default) prints one line an event, as ``aws logs tail`` does: a JSON payload stays
compact (highlighted on a terminal) and line breaks in a message are shown escaped. ``pretty`` is
the same head with long JSON payloads indented below it and messages keeping their line breaks.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from ddbstream.durations import iso_ms
from ddbstream.errors import InvalidInput
from ddbstream.items import dumps_plain
from ddbstream.logs.lines import ERROR_LEVELS, Line, LineParser
from ddbstream.logs.source import LogEvent
from ddbstream.terminal import json_text, safe, safe_json

FORMATS = ("line", "pretty", "short", "json", "raw")
DEFAULT_FORMAT = "line"
_REQUEST_COLOURS = ("cyan", "magenta", "blue", "green", "yellow", "bright_cyan", "bright_magenta", "bright_blue")
_INLINE_JSON_CHARS = 100  # longer JSON payloads are printed indented below their line


def compile_grep(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"invalid --grep regular expression {pattern!r}: {exc}") from None


def selected(line: Line, grep: re.Pattern[str] | None, request_id: str | None) -> bool:
    if request_id is not None and line.request_id != request_id:
        return False
    if grep is not None and not grep.search(line.event.message):
        return False
    return True


def _short_id(request_id: str | None) -> str:
    return (request_id or "-")[:8].ljust(8)


def _request_style(request_id: str | None) -> str:
    if not request_id:
        return "dim"
    return _REQUEST_COLOURS[sum(map(ord, request_id)) % len(_REQUEST_COLOURS)]


def _level_style(level: str | None) -> str:
    if level in ERROR_LEVELS:
        return "bold red"
    if level == "WARN":
        return "yellow"
    if level in ("DEBUG", "TRACE"):
        return "dim"
    return "green"


def summarise_report(report: dict[str, str]) -> str:
    """REPORT fields -> '12.3 ms (billed 13 ms) · 50/128 MB · init 101.2 ms'."""
    parts = []
    if "Duration" in report:
        billed = f" (billed {report['Billed Duration']})" if "Billed Duration" in report else ""
        parts.append(f"{report['Duration']}{billed}")
    if "Max Memory Used" in report:
        size = report.get("Memory Size", "?").replace(" MB", "")
        parts.append(f"{report['Max Memory Used'].replace(' MB', '')}/{size} MB")
    if "Init Duration" in report:
        parts.append(f"init {report['Init Duration']}")
    if report.get("Status") and report["Status"].lower() != "success":
        parts.append(f"status {report['Status']}")
    return " · ".join(parts)


def _shown(line: Line, multiline: bool) -> Line:
    """The line with what it shows made terminal-safe (its text keeps its line breaks when ``multiline``)."""
    return dataclasses.replace(
        line,
        text=safe(line.text, multiline=multiline),
        request_id=None if line.request_id is None else safe(line.request_id),
        report={name: safe(value) for name, value in line.report.items()},
    )


def render_pretty(line: Line):
    """A rich renderable for one line, long JSON payloads expanded below it (None for END lines)."""
    return _render(line, expand=True)


def render_line(line: Line):
    """A rich Text of exactly one line for one line (None for END lines, folded as in pretty)."""
    return _render(line, expand=False)


def _render(line: Line, expand: bool):
    from rich.text import Text  # rich is slow to import: only when printing

    if line.kind == "end":
        return None
    line = _shown(line, multiline=expand)
    stamp = iso_ms(line.event.timestamp)[11:23]
    head = Text()
    head.append(stamp, style="dim")
    head.append(" ")
    head.append(_short_id(line.request_id), style=_request_style(line.request_id))
    head.append(" ")
    if line.kind == "start":
        version = line.report.get("Version")
        head.append("START ", style="dim")
        head.append(f"{line.request_id}" + (f" ({version})" if version else ""), style="dim")
        return head
    if line.kind == "report":
        head.append("REPORT ", style="bold red" if line.failed else "dim")
        head.append(summarise_report(line.report), style="red" if line.failed else "dim")
        return head
    if line.kind == "platform":
        head.append(line.text, style="dim")
        return head
    level = line.level or "INFO"
    head.append(f"{level:<5}", style=_level_style(level if line.level or not line.failed else "ERROR"))
    head.append(" ")
    if line.is_json:
        return _with_json_body(head, line, expand)
    head.append(line.text, style="red" if line.failed else None)
    return head


def _with_json_body(head, line: Line, expand: bool):
    """The line's JSON payload after its head: inline when short (or not ``expand``), else indented below it."""
    from rich.console import Group
    from rich.text import Text

    compact = json.dumps(line.data, ensure_ascii=False)
    if not expand or len(compact) <= _INLINE_JSON_CHARS:
        head.append_text(json_text(compact) if not line.failed else Text(safe_json(compact), style="red"))
        return head
    body = json_text(json.dumps(line.data, ensure_ascii=False, indent=2))
    if line.failed:
        body.stylize("red")
    indented = Text("\n").join(Text("  ") + part for part in body.split("\n"))
    head.rstrip()
    return Group(head, indented)


def render_short(line: Line) -> str:
    return f"{iso_ms(line.event.timestamp)} {render_raw(line.event)}"


def render_raw(event: LogEvent) -> str:
    """The message as the function wrote it, its controls shown escaped."""
    return safe(event.message.rstrip("\n"), multiline=True)


class Renderer:
    """Log events -> what to print in one format (str, or rich renderables for pretty)."""

    def __init__(self, fmt: str = DEFAULT_FORMAT, grep: re.Pattern[str] | None = None, request_id: str | None = None):
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
        self.fmt = fmt
        self.grep = grep
        self.request_id = request_id
        self.parser = LineParser()

    def render(self, event: LogEvent) -> Any:
        """The output for one event, or None when it is filtered out or folded away."""
        line = self.parser.parse(event)
        if not selected(line, self.grep, self.request_id):
            return None
        if self.fmt == "raw":
            return render_raw(event)
        if self.fmt == "short":
            return render_short(line)
        if self.fmt == "json":
            return safe_json(dumps_plain(line.as_json()))
        if self.fmt == "line":
            return render_line(line)
        return render_pretty(line)
