"""Tail a Lambda function's CloudWatch log group: backfill, follow, parse and format.

Backfill and local following use FilterLogEvents (paged, interleaved). Each poll re-reads a
short window before the newest event seen, so events that CloudWatch ingests late or that
share the boundary millisecond are neither skipped nor shown twice (events already shown
are remembered by event id). On AWS, following uses StartLiveTail, which returns only new
events and carries no event ids: a FilterLogEvents catch-up runs whenever a session starts,
and the two sources are reconciled by (stream, timestamp, message).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ddbstream.errors import AwsError, DdbstreamError, InvalidInput, NotFound
from ddbstream.names import lambda_log_group

LOCAL_POLL_SECONDS = 0.25  # the local daemon is cheap to ask: at most 4 polls a second
AWS_POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
LOCAL_LOOKBACK_MS = 2_000
AWS_LOOKBACK_MS = 10_000  # CloudWatch may ingest an event some seconds after its timestamp
LIVE_TAIL_SESSION_SECONDS = 3 * 3600 - 10 * 60  # reconnect well before AWS ends a session at 3 h
THROTTLING_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "LimitExceededException",
    "RequestLimitExceeded",
}


@dataclass(frozen=True)
class LogEvent:
    """One CloudWatch log event."""

    timestamp: int  # epoch ms
    message: str
    stream: str
    event_id: str | None = None  # FilterLogEvents only; StartLiveTail gives none
    ingestion_time: int | None = None

    @property
    def fingerprint(self) -> tuple[str, int, str]:
        return (self.stream, self.timestamp, self.message)


@dataclass(frozen=True)
class Notice:
    """Something to tell the user while tailing (sampling, reconnects, fallbacks)."""

    text: str


class Throttled(Exception):
    """CloudWatch asked us to slow down."""


def log_group_for(function_or_group: str) -> str:
    """A function name -> its log group; a name starting with '/' is taken as a log group already."""
    if function_or_group.startswith("/"):
        return function_or_group
    return lambda_log_group(function_or_group)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


# ---------------------------------------------------------------- fetching


class LogSource:
    """FilterLogEvents over one log group."""

    def __init__(self, client: Any, group: str, filter_pattern: str | None = None):
        self.client = client
        self.group = group
        self.filter_pattern = filter_pattern
        self.page_limit: int | None = None  # events per page (CloudWatch's default when None)

    def fetch(self, start_ms: int, end_ms: int | None = None) -> Iterator[list[LogEvent]]:
        """Pages of events in [start_ms, end_ms], each page sorted by timestamp."""
        from botocore.exceptions import ClientError

        # interleaved is always on at AWS (the parameter is deprecated); moto still needs it.
        kwargs: dict[str, Any] = {"logGroupName": self.group, "startTime": int(start_ms), "interleaved": True}
        if end_ms is not None:
            kwargs["endTime"] = int(end_ms)
        if self.filter_pattern:
            kwargs["filterPattern"] = self.filter_pattern
        if self.page_limit:
            kwargs["limit"] = self.page_limit
        token = None
        while True:
            if token:
                kwargs["nextToken"] = token
            try:
                page = self.client.filter_log_events(**kwargs)
            except ClientError as exc:
                code = error_code(exc)
                if code == "ResourceNotFoundException":
                    raise NotFound(f"log group {self.group} does not exist (has the function run yet?)") from None
                if code in THROTTLING_CODES:
                    raise Throttled(code) from None
                if code == "InvalidParameterException" and self.filter_pattern:
                    raise InvalidInput(
                        f"invalid --filter-pattern {self.filter_pattern!r}: "
                        f"{exc.response['Error'].get('Message', code)}"
                    ) from None
                raise AwsError(f"FilterLogEvents on {self.group} failed: {exc}") from None
            events = [
                LogEvent(
                    e["timestamp"],
                    e.get("message", ""),
                    e.get("logStreamName", ""),
                    e.get("eventId"),
                    e.get("ingestionTime"),
                )
                for e in page.get("events", [])
            ]
            events.sort(key=lambda e: e.timestamp)
            yield events
            next_token = page.get("nextToken")
            # An unchanged token means the end of the data on some implementations.
            if not next_token or next_token == token:
                return
            token = next_token

    def exists(self) -> bool:
        response = self.client.describe_log_groups(logGroupNamePrefix=self.group)
        return any(g.get("logGroupName") == self.group for g in response.get("logGroups", []))

    def arn(self, region: str, account: str) -> str:
        """The group's ARN as StartLiveTail wants it (no trailing ':*')."""
        try:
            for group in self.client.describe_log_groups(logGroupNamePrefix=self.group).get("logGroups", []):
                if group.get("logGroupName") == self.group:
                    arn = group.get("logGroupArn") or group.get("arn", "")
                    return arn[:-2] if arn.endswith(":*") else arn
        except Exception:  # fall back to the ARN's known shape
            pass
        return f"arn:aws:logs:{region}:{account}:log-group:{self.group}"


# ---------------------------------------------------------------- de-duplication


class Seen:
    """Events already shown, remembered while a re-read window can still return them.

    Events are read in passes: one FilterLogEvents query (all its pages) or one live-tail
    session; a pass returns each event at most once. FilterLogEvents events are recognised
    by event id. Live-tail events have none, so across sources an event is new when its
    pass has now brought more copies of (stream, timestamp, message) than were ever shown.
    """

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.shown: Counter[tuple[str, int, str]] = Counter()
        self.newest: int | None = None

    @staticmethod
    def new_pass() -> Counter:
        return Counter()

    def admit(self, event: LogEvent, read: Counter | None = None) -> bool:
        """True (and remembered) when the event has not been shown yet."""
        fingerprint = event.fingerprint
        read = Counter() if read is None else read
        read[fingerprint] += 1
        if event.event_id is not None:
            key = (event.stream, event.event_id)
            if key in self.ids:
                return False
            self.ids[key] = event.timestamp
        if read[fingerprint] <= self.shown[fingerprint]:
            return False  # the other source showed this copy already
        self.shown[fingerprint] = read[fingerprint]
        if self.newest is None or event.timestamp > self.newest:
            self.newest = event.timestamp
        return True

    def prune(self, before_ms: int, *reads: Counter) -> None:
        """Forget events older than any window that can still be re-read."""
        self.ids = {k: ts for k, ts in self.ids.items() if ts >= before_ms}
        for counter in (self.shown, *reads):
            for fingerprint in [f for f in counter if f[1] < before_ms]:
                del counter[fingerprint]


# ---------------------------------------------------------------- the tail


@dataclass
class Tail:
    """Events of one log group from ``since_ms``: a backfill, then (with follow) new ones as they come."""

    source: LogSource
    since_ms: int
    until_ms: int | None = None
    follow: bool = False
    local: bool = True
    live_tail_arn: str | None = None  # AWS: follow with StartLiveTail on this group
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    seen: Seen = field(default_factory=Seen)

    @property
    def lookback_ms(self) -> int:
        return LOCAL_LOOKBACK_MS if self.local else AWS_LOOKBACK_MS

    @property
    def interval(self) -> float:
        return LOCAL_POLL_SECONDS if self.local else AWS_POLL_SECONDS

    def events(self) -> Iterator[LogEvent | Notice]:
        """Everything to show, in order; runs forever when following."""
        if not self.follow:
            read = self.seen.new_pass()
            for page in self.source.fetch(self.since_ms, self.until_ms):
                for event in page:
                    if self.seen.admit(event, read):
                        yield event
            return
        if self.live_tail_arn:
            yield from self._live()
        else:
            yield from self._poll(self.interval)

    def _window_start(self) -> int:
        if self.seen.newest is None:
            return self.since_ms
        return max(self.since_ms, self.seen.newest - self.lookback_ms)

    def _read_once(self) -> list[LogEvent]:
        """One pass over the re-read window: the events not shown yet."""
        fresh = []
        read = self.seen.new_pass()
        for page in self.source.fetch(self._window_start(), None):
            fresh.extend(e for e in page if self.seen.admit(e, read))
        if self.seen.newest is not None:
            self.seen.prune(self.seen.newest - self.lookback_ms)
        return fresh

    def _poll(self, interval: float) -> Iterator[LogEvent | Notice]:
        delay = interval
        waiting_for_group = False
        while True:
            started = self.clock()
            try:
                fresh = self._read_once()
            except Throttled:
                delay = min(max(delay, interval) * 2, MAX_BACKOFF_SECONDS)
                yield Notice(f"CloudWatch is throttling: next poll in {delay:.0f} s")
                self.sleep(delay)
                continue
            except NotFound as exc:
                # Following a function that has not logged yet: wait for its group to appear.
                if not waiting_for_group:
                    waiting_for_group = True
                    yield Notice(exc.message + "; waiting for it")
                fresh = []
            delay = interval
            yield from fresh
            self.sleep(max(0.0, interval - (self.clock() - started)))

    def _live(self) -> Iterator[LogEvent | Notice]:
        """StartLiveTail sessions, renewed before AWS's 3-hour limit; polling when refused or throttled."""
        from botocore.exceptions import ClientError

        client = self.source.client
        failures = 0
        while True:
            kwargs: dict[str, Any] = {"logGroupIdentifiers": [self.live_tail_arn]}
            if self.source.filter_pattern:
                kwargs["logEventFilterPattern"] = self.source.filter_pattern
            try:
                response = client.start_live_tail(**kwargs)
                opened = self.clock()
                warned_sampled = False
                read = self.seen.new_pass()
                stream = response["responseStream"]
                try:
                    for message in stream:
                        if "sessionStart" in message:
                            # Cover the gap between the previous read and this session's start.
                            yield from self._read_once()
                        update = message.get("sessionUpdate")
                        if update:
                            failures = 0
                            if update.get("sessionMetadata", {}).get("sampled") and not warned_sampled:
                                warned_sampled = True
                                yield Notice(
                                    "AWS is sampling this live tail (over 500 events/s): some events are not shown"
                                )
                            results = sorted(update.get("sessionResults") or [], key=lambda r: r.get("timestamp", 0))
                            for result in results:
                                event = LogEvent(
                                    result["timestamp"],
                                    result.get("message", ""),
                                    result.get("logStreamName", ""),
                                    None,
                                    result.get("ingestionTime"),
                                )
                                if self.seen.admit(event, read):
                                    yield event
                            if self.seen.newest is not None:
                                self.seen.prune(self.seen.newest - self.lookback_ms, read)
                        if self.clock() - opened >= LIVE_TAIL_SESSION_SECONDS:
                            break
                finally:
                    close = getattr(stream, "close", None)
                    if close:
                        close()
            except ClientError as exc:
                code = error_code(exc)
                if code in THROTTLING_CODES or code in ("AccessDeniedException", "UnrecognizedClientException"):
                    yield Notice(f"live tail unavailable ({code}): polling instead")
                    yield from self._poll(AWS_POLL_SECONDS)
                    return
                if code == "ResourceNotFoundException":
                    raise NotFound(f"log group {self.source.group} does not exist") from None
                raise AwsError(f"StartLiveTail failed: {exc}") from None
            except Throttled:
                yield Notice("CloudWatch is throttling: polling with backoff instead of live tail")
                yield from self._poll(AWS_POLL_SECONDS)
                return
            except DdbstreamError:
                raise
            except Exception as exc:  # the event stream broke (SessionStreamingException, timeouts)
                failures += 1
                if failures > 3:
                    raise AwsError(f"live tail keeps failing: {exc}") from None
                yield Notice(f"live tail interrupted ({type(exc).__name__}): reconnecting")
            # A session that ended by itself (or renewal): reconnect after a short pause.
            self.sleep(min(2**failures, MAX_BACKOFF_SECONDS) if failures else 0.5)


# ---------------------------------------------------------------- parsing Lambda's lines

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
        from ddbstream.durations import iso_ms

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


# ---------------------------------------------------------------- selection and rendering

FORMATS = ("pretty", "short", "json", "raw")


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


_REQUEST_COLOURS = ("cyan", "magenta", "blue", "green", "yellow", "bright_cyan", "bright_magenta", "bright_blue")


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


def render_pretty(line: Line):
    """A rich renderable for one line (None for lines folded away, such as END)."""
    from rich.console import Group
    from rich.json import JSON
    from rich.text import Text

    from ddbstream.durations import iso_ms

    if line.kind == "end":
        return None
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
    body_style = "red" if line.failed else None
    if line.is_json:
        compact = json.dumps(line.data, ensure_ascii=False)
        if len(compact) <= 100:
            head.append_text(JSON(compact, indent=None).text if not line.failed else Text(compact, style="red"))
            return head
        body = JSON(json.dumps(line.data, ensure_ascii=False), indent=2).text
        if line.failed:
            body.stylize("red")
        indented = Text("\n").join(Text("  ") + part for part in body.split("\n"))
        head.rstrip()
        return Group(head, indented)
    head.append(line.text, style=body_style)
    return head


def render_short(line: Line) -> str:
    from ddbstream.durations import iso_ms

    return f"{iso_ms(line.event.timestamp)} {line.event.message.rstrip(chr(10))}"


class Renderer:
    """Log events -> what to print in one format (str, or rich renderables for pretty)."""

    def __init__(self, fmt: str = "pretty", grep: re.Pattern[str] | None = None, request_id: str | None = None):
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
            return event.message.rstrip("\n")
        if self.fmt == "short":
            return render_short(line)
        if self.fmt == "json":
            from ddbstream.items import dumps_plain

            return dumps_plain(line.as_json())
        return render_pretty(line)
