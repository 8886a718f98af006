"""Lambda worker output -> CloudWatch Logs in the daemon (moto's logs backend, in-process).

One log stream per worker, named like AWS's (``YYYY/MM/DD/[$LATEST]<32 hex>``). A pump thread
reads the worker's stdout+stderr pipe and hands each line to the writer as it arrives; ``drain()``
reads whatever the pipe holds *now*, so lines a handler printed before posting its response are
written before the runtime's END line (attribution), without waiting for the pump. The writer
holds an invocation's events and writes them as one append (one PutLogEvents, one journal entry:
three appends cost ~3x the CPU of one, issue 20).
"""

from __future__ import annotations

import codecs
import fcntl
import os
import select
import termios
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from ddbstream.emulator.store.journal import JOURNAL

# CloudWatch Logs: an event is at most 256 KB including 26 bytes of overhead.
MAX_EVENT_BYTES = 262_144 - 26
# Events per PutLogEvents call into moto (AWS's limits: 10,000 events, 1,048,576 bytes counting
# 26 bytes an event).
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
# How long an invocation's events may be held to be written as one append.
HOLD_SECONDS = 0.1
_READ_SIZE = 1 << 16

# moto's logs backend is not thread-safe; every write from the runtime goes through this lock.
_BACKEND_LOCK = threading.Lock()

# Memory: events past their group's retentionInDays leave it, and at most this many events
# per group stay in memory (the oldest go first; README, "where the local target differs").
EVENTS_PER_GROUP_ENV = "DDBSTREAM_LOG_EVENTS_PER_GROUP"
DEFAULT_EVENTS_PER_GROUP = 50_000
_RETENTION_CHECK_SECONDS = 1.0


def stream_name(version: str = "$LATEST", now: float | None = None) -> str:
    """A log stream name shaped like Lambda's: ``2024/01/31/[$LATEST]<32 hex>``."""
    day = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return f"{day:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def split_message(text: str, limit: int = MAX_EVENT_BYTES) -> list[str]:
    """``text`` cut into pieces whose UTF-8 encoding fits one CloudWatch event."""
    if len(text) <= limit // 4 or len(text.encode("utf-8")) <= limit:
        return [text]
    pieces = []
    while text:
        cut = min(len(text), limit)
        while len(text[:cut].encode("utf-8")) > limit:
            cut -= max(1, (len(text[:cut].encode("utf-8")) - limit) // 4)
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces


class LogsBackend(Protocol):
    """The calls the writer makes on moto's logs backend."""

    def ensure_log_group(self, group: str, /) -> None: ...

    def ensure_log_stream(self, group: str, stream: str, /) -> None: ...

    def put_log_events(self, group: str, stream: str, events: list[dict[str, Any]], /) -> object: ...


class LogStreamWriter:
    """Writes events to one log stream of moto's logs backend; optionally captures them.

    While capturing (one invocation, START to REPORT) events are also *held*, and written as
    one append (one PutLogEvents into moto, one journal entry) when the capture stops, when
    ``flush_if_due`` finds the oldest held for HOLD_SECONDS (a long invocation's lines reach
    the log while it runs), or when a batch is full.
    """

    def __init__(self, logs_backend: Callable[[], LogsBackend], group: str, stream: str):
        self._backend = logs_backend
        self.group = group
        self.stream = stream
        self._last_ts = 0
        self._capture: list[str] | None = None
        self._held: list[dict[str, Any]] = []
        self._held_bytes = 0
        self._held_since = 0.0
        self._lock = threading.Lock()
        with _BACKEND_LOCK:
            backend = self._backend()
            backend.ensure_log_group(group)
            backend.ensure_log_stream(group, stream)

    def start_capture(self) -> None:
        with self._lock:
            self._capture = []

    @property
    def capturing(self) -> bool:
        """An invocation runs (its events are held, and its invoking thread drains the pipe)."""
        return self._capture is not None

    def stop_capture(self) -> list[str]:
        """Write what is held; return the messages captured since ``start_capture``."""
        with self._lock:
            self._flush()
            captured, self._capture = self._capture or [], None
        return captured

    def write(self, messages: list[str], timestamp_ms: int | None = None) -> None:
        """Append ``messages`` (one event each, split when too big) with one timestamp."""
        events = [piece for message in messages for piece in split_message(message)]
        if not events:
            return
        with self._lock:
            ts = max(timestamp_ms or int(time.time() * 1000), self._last_ts)
            self._last_ts = ts
            batch = [{"timestamp": ts, "message": m} for m in events]
            if self._capture is None:
                self._ship(batch)
                return
            self._capture.extend(events)
            if not self._held:
                self._held_since = time.monotonic()
            self._held += batch
            self._held_bytes += sum(len(m) + EVENT_OVERHEAD_BYTES for m in events)
            if len(self._held) >= MAX_BATCH_EVENTS or self._held_bytes >= MAX_BATCH_BYTES:
                self._flush()

    def flush_if_due(self) -> None:
        """Write the held events if the oldest has waited HOLD_SECONDS."""
        if self._held and time.monotonic() - self._held_since >= HOLD_SECONDS:
            with self._lock:
                self._flush()

    def _flush(self) -> None:
        held, self._held, self._held_bytes = self._held, [], 0
        if held:
            self._ship(held)

    def _ship(self, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), MAX_BATCH_EVENTS):
            backend = self._backend()
            where = (backend, self.group, self.stream, events[start : start + MAX_BATCH_EVENTS])
            # deferred: no client is told log events were kept; the store writes them behind (db.py)
            JOURNAL.run("log-events", _journaled(*where), partial(put_events, *where), defer=True)


def _journaled(backend: LogsBackend, group: str, stream: str, events: list[dict[str, Any]]) -> dict:
    """A write of log events as the durable store keeps it (emulator/store/)."""
    account, region = getattr(backend, "account_id", None), getattr(backend, "region_name", None)
    return {"account": account, "region": region, "group": group, "stream": stream, "events": events}


def put_events(backend: LogsBackend, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    """Write events to a log stream, (re)creating it and its group: a user may have deleted them meanwhile."""
    with _BACKEND_LOCK:
        backend.ensure_log_group(group)
        backend.ensure_log_stream(group, stream)
        log_group = getattr(backend, "groups", {}).get(group)  # moto's LogGroup (a test double has none)
        if log_group is None:
            backend.put_log_events(group, stream, events)
            return
        # Straight to moto's stream: the backend's checks (events in time order, none older than
        # 14 days or 2 hours ahead) hold for events made now, and cost as much as the write.
        log_group.streams[stream].put_log_events(events)
        keep_within_limits(log_group, time.time())


def events_per_group() -> int:
    value = os.environ.get(EVENTS_PER_GROUP_ENV)
    return max(1, int(value)) if value else DEFAULT_EVENTS_PER_GROUP


def keep_within_limits(group: Any, now: float) -> None:
    """Drop a moto log group's events past its retention, then its oldest beyond the cap.

    Both are amortized: retention is checked at most once a second, and the cap lets the
    group grow by a tenth before trimming it back.
    """
    streams = list(group.streams.values())
    if group.retention_in_days and now - getattr(group, "_ddbstream_checked", 0.0) >= _RETENTION_CHECK_SECONDS:
        group._ddbstream_checked = now
        horizon_ms = (now - group.retention_in_days * 86_400) * 1000
        for log_stream in streams:
            if any(event.timestamp < horizon_ms for event in log_stream.events):
                log_stream.events = [event for event in log_stream.events if event.timestamp >= horizon_ms]
    cap = events_per_group()
    total = sum(len(log_stream.events) for log_stream in streams)
    if total > cap + cap // 10:
        # moto numbers events in ingestion order: keep the newest ``cap``.
        oldest_kept = sorted(event.event_id for s in streams for event in s.events)[total - cap]
        for log_stream in streams:
            log_stream.events = [event for event in log_stream.events if event.event_id >= oldest_kept]


class LogPump:
    """Ships lines from a worker's output pipe to a LogStreamWriter as they arrive."""

    def __init__(self, fd: int, writer: LogStreamWriter):
        self.fd = fd
        self.writer = writer
        os.set_blocking(fd, False)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._lock = threading.Lock()
        self._eof = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lambda-log-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._eof.is_set():
                try:
                    select.select([self.fd], [], [], 1.0)
                except (OSError, ValueError):  # fd closed under us
                    break
                # No pause between reads while an invocation runs: a handler printing fast would block
                # on the full pipe meanwhile (64 KiB a pause) and run into its timeout.
                with self._lock:
                    self._read(limit=None)
        finally:
            self._eof.set()

    def _read(self, limit: int | None) -> int:
        """Read what the pipe holds (at most ``limit`` bytes), ship complete lines; the bytes read."""
        chunks = []
        remaining = limit
        while remaining is None or remaining > 0:
            size = _READ_SIZE if remaining is None else min(_READ_SIZE, remaining)
            try:
                data = os.read(self.fd, size)
            except BlockingIOError:
                break
            except OSError:
                self._eof.set()
                break
            if not data:
                self._eof.set()
                break
            chunks.append(data)
            if remaining is not None:
                remaining -= len(data)
            elif len(data) < size:  # the pipe is empty now: no read just to hear so
                break
        if chunks:
            self._ship(self._decoder.decode(b"".join(chunks)))
        return sum(len(chunk) for chunk in chunks)

    def _ship(self, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        while len(self._partial) > MAX_EVENT_BYTES // 4 and len(self._partial.encode("utf-8")) > MAX_EVENT_BYTES:
            piece = split_message(self._partial)[0]  # a huge line without its newline yet: full events
            lines.append(piece)
            self._partial = self._partial[len(piece) :]
        # awslambdaric joins the lines of one error report with "\r": one event, as on AWS.
        self.writer.write([line.replace("\r", "\n") for line in lines])

    def drain(self, flush_partial: bool = True) -> None:
        """Ship everything written to the pipe so far (bounded: what it holds right now)."""
        with self._lock:
            if not self._eof.is_set():
                try:
                    pending = fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0")
                    self._read(limit=int.from_bytes(pending, "little"))
                except OSError:
                    pass
            if flush_partial and self._partial:
                partial, self._partial = self._partial, ""
                self.writer.write([partial.replace("\r", "\n")])

    def close(self, timeout: float = 2.0) -> None:
        """Ship the rest once the writer side is closed, then close the pipe."""
        self._thread.join(timeout)
        self.drain()
        self._eof.set()  # a child still holding the pipe open must not keep the pump alive
        self._thread.join(1.5)
        try:
            os.close(self.fd)
        except OSError:
            pass
