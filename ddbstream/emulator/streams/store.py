"""The daemon's stream store: each table's stream as one shard of records, kept for the retention period.

Records stay for the retention period (24 h, ``DDBSTREAM_STREAM_RETENTION_SECONDS``) however
many consumers read them, and leave memory once it has passed; sequence numbers are never
reused. A stream keeps its records compact: columns of numbers, and each record's Lambda JSON
compressed against the stream's first record (a preset dictionary: field names, ARN, region
and attribute names repeat from one record to the next). Readers get ``Record`` objects made
on demand.
"""

from __future__ import annotations

import base64
import bisect
import json
import os
import secrets
import sys
import threading
import time
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddbstream.emulator.store.context import stamp
from ddbstream.stream_records import SEQUENCE_NUMBERS, event_name_of, lambda_record_json, stream_record

RETENTION_ENV = "DDBSTREAM_STREAM_RETENTION_SECONDS"
DEFAULT_RETENTION_SECONDS = 24 * 3600.0
_ZDICT_BYTES = 32 * 1024  # deflate's window: a longer preset dictionary is not used


def retention_seconds() -> float:
    value = os.environ.get(RETENTION_ENV)
    return float(value) if value else DEFAULT_RETENTION_SECONDS


@dataclass(slots=True)
class Record:
    """One stream record: its number, arrival time, partition key and its Lambda JSON."""

    seq: int
    arrival: float
    partition_key: str
    lambda_json: bytes  # the record exactly as Lambda puts it in an event
    index: int = -1  # logical position in its stream, set on append

    @property
    def event(self) -> dict:
        """The Lambda event record as a dict (what filters match against); decoded at each call."""
        return json.loads(self.lambda_json)

    @property
    def data(self) -> dict:
        """The record in the DynamoDB Streams API shape (GetRecords)."""
        return api_shape(self.event)

    @property
    def sequence_number(self) -> str:
        return str(self.seq)


def api_shape(event: dict) -> dict:
    """A Lambda event record -> the Streams API shape: the inverse of stream_records.lambda_record."""
    record = {name: value for name, value in event.items() if name not in ("eventSourceARN", "userIdentity")}
    ddb = record["dynamodb"]
    for part in ("Keys", "NewImage", "OldImage"):
        if part in ddb:
            ddb[part] = {name: _binary_as_bytes(value) for name, value in ddb[part].items()}
    identity = event.get("userIdentity")
    if identity is not None:
        record["userIdentity"] = {"Type": identity["type"], "PrincipalId": identity["principalId"]}
    return record


def _binary_as_bytes(value: dict) -> dict:
    """A DynamoDB JSON attribute value with its binary parts (base64 text in Lambda's JSON) as bytes."""
    kind, inner = next(iter(value.items()))
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(member) for member in inner]}
    if kind == "M":
        return {"M": {name: _binary_as_bytes(member) for name, member in inner.items()}}
    if kind == "L":
        return {"L": [_binary_as_bytes(member) for member in inner]}
    return value


class _Packer:
    """Raw deflate against a preset dictionary: the stream's first record."""

    def __init__(self) -> None:
        self.zdict: bytes | None = None

    def pack(self, data: bytes) -> bytes:
        if self.zdict is None:
            self.zdict = data[-_ZDICT_BYTES:] or b"{}"
        packer = zlib.compressobj(6, zlib.DEFLATED, -15, 4, zlib.Z_DEFAULT_STRATEGY, self.zdict)
        return packer.compress(data) + packer.flush()

    def unpack(self, packed: bytes) -> bytes:
        unpacker = zlib.decompressobj(-15, self.zdict)
        return unpacker.decompress(packed) + unpacker.flush()


class StreamError(Exception):
    """A DynamoDB Streams API error: its code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Stream:
    """A table's stream: one shard of records, trimmed after the retention period.

    Positions are logical indexes: record ``n`` of the stream (counting from 0 at creation)
    stays at index ``n`` after older records are trimmed.
    """

    arn: str
    table_name: str
    region: str
    view_type: str
    key_schema: list
    label: str
    created: float = field(default_factory=time.time)
    clock: Callable[[], float] = time.time
    enabled: bool = True

    def __post_init__(self) -> None:
        # Stamped: a stream the durable store brings back keeps its shard id and sequence numbers.
        self.created, token, self.start_seq = stamp(
            "stream", lambda: (self.created, secrets.token_hex(4), SEQUENCE_NUMBERS.take())
        )
        self.shard_id = f"shardId-{int(self.created * 1000):020d}-{token}"
        self.end_seq: int | None = None  # set when the stream is disabled (the shard closes)
        self.cond = threading.Condition()
        # The records, one column each; entries before _head are trimmed (dropped in bulk).
        self._offsets = array("Q")  # sequence number - start_seq
        self._arrivals = array("d")
        self._keys: list[str] = []  # partition keys (interned: one string per hash key)
        self._packed: list[bytes] = []  # Lambda JSON, compressed
        self._packer = _Packer()
        self._head = 0
        self.first_index = 0  # logical index of the record at _head
        self.trimmed_through: int | None = None  # highest trimmed sequence number

    def __deepcopy__(self, memo: dict) -> Stream:
        return self  # moto deep-copies a table (shard included) to roll a transaction back: one history

    # ------------------------------------------------------------ writing

    def append(self, build: Callable[[int], Record]) -> Record | None:
        """Number and append a record built by ``build(seq)``; wake every waiting reader."""
        with self.cond:
            if not self.enabled:
                return None
            record = build(stamp("record", SEQUENCE_NUMBERS.take))
            record.index = self.end_index
            self._offsets.append(record.seq - self.start_seq)
            self._arrivals.append(record.arrival)
            self._keys.append(sys.intern(record.partition_key))
            self._packed.append(self._packer.pack(record.lambda_json))
            self._trim_locked()
            self.cond.notify_all()
            return record

    def append_change(
        self, keys: dict, old: dict | None, new: dict | None, ttl: bool, partition_key: str
    ) -> Record | None:
        """Append the record of an item change (old/new: DynamoDB JSON images, None when absent)."""
        return self.append(lambda seq: self._record_of_change(seq, keys, old, new, ttl, partition_key))

    def _record_of_change(
        self, seq: int, keys: dict, old: dict | None, new: dict | None, ttl: bool, partition_key: str
    ) -> Record:
        arrival = stamp("arrival", self.clock)
        data = stream_record(
            event_name_of(old, new),
            keys,
            new,
            old,
            self.view_type,
            seq,
            created=int(arrival),
            region=self.region,
            ttl=ttl,
        )
        return Record(seq, arrival, partition_key, lambda_record_json(data, self.arn))

    def close(self) -> None:
        """The stream was disabled: no more records; the shard gets its ending sequence number."""
        with self.cond:
            if self.enabled:
                self.enabled = False
                self.end_seq = self.start_seq + (self._offsets[-1] if self._live_count() else 0)
                self.cond.notify_all()

    # ------------------------------------------------------------ reading

    def _live_count(self) -> int:
        return len(self._offsets) - self._head

    @property
    def end_index(self) -> int:
        """The logical index the next record will get."""
        return self.first_index + self._live_count()

    def trim(self) -> None:
        with self.cond:
            self._trim_locked()

    def _trim_locked(self) -> None:
        """Drop the records older than the retention period."""
        horizon = self.clock() - retention_seconds()
        arrivals = self._arrivals
        head = self._head
        while head < len(arrivals) and arrivals[head] < horizon:
            head += 1
        if head == self._head:
            return
        self.trimmed_through = self.start_seq + self._offsets[head - 1]
        self.first_index += head - self._head
        self._head = head
        for position in range(head - 1, -1, -1):
            if not self._packed[position]:
                break
            self._packed[position] = b""  # the text leaves memory now; the columns shrink in bulk below
        if head > 1024 and head * 2 > len(arrivals):
            for column in (self._offsets, self._arrivals, self._keys, self._packed):
                del column[:head]
            self._head = 0

    def read(self, index: int, limit: int) -> list[Record]:
        """Up to ``limit`` records from logical index ``index`` (trimmed ones are skipped)."""
        with self.cond:
            self._trim_locked()
            start = self._head + max(index - self.first_index, 0)
            stop = min(start + limit, len(self._offsets))
            first = self.first_index + start - self._head
            rows = zip(
                self._offsets[start:stop], self._arrivals[start:stop], self._keys[start:stop], self._packed[start:stop]
            )
        # Inflated outside the lock: writers need not wait for a reader.
        unpack, start_seq = self._packer.unpack, self.start_seq
        return [
            Record(start_seq + offset, arrival, key, unpack(packed), first + n)
            for n, (offset, arrival, key, packed) in enumerate(rows)
        ]

    def is_trimmed(self, index: int) -> bool:
        with self.cond:
            self._trim_locked()
            return index < self.first_index

    def wait(self, index: int, timeout: float | None) -> bool:
        """Block until a record exists at ``index`` or beyond, the timeout passes; True if one does."""
        with self.cond:
            if self.end_index > index:
                return True
            self.cond.wait(timeout)
            return self.end_index > index

    def wake(self) -> None:
        """Wake every reader waiting on this stream (shutdown, a mapping change)."""
        with self.cond:
            self.cond.notify_all()

    def index_of(self, seq: int, after: bool) -> int:
        """The logical index of the first record at (or after) sequence number ``seq``."""
        with self.cond:
            self._trim_locked()
            live = self._live_count()
            last = self.start_seq + self._offsets[-1] if live else (self.trimmed_through or self.start_seq)
            if seq < self.start_seq or seq > max(last, self.start_seq):
                raise StreamError(
                    "ValidationException",
                    f"Invalid SequenceNumber {seq} for shard {self.shard_id} of stream {self.arn}",
                )
            if self.trimmed_through is not None and seq <= self.trimmed_through:
                raise StreamError(
                    "TrimmedDataAccessException",
                    f"Sequence number {seq} is beyond the trim horizon of shard {self.shard_id}",
                )
            finder = bisect.bisect_right if after else bisect.bisect_left
            return self.first_index + finder(self._offsets, seq - self.start_seq, lo=self._head) - self._head

    def describe(self) -> dict[str, Any]:
        seq_range: dict[str, str] = {"StartingSequenceNumber": str(self.start_seq)}
        if self.end_seq is not None:
            seq_range["EndingSequenceNumber"] = str(self.end_seq)
        return {
            "StreamArn": self.arn,
            "StreamLabel": self.label,
            "StreamStatus": "ENABLED" if self.enabled else "DISABLED",
            "StreamViewType": self.view_type,
            "CreationRequestDateTime": self.created,
            "TableName": self.table_name,
            "KeySchema": self.key_schema,
            "Shards": [{"ShardId": self.shard_id, "SequenceNumberRange": seq_range}],
        }


class StreamRegistry:
    """Every stream of the daemon by ARN; kept after its table is deleted until retention passes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, Stream] = {}

    def add(self, stream: Stream) -> None:
        with self._lock:
            self._streams[stream.arn] = stream

    def get(self, arn: str) -> Stream | None:
        with self._lock:
            return self._streams.get(arn)

    def all(self) -> list[Stream]:
        with self._lock:
            return list(self._streams.values())

    def require(self, arn: str) -> Stream:
        stream = self.get(arn)
        if stream is None:
            raise StreamError("ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found")
        return stream


REGISTRY = StreamRegistry()
