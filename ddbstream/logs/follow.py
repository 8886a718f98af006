"""Backfilling and following a log group.

Backfill uses FilterLogEvents (paged, interleaved), and so does following by polling (where
StartLiveTail is refused or throttled, or no log group ARN is known). Each poll re-reads a
short window before the newest event seen, so events that CloudWatch ingests late or that
share the boundary millisecond are neither skipped nor shown twice (events already shown
are remembered by event id). Following uses StartLiveTail (AWS and the local daemon serve it),
which returns only new events and carries no event ids: a FilterLogEvents catch-up runs
whenever a session starts, and the two sources are reconciled by (stream, timestamp, message).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ddbstream.errors import AwsError, DdbstreamError, NotFound
from ddbstream.logs.source import THROTTLING_CODES, LogEvent, LogSource, Notice, Throttled, error_code

LOCAL_POLL_SECONDS = 0.25  # the local daemon is cheap to ask: at most 4 polls a second
AWS_POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
LOCAL_LOOKBACK_MS = 2_000
AWS_LOOKBACK_MS = 10_000  # CloudWatch may ingest an event some seconds after its timestamp
LIVE_TAIL_SESSION_SECONDS = 3 * 3600 - 10 * 60  # reconnect well before AWS ends a session at 3 h
SAMPLED_WARNING = "AWS is sampling this live tail (over 500 events/s): some events are not shown"


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


@dataclass
class _LiveSession:
    """What one StartLiveTail session has read and said so far."""

    read: Counter
    opened: float = 0.0
    warned_sampled: bool = False
    updated: bool = False  # at least one sessionUpdate arrived


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
        fresh: list[LogEvent] = []
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
        from botocore.exceptions import ClientError  # botocore is slow to import: only when tailing

        failures = 0  # sessions in a row that broke before bringing any update
        waiting_for_group = False
        while True:
            session = _LiveSession(self.seen.new_pass())
            try:
                yield from self._live_session(session)
            except ClientError as exc:
                code = error_code(exc)
                if code in THROTTLING_CODES or code in ("AccessDeniedException", "UnrecognizedClientException"):
                    yield Notice(f"live tail unavailable ({code}): polling instead")
                    yield from self._poll(self.interval)
                    return
                if code != "ResourceNotFoundException":
                    raise AwsError(f"StartLiveTail failed: {exc}") from None
                # Following a function that has not logged yet: wait for its group, then tail it live.
                if not waiting_for_group:
                    waiting_for_group = True
                    yield Notice(
                        f"log group {self.source.group} does not exist (has the function run yet?); waiting for it"
                    )
                self.sleep(self.interval)
                continue
            except Throttled:
                yield Notice("CloudWatch is throttling: polling with backoff instead of live tail")
                yield from self._poll(self.interval)
                return
            except DdbstreamError:
                raise
            except Exception as exc:  # the event stream broke (SessionStreamingException, timeouts)
                failures = (0 if session.updated else failures) + 1
                if failures > 3:
                    raise AwsError(f"live tail keeps failing: {exc}") from None
                yield Notice(f"live tail interrupted ({type(exc).__name__}): reconnecting")
            else:
                failures = 0 if session.updated else failures
            # A session that ended by itself (or renewal): reconnect after a short pause.
            self.sleep(min(2**failures, MAX_BACKOFF_SECONDS) if failures else 0.5)

    def _live_session(self, session: _LiveSession) -> Iterator[LogEvent | Notice]:
        """One StartLiveTail session, until it ends or is due for renewal."""
        kwargs: dict[str, Any] = {"logGroupIdentifiers": [self.live_tail_arn]}
        if self.source.filter_pattern:
            kwargs["logEventFilterPattern"] = self.source.filter_pattern
        response = self.source.client.start_live_tail(**kwargs)
        session.opened = self.clock()
        stream = response["responseStream"]
        try:
            for message in stream:
                if "sessionStart" in message:
                    # Cover the gap between the previous read and this session's start.
                    yield from self._read_once()
                update = message.get("sessionUpdate")
                if update:
                    yield from self._session_update(session, update)
                if self.clock() - session.opened >= LIVE_TAIL_SESSION_SECONDS:
                    break
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()

    def _session_update(self, session: _LiveSession, update: dict[str, Any]) -> Iterator[LogEvent | Notice]:
        """The events of one sessionUpdate not shown yet (and a warning the first time AWS samples)."""
        session.updated = True
        if update.get("sessionMetadata", {}).get("sampled") and not session.warned_sampled:
            session.warned_sampled = True
            yield Notice(SAMPLED_WARNING)
        for result in sorted(update.get("sessionResults") or [], key=lambda r: r.get("timestamp", 0)):
            event = LogEvent(
                result["timestamp"],
                result.get("message", ""),
                result.get("logStreamName", ""),
                None,
                result.get("ingestionTime"),
            )
            if self.seen.admit(event, session.read):
                yield event
        if self.seen.newest is not None:
            self.seen.prune(self.seen.newest - self.lookback_ms, session.read)
