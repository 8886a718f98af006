"""Lambda worker output -> CloudWatch Logs in the daemon (moto's logs backend, in-process).

One log stream per worker, named like AWS's (``YYYY/MM/DD/[$LATEST]<32 hex>``). A pump thread
reads the worker's stdout+stderr pipe and ships each line as it arrives; ``drain()`` reads
whatever the pipe holds *now*, so lines a handler printed before posting its response are
written before the runtime's END line (attribution), without waiting for the pump.
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

# CloudWatch Logs: an event is at most 256 KB including 26 bytes of overhead.
MAX_EVENT_BYTES = 262_144 - 26
# Events per PutLogEvents call into moto (AWS's limit is 10,000 per batch).
MAX_BATCH_EVENTS = 10_000
_READ_SIZE = 1 << 16

# moto's logs backend is not thread-safe; every write from the runtime goes through this lock.
_BACKEND_LOCK = threading.Lock()


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


class LogStreamWriter:
    """Writes events to one log stream of moto's logs backend; optionally captures them."""

    def __init__(self, logs_backend: Callable[[], object], group: str, stream: str):
        self._backend = logs_backend
        self.group = group
        self.stream = stream
        self._last_ts = 0
        self._capture: list[str] | None = None
        self._lock = threading.Lock()
        with _BACKEND_LOCK:
            backend = self._backend()
            backend.ensure_log_group(group)
            backend.ensure_log_stream(group, stream)

    def start_capture(self) -> None:
        with self._lock:
            self._capture = []

    def stop_capture(self) -> list[str]:
        with self._lock:
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
            if self._capture is not None:
                self._capture.extend(events)
            for start in range(0, len(events), MAX_BATCH_EVENTS):
                batch = [{"timestamp": ts, "message": m} for m in events[start : start + MAX_BATCH_EVENTS]]
                with _BACKEND_LOCK:
                    backend = self._backend()
                    # The group or stream may have been deleted by a user meanwhile: recreate.
                    backend.ensure_log_group(self.group)
                    backend.ensure_log_stream(self.group, self.stream)
                    backend.put_log_events(self.group, self.stream, batch)


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
                with self._lock:
                    self._read(limit=None)
        finally:
            self._eof.set()

    def _read(self, limit: int | None) -> None:
        """Read what the pipe holds (at most ``limit`` bytes) and ship complete lines."""
        chunks = []
        remaining = limit
        while remaining is None or remaining > 0:
            try:
                data = os.read(self.fd, _READ_SIZE if remaining is None else min(_READ_SIZE, remaining))
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
        if chunks:
            self._ship(self._decoder.decode(b"".join(chunks)))

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
