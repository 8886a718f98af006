"""Tail a Lambda function's CloudWatch log group: read, follow, parse and render its events.

source: the event types and FilterLogEvents paging; follow: backfill, polling and live tail;
lines: Lambda's line formats; render: tail's output formats.
"""

from ddbstream.logs.follow import Seen, Tail
from ddbstream.logs.lines import Line, LineParser
from ddbstream.logs.render import (
    DEFAULT_FORMAT,
    FORMATS,
    Renderer,
    compile_grep,
    render_line,
    render_pretty,
    render_short,
    selected,
    summarise_report,
)
from ddbstream.logs.source import LogEvent, LogSource, Notice, Throttled, error_code, log_group_for

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "Line",
    "LineParser",
    "LogEvent",
    "LogSource",
    "Notice",
    "Renderer",
    "Seen",
    "Tail",
    "Throttled",
    "compile_grep",
    "error_code",
    "log_group_for",
    "render_line",
    "render_pretty",
    "render_short",
    "selected",
    "summarise_report",
]
