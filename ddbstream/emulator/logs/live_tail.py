"""StartLiveTail served live: an ``application/vnd.amazon.eventstream`` response that stays open.

The SDKs read it as AWS sends it: an ``initial-response`` event (the JSON protocol's), one
``sessionStart``, then ``sessionUpdate`` events carrying the log events ingested since the last
one (at most 500 each, ``sampled`` beyond), an empty one at least every second, until the
client goes away, the daemon stops, or three hours pass (``SessionTimeoutException``).

Each message is framed as the event stream format says: a prelude (total length, headers
length) and its CRC32, the headers, the payload, and a CRC32 of the whole message.
"""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ddbstream.emulator.logs.filter_pattern import FilterPattern

CONTENT_TYPE = "application/vnd.amazon.eventstream"
MAX_RESULTS = 500  # per sessionUpdate; more are sampled down to this many
HEARTBEAT_SECONDS = 1.0  # AWS sends a (possibly empty) update every second
POLL_SECONDS = 0.2  # how often the daemon looks for new events (it sends them without waiting the second)
SESSION_SECONDS = 3 * 3600
_STRING = 7  # the event stream's header value type for UTF-8 strings


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream message: prelude, prelude CRC, string headers, payload, message CRC."""
    encoded = b"".join(
        struct.pack("!B", len(name)) + name.encode() + struct.pack("!BH", _STRING, len(value)) + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def event(event_type: str, body: dict[str, Any] | None = None) -> bytes:
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": "application/json"}
    return encode_message(headers, json.dumps(body).encode() if body is not None else b"")


def exception(exception_type: str, message: str) -> bytes:
    headers = {":message-type": "exception", ":exception-type": exception_type, ":content-type": "application/json"}
    return encode_message(headers, json.dumps({"message": message}).encode())


@dataclass
class Session:
    """One live tail: which streams it watches, what it matches, and the newest event id it sent per stream."""

    backend: Any  # moto's LogsBackend
    groups: list[Any]  # moto's LogGroups
    stream_names: list[str]
    prefixes: list[str]
    pattern: FilterPattern
    stop: threading.Event
    clock: Callable[[], float] = time.monotonic
    cursors: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from moto.logs.models import LogEvent

        self.start_id = LogEvent._event_id  # events made from now on are new, in streams made later too
        for group, stream in self._streams():
            self.cursors[(group.name, stream.log_stream_name)] = self.start_id - 1

    def frames(self, start: dict[str, Any]) -> Iterator[bytes]:
        """The response body: the initial response and sessionStart, then updates until the session ends."""
        yield event("initial-response")
        yield event("sessionStart", start)
        opened = last = self.clock()
        while not self.stop.is_set():
            results = self._new_results()
            now = self.clock()
            if results or now - last >= HEARTBEAT_SECONDS:
                last = now
                metadata = {"sampled": len(results) > MAX_RESULTS}
                yield event("sessionUpdate", {"sessionMetadata": metadata, "sessionResults": results[:MAX_RESULTS]})
            if now - opened >= SESSION_SECONDS:
                yield exception("SessionTimeoutException", "Session timed out after 3 hours.")
                return
            self.stop.wait(POLL_SECONDS)

    def _streams(self) -> Iterator[tuple[Any, Any]]:
        for group in self.groups:
            for stream in self.backend._get_live_tail_streams(group, self.stream_names, self.prefixes):
                yield group, stream

    def _new_results(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for group, stream in self._streams():
            key = (group.name, stream.log_stream_name)
            cursor = self.cursors.get(key, self.start_id - 1)
            fresh = []
            for log_event in reversed(stream.events):  # appended in id order: read back to the cursor
                if log_event.event_id <= cursor:
                    break
                fresh.append(log_event)
            if fresh:
                self.cursors[key] = fresh[0].event_id
            results.extend(
                {
                    "logStreamName": stream.log_stream_name,
                    "logGroupIdentifier": group.arn.removesuffix(":*"),
                    "message": e.message,
                    "timestamp": e.timestamp,
                    "ingestionTime": e.ingestion_time,
                }
                for e in reversed(fresh)
                if self.pattern.matches(e.message)
            )
        return sorted(results, key=lambda r: r["timestamp"])
