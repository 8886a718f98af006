"""The consumer's log group read incrementally and parsed into invocations (START ... REPORT)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ddbstream.errors import NotFound
from ddbstream.logs import LogSource

_REQUEST = re.compile(r"^(START|END|REPORT) RequestId: (\S+)")


@dataclass
class Invocation:
    request_id: str
    stream: str
    order: tuple  # where its START lies in the log
    lines: list[tuple[tuple, int, dict]] = field(default_factory=list)  # (order, timestamp ms, JSON line)
    failed: bool = False  # REPORT with a Status, or an unhandled error
    closed: bool = False

    @property
    def clean(self) -> bool:
        """Ended well and no record failed: Lambda checkpoints every record it got."""
        return self.closed and not self.failed and not any(line.get("level") == "ERROR" for _, _, line in self.lines)


class HandlerLog:
    """The consumer's log group read incrementally (FilterLogEvents), parsed into invocations."""

    def __init__(self, logs: Any, group: str, start_ms: int):
        self.source = LogSource(logs, group)
        self.start_ms = start_ms
        self.newest_ms = start_ms
        self.seen: set[tuple[str, str]] = set()
        self.arrivals = 0
        self.invocations: dict[str, Invocation] = {}
        self._open: dict[str, Invocation] = {}  # log stream -> invocation running in it
        self._pending: dict[str, list] = defaultdict(list)  # stream -> events read, not yet parsed

    def poll(self, lookback_ms: int = 2_000) -> int:
        """Read new events; returns how many."""
        fresh = []
        try:
            for page in self.source.fetch(max(self.start_ms, self.newest_ms - lookback_ms)):
                for event in page:
                    ident = (event.stream, event.event_id or f"{event.timestamp}:{event.message}")
                    if ident in self.seen:
                        continue
                    self.seen.add(ident)
                    fresh.append(event)
        except NotFound:
            return 0  # no invocation yet: the group appears with the first one
        for event in fresh:
            self.arrivals += 1
            self.newest_ms = max(self.newest_ms, event.timestamp)
            numeric = int(event.event_id) if event.event_id and event.event_id.isdigit() else 0
            self._parse(event, (event.timestamp, numeric, self.arrivals))
        return len(fresh)

    def _parse(self, event: Any, order: tuple) -> None:
        message = event.message
        match = _REQUEST.match(message)
        if match:
            kind, request_id = match.groups()
            if kind == "START":
                started = Invocation(request_id, event.stream, order)
                self.invocations[request_id] = started
                self._open[event.stream] = started
            elif kind == "REPORT":
                ended = self.invocations.get(request_id)
                if ended is not None:
                    ended.failed = ended.failed or "\tStatus: " in message
                    ended.closed = True
                self._open.pop(event.stream, None)
            return
        invocation = self._open.get(event.stream)
        if invocation is None:
            return  # init output, or a line of an invocation that began before start_ms
        if message.startswith("[ERROR]") or message.startswith('{"errorMessage"'):
            invocation.failed = True  # an unhandled exception reported by the runtime client
            return
        if not message.startswith("{"):
            return
        try:
            line = json.loads(message)
        except ValueError:
            return
        if isinstance(line, dict) and line.get("eventID"):
            invocation.lines.append((order, event.timestamp, line))
