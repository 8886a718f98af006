"""Understanding Lambda's log lines: START/END/REPORT, platform lines, runtime prefixes, JSON payloads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ddbstream.durations import iso_ms
from ddbstream.logs.source import LogEvent

_TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
_LEVELS = "TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL"
_START = re.compile(r"^START RequestId: (\S+)(?: Version: (\S+))?")
_END = re.compile(r"^END RequestId: (\S+)")
_REPORT = re.compile(r"^REPORT RequestId: (\S+)\s*(.*)$", re.DOTALL)
_INIT = re.compile(r"^(INIT_START|INIT_REPORT|EXTENSION|TELEMETRY)\b")
# Node.js, Java... console lines: "<ts>\t<request id>\t<LEVEL>\t<message>"
_TAB_PREFIX = re.compile(rf"^({_TS})\t(\S+)\t({_LEVELS})\t(.*)$", re.DOTALL)
# Python's logging in Lambda: "[LEVEL]\t<ts>\t<request id>\t<message>"
_PY_PREFIX = re.compile(rf"^\[({_LEVELS})\]\t({_TS})\t(\S+)\t(.*)$", re.DOTALL)
# Python's unhandled exception: "[ERROR] Type: message\rTraceback ..."
_PY_ERROR = re.compile(r"^\[(ERROR|CRITICAL)\] (.*)$", re.DOTALL)
_TIMEOUT = re.compile(rf"^(?:({_TS}) )?(\S+ )?Task timed out after ([\d.]+) seconds")
_REPORT_FIELD = re.compile(r"([A-Za-z][A-Za-z ]*?): ([^\t]+)")
ERROR_LEVELS = {"ERROR", "FATAL", "CRITICAL"}


@dataclass
class Line:
    """A log event understood as a Lambda line."""

    event: LogEvent
    kind: str  # start | end | report | platform | log
    text: str  # the message without Lambda's prefix
    request_id: str | None = None
    level: str | None = None
    data: Any = None  # the payload when the text is JSON
    is_json: bool = False
    report: dict[str, str] = field(default_factory=dict)
    failed: bool = False  # timeouts, errors, tracebacks

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timestamp": iso_ms(self.event.timestamp),
            "epochMillis": self.event.timestamp,
            "logStreamName": self.event.stream,
            "eventId": self.event.event_id,
            "requestId": self.request_id,
            "kind": self.kind,
            "level": self.level,
            "message": self.event.message.rstrip("\n"),
        }
        if self.is_json:
            out["data"] = self.data
        if self.report:
            out["report"] = self.report
        return out


class LineParser:
    """Parses events into Lines; remembers each stream's running invocation, so lines a handler
    prints without a prefix (Python's print) still get their request id."""

    def __init__(self) -> None:
        self.running: dict[str, str] = {}

    def parse(self, event: LogEvent) -> Line:
        message = event.message.rstrip("\n")
        return self._lambda_line(event, message) or self._handler_line(event, message)

    def _lambda_line(self, event: LogEvent, message: str) -> Line | None:
        """A line Lambda itself writes (START, END, REPORT, INIT..., a timeout), or None."""
        if match := _START.match(message):
            self.running[event.stream] = match.group(1)
            line = Line(event, "start", message, match.group(1))
            if match.group(2):
                line.report = {"Version": match.group(2)}
            return line
        if match := _END.match(message):
            self.running.pop(event.stream, None)
            return Line(event, "end", message, match.group(1))
        if match := _REPORT.match(message):
            fields = {k.strip(): v.strip() for k, v in _REPORT_FIELD.findall(match.group(2))}
            status = fields.get("Status", "").lower()
            return Line(event, "report", message, match.group(1), report=fields, failed=status not in ("", "success"))
        if _INIT.match(message):
            return Line(event, "platform", message, self.running.get(event.stream))
        if match := _TIMEOUT.match(message):
            request_id = (match.group(2) or "").strip() or self.running.get(event.stream)
            return Line(event, "log", message[message.index("Task timed out") :], request_id, "ERROR", failed=True)
        return None

    def _handler_line(self, event: LogEvent, message: str) -> Line:
        """A line the handler wrote, with or without its runtime's prefix; JSON payloads decoded."""
        request_id, level, text = self.running.get(event.stream), None, message
        if match := _TAB_PREFIX.match(message):
            request_id, level, text = match.group(2), match.group(3), match.group(4)
        elif match := _PY_PREFIX.match(message):
            level, request_id, text = match.group(1), match.group(3), match.group(4)
        elif match := _PY_ERROR.match(message):
            level, text = match.group(1), match.group(2)
        text = text.replace("\r", "\n")
        line = Line(event, "log", text, request_id, level)
        stripped = text.strip()
        if stripped[:1] in ("{", "["):
            try:
                line.data = json.loads(stripped)
                line.is_json = True
            except ValueError:
                pass
        if line.is_json and isinstance(line.data, dict) and line.level is None:
            found = line.data.get("level") or line.data.get("levelname")
            if isinstance(found, str) and found.upper() in _LEVELS.split("|"):
                line.level = found.upper()
        if line.level == "WARNING":
            line.level = "WARN"
        line.failed = line.level in ERROR_LEVELS or "Traceback (most recent call last)" in text
        return line
