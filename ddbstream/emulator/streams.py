"""Stream fidelity: DynamoDB Streams as AWS documents them, on top of moto's tables.

moto keeps a table's stream records in ``StreamShard.items``, numbers them by list position,
hands them to its own Lambda event source mappings and then clears the list (so sequence
numbers are reused and other readers lose records). This module is the ONLY place that
patches moto's internals (tests/test_moto_assumptions.py checks every assumption made here):

- ``StreamShard.__init__`` / ``StreamShard.add``: every change goes to our ``Stream`` (the
  record built as AWS builds it, a never-reused increasing sequence number, a wake-up for the
  engine); moto's own list and its Lambda hook are never used.
- ``DynamoDBBackend.update_item``: moto writes an update of a missing item as two changes
  (an empty put, then the update); they are folded into the one record AWS writes.
- ``DynamoDBBackend.transact_write_items``: its records are written only if it commits.
- ``DynamoDBBackend.update_table_streams``: disabling closes the shard; enabling again makes a
  new stream (moto would refuse).
- ``DynamoDBStreamsHandler``: DescribeStream, GetShardIterator and GetRecords read our streams.
- ``DynamoDBBackend.put_item`` (PutItem, BatchWriteItem, TransactWriteItems) and the values
  of ``update_item``: an empty attribute name or a set naming a member twice is refused as
  DynamoDB refuses it; moto would store it and serve it mangled (streams included).

Records stay for the retention period (24 h, ``DDBSTREAM_STREAM_RETENTION_SECONDS``) however
many consumers read them. A sweeper thread deletes items whose TTL attribute has passed (moto
never expires items); those REMOVE records carry the TTL service identity.
"""

from __future__ import annotations

import base64
import bisect
import json
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ddbstream.items import item_size

log = logging.getLogger("ddbstream.emulator.streams")

RETENTION_ENV = "DDBSTREAM_STREAM_RETENTION_SECONDS"
TTL_SWEEP_ENV = "DDBSTREAM_TTL_SWEEP_SECONDS"
DEFAULT_RETENTION_SECONDS = 24 * 3600.0
DEFAULT_TTL_SWEEP_SECONDS = 1.0
ITERATOR_LIFETIME_SECONDS = 15 * 60.0
MAX_GET_RECORDS_LIMIT = 1000
TTL_MAX_PAST_SECONDS = 5 * 365 * 24 * 3600  # AWS does not delete items expired longer ago than this
EVENT_VERSION = "1.1"
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


def retention_seconds() -> float:
    value = os.environ.get(RETENTION_ENV)
    return float(value) if value else DEFAULT_RETENTION_SECONDS


class _Sequence:
    """Sequence numbers for every stream of the process: 21+ digits, strictly increasing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Time-based start: numbers also grow from one daemon run to the next.
        self._next = time.time_ns() // 1000 * 100_000

    def take(self) -> int:
        with self._lock:
            self._next += 1
            return self._next


SEQUENCE = _Sequence()


@dataclass
class Record:
    """One stream record: its number, arrival time, partition key and its two JSON renderings."""

    seq: int
    arrival: float
    partition_key: str
    data: dict  # the DynamoDB Streams API shape (GetRecords)
    lambda_json: bytes  # the record exactly as Lambda puts it in an event
    index: int = -1  # logical position in its stream, set on append
    _event: dict | None = field(default=None, repr=False)

    @property
    def event(self) -> dict:
        """The Lambda event record as a dict (what filters match against)."""
        if self._event is None:
            self._event = json.loads(self.lambda_json)
        return self._event

    @property
    def sequence_number(self) -> str:
        return str(self.seq)


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
        self.shard_id = f"shardId-{int(self.created * 1000):020d}-{secrets.token_hex(4)}"
        self.start_seq = SEQUENCE.take()
        self.end_seq: int | None = None  # set when the stream is disabled (the shard closes)
        self.cond = threading.Condition()
        self._records: list[Record] = []
        self._head = 0  # records before _head in the list are trimmed
        self.first_index = 0  # logical index of _records[_head]
        self.trimmed_through: int | None = None  # highest trimmed sequence number

    def __deepcopy__(self, memo: dict) -> Stream:
        return self  # moto deep-copies a table (shard included) to roll a transaction back: one history

    def __getstate__(self) -> dict:
        """For the daemon's snapshot (emulator/snapshot.py): everything but the condition."""
        state = dict(self.__dict__)
        del state["cond"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.cond = threading.Condition()

    # ------------------------------------------------------------ writing

    def append(self, build: Callable[[int], Record]) -> Record | None:
        """Number and append a record built by ``build(seq)``; wake every waiting reader."""
        with self.cond:
            if not self.enabled:
                return None
            record = build(SEQUENCE.take())
            record.index = self.end_index
            self._records.append(record)
            self._trim_locked()
            self.cond.notify_all()
            return record

    def close(self) -> None:
        """The stream was disabled: no more records; the shard gets its ending sequence number."""
        with self.cond:
            if self.enabled:
                self.enabled = False
                self.end_seq = self._records[-1].seq if len(self._records) > self._head else self.start_seq
                self.cond.notify_all()

    # ------------------------------------------------------------ reading

    @property
    def end_index(self) -> int:
        """The logical index the next record will get."""
        return self.first_index + len(self._records) - self._head

    def trim(self) -> None:
        with self.cond:
            self._trim_locked()

    def _trim_locked(self) -> None:
        horizon = self.clock() - retention_seconds()
        records = self._records
        head = self._head
        while head < len(records) and records[head].arrival < horizon:
            self.trimmed_through = records[head].seq
            head += 1
        if head != self._head:
            self.first_index += head - self._head
            self._head = head
            if head > 1024 and head * 2 > len(records):
                del records[:head]
                self._head = 0

    def read(self, index: int, limit: int) -> list[Record]:
        """Up to ``limit`` records from logical index ``index`` (trimmed ones are skipped)."""
        with self.cond:
            self._trim_locked()
            start = self._head + max(index - self.first_index, 0)
            return self._records[start : start + limit]

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
            live = self._records[self._head :]
            last = live[-1].seq if live else (self.trimmed_through or self.start_seq)
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
            return self.first_index + finder(live, seq, key=lambda r: r.seq)

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
        self._listeners: list[Callable[[Stream], None]] = []

    def add(self, stream: Stream) -> None:
        with self._lock:
            self._streams[stream.arn] = stream
            listeners = list(self._listeners)
        for listener in listeners:
            listener(stream)

    def get(self, arn: str) -> Stream | None:
        with self._lock:
            return self._streams.get(arn)

    def all(self) -> list[Stream]:
        with self._lock:
            return list(self._streams.values())

    def on_new_stream(self, listener: Callable[[Stream], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def require(self, arn: str) -> Stream:
        stream = self.get(arn)
        if stream is None:
            raise StreamError("ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found")
        return stream


REGISTRY = StreamRegistry()


# ---------------------------------------------------------------- record building

_local = threading.local()  # .ttl: deleting for TTL; .groups: changes held until a moto call ends


def build_record(
    stream: Stream, seq: int, keys: dict, old: dict | None, new: dict | None, ttl: bool, partition_key: str
) -> Record:
    """The AWS stream record for a change (old/new: DynamoDB JSON images, None when absent)."""
    arrival = stream.clock()
    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    ddb: dict[str, Any] = {"ApproximateCreationDateTime": int(arrival), "Keys": keys}
    size = item_size(keys)
    if new is not None and stream.view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        ddb["NewImage"] = new
        size += item_size(new)
    if old is not None and stream.view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        ddb["OldImage"] = old
        size += item_size(old)
    ddb.update(SequenceNumber=str(seq), SizeBytes=size, StreamViewType=stream.view_type)
    data: dict[str, Any] = {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": stream.region,
        "dynamodb": ddb,
    }
    event = {**data, "eventSourceARN": stream.arn}
    if ttl:
        data["userIdentity"] = {"Type": "Service", "PrincipalId": TTL_PRINCIPAL}
        event["userIdentity"] = {"type": "Service", "principalId": TTL_PRINCIPAL}
    return Record(seq, arrival, partition_key, data, json.dumps(_wire(event), separators=(",", ":")).encode())


def stream_of_shard(shard: Any) -> Stream:
    """Our Stream behind a moto StreamShard (created on first use)."""
    stream = getattr(shard, "_ddbstream", None)
    if stream is None:
        table = shard.table
        spec = table.stream_specification or {}
        stream = Stream(
            arn=f"{table.table_arn}/stream/{table.latest_stream_label}",
            table_name=table.name,
            region=table.region_name,
            view_type=spec.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
            key_schema=list(table.schema),
            label=table.latest_stream_label,
        )
        shard._ddbstream = stream
        REGISTRY.add(stream)
    return stream


@dataclass
class Change:
    """One item change as moto reported it, with its images taken at that moment."""

    shard: Any
    keys: dict
    old: dict | None
    new: dict | None
    ttl: bool


def snapshot(shard: Any, old: Any, new: Any) -> Change:
    """The change (moto Items or None) with its DynamoDB JSON images (binary values as bytes)."""
    table = shard.table
    old_image = old.to_json()["Attributes"] if old is not None else None
    new_image = new.to_json()["Attributes"] if new is not None else None
    image = new_image if new_image is not None else old_image
    key_names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    keys = {name: image[name] for name in key_names if name in image}
    return Change(shard, keys, old_image, new_image, bool(getattr(_local, "ttl", False)) and new is None)


def _wire(value: Any) -> Any:
    """DynamoDB JSON as Lambda receives it: binary values base64-encoded.

    The GetRecords response keeps bytes, because moto's serializer encodes blobs itself.
    """
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def record_change(change: Change) -> None:
    """Append the change to its shard's stream, as AWS would."""
    table = change.shard.table
    stream = stream_of_shard(change.shard)
    if not (table.stream_specification or {}).get("StreamEnabled"):
        stream.close()
        return
    if change.old == change.new:
        return  # AWS writes no record for a write that changes nothing
    keys, old, new, ttl = change.keys, change.old, change.new, change.ttl
    partition_key = json.dumps(_wire(keys[table.hash_key_attr]), sort_keys=True)  # order is kept per hash key
    stream.append(lambda seq: build_record(stream, seq, keys, old, new, ttl, partition_key))


# ---------------------------------------------------------------- moto patches


def _patched_shard_init(original: Callable) -> Callable:
    def __init__(self: Any, account_id: str, table: Any) -> None:
        original(self, account_id, table)
        stream_of_shard(self)

    return __init__


def _shard_add(self: Any, old: Any, new: Any) -> None:
    change = snapshot(self, old, new)
    groups = getattr(_local, "groups", None)
    if groups:
        groups[-1].append(change)  # inside update_item / transact_write_items: decided at its end
    else:
        record_change(change)


def _emit(changes: list[Change]) -> None:
    groups = getattr(_local, "groups", None)
    if groups:
        groups[-1].extend(changes)
    else:
        for change in changes:
            record_change(change)


def _grouped(original: Callable, fold: bool) -> Callable:
    """Collect the changes one moto call reports; emit them when it succeeds, drop them when it fails.

    ``fold``: moto writes an update of a missing item as two changes (an empty put, then the
    update); AWS writes one record, from the first old image to the last new one.
    """

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "groups", None) is None:
            _local.groups = []
        _local.groups.append([])
        try:
            result = original(self, *args, **kwargs)
        except BaseException:
            _local.groups.pop()  # moto restores the tables of a cancelled transaction: no records
            raise
        changes = _local.groups.pop()
        if fold and len(changes) > 1:
            first, last = changes[0], changes[-1]
            changes = [Change(first.shard, last.keys, first.old, last.new, last.ttl)]
        _emit(changes)
        return result

    call.__name__ = original.__name__
    return call


def _patched_update_table_streams(original: Callable) -> Callable:
    """Disabling closes the stream's shard; enabling again starts a new stream (new label and ARN), as on AWS."""

    def update_table_streams(self: Any, table: Any, stream_specification: dict) -> None:
        enabling = bool(stream_specification.get("StreamEnabled") or stream_specification.get("StreamViewType"))
        was_enabled = bool((table.stream_specification or {}).get("StreamEnabled"))
        if enabling and not was_enabled:
            table.latest_stream_label = None  # moto would refuse: a disabled stream still has a label
        original(self, table, stream_specification)
        if was_enabled and not enabling and table.stream_shard is not None:
            stream_of_shard(table.stream_shard).close()

    return update_table_streams


def _api(method: Callable) -> Callable:
    """Turn StreamError into moto's JSON error response for the DynamoDB Streams API."""

    def handler(self: Any) -> Any:
        from moto.core.exceptions import JsonRESTError
        from moto.core.responses import ActionResult

        try:
            return ActionResult(method(self))
        except StreamError as exc:
            error = JsonRESTError(_ERROR_PREFIX + exc.code, exc.message)
            error.code = 400
            raise error from None

    handler.__name__ = method.__name__
    return handler


def _describe_stream(self: Any) -> dict:
    stream = REGISTRY.require(self._get_param("StreamArn"))
    if not _table_still_streams(stream):
        stream.close()  # the table was deleted or its stream disabled: the shard is closed
    stream.trim()
    return {"StreamDescription": stream.describe()}


def _table_still_streams(stream: Stream) -> bool:
    from moto.dynamodb.models import dynamodb_backends

    account = stream.arn.split(":")[4]
    table = dynamodb_backends[account][stream.region].tables.get(stream.table_name)
    return (
        table is not None
        and table.latest_stream_label == stream.label
        and bool((table.stream_specification or {}).get("StreamEnabled"))
    )


def _get_shard_iterator(self: Any) -> dict:
    stream = REGISTRY.require(self._get_param("StreamArn"))
    shard_id = self._get_param("ShardId")
    if shard_id != stream.shard_id:
        raise StreamError("ResourceNotFoundException", f"Requested resource not found: Shard {shard_id} not found")
    kind = self._get_param("ShardIteratorType")
    number = self._get_param("SequenceNumber")
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if number is None:
            raise StreamError("ValidationException", f"SequenceNumber is required for ShardIteratorType {kind}")
        if not str(number).isdigit():
            raise StreamError("ValidationException", f"Invalid SequenceNumber: {number}")
        index = stream.index_of(int(number), after=kind == "AFTER_SEQUENCE_NUMBER")
    elif number is not None:
        raise StreamError("ValidationException", f"SequenceNumber is not allowed with ShardIteratorType {kind}")
    elif kind == "TRIM_HORIZON":
        stream.trim()
        index = stream.first_index
    elif kind == "LATEST":
        index = stream.end_index
    else:
        raise StreamError(
            "ValidationException",
            f"1 validation error detected: Value '{kind}' at 'shardIteratorType' failed to satisfy constraint: "
            "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
        )
    return {"ShardIterator": encode_iterator(stream, index)}


def encode_iterator(stream: Stream, index: int) -> str:
    token = json.dumps([stream.shard_id, index, round(time.time(), 3)]).encode()
    return f"{stream.arn}|1|{base64.urlsafe_b64encode(token).decode()}"


def decode_iterator(iterator: Any) -> tuple[Stream, int]:
    try:
        arn, _, token = str(iterator).rsplit("|", 2)
        shard_id, index, issued = json.loads(base64.urlsafe_b64decode(token))
        index, issued = int(index), float(issued)
    except (ValueError, TypeError):
        raise StreamError("ValidationException", "Invalid ShardIterator") from None
    stream = REGISTRY.require(arn)
    if shard_id != stream.shard_id:
        raise StreamError("ValidationException", "Invalid ShardIterator")
    if time.time() - issued > ITERATOR_LIFETIME_SECONDS:
        raise StreamError(
            "ExpiredIteratorException", "Iterator expired. The iterator was created more than 15 minutes ago."
        )
    return stream, index


def _get_records(self: Any) -> dict:
    stream, index = decode_iterator(self._get_param("ShardIterator"))
    limit = self._get_param("Limit")
    if limit is None:
        limit = MAX_GET_RECORDS_LIMIT
    if not isinstance(limit, int) or not 1 <= limit <= MAX_GET_RECORDS_LIMIT:
        raise StreamError(
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            f"Member must have value between 1 and {MAX_GET_RECORDS_LIMIT}",
        )
    if stream.is_trimmed(index):
        raise StreamError(
            "TrimmedDataAccessException",
            "The operation attempted to read past the oldest stream record in a shard.",
        )
    records = stream.read(index, limit)
    next_index = index + len(records)
    result: dict[str, Any] = {"Records": [r.data for r in records]}
    if stream.enabled or next_index < stream.end_index:
        result["NextShardIterator"] = encode_iterator(stream, next_index)
    return result


_installed = False
_install_lock = threading.Lock()


def _patch_expression_errors() -> None:
    """moto raises ValueError (an HTTP 500) on a malformed condition or filter expression;
    DynamoDB answers ValidationException. Assumes moto's ConditionExpressionParser.parse."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.exceptions import MockValidationException

    original = ConditionExpressionParser.parse

    def parse(self: Any) -> Any:
        try:
            return original(self)
        except ValueError as exc:
            raise MockValidationException(f"Invalid expression: Syntax error; {exc}") from None

    ConditionExpressionParser.parse = parse


def _set_with_repeats(value: Any) -> list | None:
    """The listed members of a set attribute (at any depth) that names a member twice, else None."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in ("SS", "NS", "BS") and isinstance(inner, list):
        try:
            members = [Decimal(v) for v in inner] if kind == "NS" else inner  # NS: 1 and 1.0 are one number
            return inner if len(set(members)) != len(members) else None
        except (ArithmeticError, TypeError, ValueError):
            return None  # not a valid set at all: moto's own validation answers
    if kind == "M" and isinstance(inner, dict):
        children = list(inner.values())
    elif kind == "L" and isinstance(inner, list):
        children = inner
    else:
        children = []
    for child in children:
        repeated = _set_with_repeats(child)
        if repeated is not None:
            return repeated
    return None


def _refuse_what_dynamodb_refuses(attributes: dict | None, names_are_attributes: bool) -> None:
    """Empty attribute names and sets listing a value twice: moto stores both, then serves the item
    mangled (and the stream records with it); DynamoDB refuses the request."""
    from moto.dynamodb.exceptions import MockValidationException

    if not attributes:
        return
    if names_are_attributes and "" in attributes:
        raise MockValidationException("One or more parameter values were invalid: an attribute name is empty")
    for value in attributes.values():
        repeated = _set_with_repeats(value)
        if repeated is not None:
            listed = ", ".join(base64.b64encode(v).decode() if isinstance(v, bytes) else str(v) for v in repeated)
            raise MockValidationException(
                f"One or more parameter values were invalid: Input collection [{listed}] contains duplicates"
            )


def _validated_put(original: Callable) -> Callable:
    def put_item(self: Any, table_name: str, item_attrs: dict, *args: Any, **kwargs: Any) -> Any:
        _refuse_what_dynamodb_refuses(item_attrs, names_are_attributes=True)
        return original(self, table_name, item_attrs, *args, **kwargs)

    return put_item


def _validated_update(original: Callable) -> Callable:
    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse_what_dynamodb_refuses(kwargs.get("expression_attribute_values"), names_are_attributes=False)
        return original(self, *args, **kwargs)

    return update_item


def patch_moto() -> None:
    """Apply the patches (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import StreamShard
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

        StreamShard.__init__ = _patched_shard_init(StreamShard.__init__)
        StreamShard.add = _shard_add
        DynamoDBBackend.put_item = _validated_put(DynamoDBBackend.put_item)
        DynamoDBBackend.update_item = _validated_update(_grouped(DynamoDBBackend.update_item, fold=True))
        DynamoDBBackend.transact_write_items = _grouped(DynamoDBBackend.transact_write_items, fold=False)
        DynamoDBBackend.update_table_streams = _patched_update_table_streams(DynamoDBBackend.update_table_streams)
        _patch_expression_errors()
        DynamoDBStreamsHandler.describe_stream = _api(_describe_stream)
        DynamoDBStreamsHandler.get_shard_iterator = _api(_get_shard_iterator)
        DynamoDBStreamsHandler.get_records = _api(_get_records)
        _installed = True


# ---------------------------------------------------------------- TTL


def _ttl_seconds(value: Any) -> float | None:
    if value is None or value.type != "N":
        return None
    try:
        return float(value.value)
    except (TypeError, ValueError):
        return None


def _items_of(table: Any) -> list:
    """Every item of a moto table (``table.items``: hash -> item, or hash -> range -> item)."""
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for by_range in list(table.items.values()) for item in list(by_range.values())]


def sweep_expired_items(now: float | None = None) -> int:
    """Delete every item whose TTL has passed, as DynamoDB's TTL process does; return how many."""
    from moto.dynamodb.models import dynamodb_backends

    now = time.time() if now is None else now
    deleted = 0
    for _account, regions in list(dynamodb_backends.items()):
        for _region, backend in list(regions.items()):
            for table in list(backend.tables.values()):
                ttl = getattr(table, "ttl", None) or {}
                attribute = ttl.get("AttributeName")
                if ttl.get("TimeToLiveStatus") != "ENABLED" or not attribute:
                    continue
                try:
                    items = _items_of(table)
                except RuntimeError:  # a concurrent write changed the table: next sweep
                    continue
                for item in items:
                    expires = _ttl_seconds(item.attrs.get(attribute))
                    if expires is None or not now - TTL_MAX_PAST_SECONDS <= expires < now:
                        continue
                    _local.ttl = True
                    try:
                        if table.delete_item(item.hash_key, item.range_key) is not None:
                            deleted += 1
                    finally:
                        _local.ttl = False
    return deleted


class TtlSweeper:
    """A daemon thread running sweep_expired_items every few seconds."""

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ddbstream-ttl", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep_expired_items()
            except Exception:
                log.exception("TTL sweep failed")


def install(emulator: Any) -> None:
    """Patch moto, expose the registry as the "streams" component, start the TTL sweeper."""
    patch_moto()
    emulator.components["streams"] = REGISTRY
    interval = float(os.environ.get(TTL_SWEEP_ENV) or DEFAULT_TTL_SWEEP_SECONDS)
    sweeper = TtlSweeper(interval)
    sweeper.start()
    emulator.on_shutdown(sweeper.stop)
