"""Every patch of moto's internals the daemon's DynamoDB needs (tests/test_moto_assumptions.py checks each).

moto keeps a table's stream records in ``StreamShard.items``, numbers them by list position,
hands them to its own Lambda event source mappings and then clears the list (so sequence
numbers are reused and other readers lose records). Here:

- ``StreamShard.__init__`` / ``StreamShard.add``: every change goes to our ``Stream`` (the
  record built as AWS builds it, a never-reused increasing sequence number, a wake-up for the
  engine); moto's own list and its Lambda hook are never used.
- ``DynamoDBBackend.update_item``: moto writes an update of a missing item as two changes
  (an empty put, then the update); they are folded into the one record AWS writes.
- ``DynamoDBBackend.transact_write_items``: its records are written only if it commits.
- ``DynamoDBBackend.update_table_streams``: disabling closes the shard; enabling again makes a
  new stream (moto would refuse).
- ``DynamoDBStreamsHandler``: DescribeStream, GetShardIterator and GetRecords answer from our
  streams (api.py).
- ``DynamoDBBackend.put_item``, ``update_item`` (inside its grouping), ``DynamoHandler._dispatch``,
  ``put_item`` and ``batch_write_item``, and ``ConditionExpressionParser.parse``: the input checks of checks.py;
  ``LimitedSizeDict`` no longer counts sizes its own way (checks.py counts them as DynamoDB does).
- ``StreamShard.__init__`` also gives the stream label AWS's millisecond form.
- answers.py: moto's answers where AWS's recorded ones differ (condition failures with the old
  item, DeleteTable's not-found text, ConsumedCapacity nobody asked for).
- ``BaseModel.__new__``: moto appends every model instance it ever makes to its class's
  ``instances_tracked`` list (for its dashboard), so every version of every item, log event
  and message stayed in memory for good; only S3's models are still tracked (its reset
  closes their files through the list).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import LimitedSizeDict
from moto.dynamodb.models.table import StreamShard
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from ddbstream.emulator.streams import answers, api
from ddbstream.emulator.streams.checks import (
    expression_errors_as_validation,
    readable_requests_only,
    validated_batch_write,
    validated_put,
    validated_put_request,
    validated_update,
)
from ddbstream.emulator.streams.store import REGISTRY, Stream, StreamError
from ddbstream.stream_records import event_json

_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"

_local = threading.local()  # .ttl: deleting for TTL; .groups: changes held until a moto call ends
_installed = False
_install_lock = threading.Lock()


@contextmanager
def deleting_for_ttl() -> Iterator[None]:
    """Deletions made inside are Time to Live's: their REMOVE records carry the TTL identity."""
    _local.ttl = True
    try:
        yield
    finally:
        _local.ttl = False


# ---------------------------------------------------------------- recording changes


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


def change_of(shard: Any, old: Any, new: Any) -> Change:
    """The change (moto Items or None) with its DynamoDB JSON images (binary values as bytes)."""
    table = shard.table
    old_image = old.to_json()["Attributes"] if old is not None else None
    new_image = new.to_json()["Attributes"] if new is not None else None
    image = new_image if new_image is not None else old_image
    key_names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    keys = {name: image[name] for name in key_names if name in image}
    return Change(shard, keys, old_image, new_image, bool(getattr(_local, "ttl", False)) and new is None)


def record_change(change: Change) -> None:
    """Append the change to its shard's stream, as AWS would."""
    table = change.shard.table
    stream = stream_of_shard(change.shard)
    if not (table.stream_specification or {}).get("StreamEnabled"):
        stream.close()
        return
    if change.old == change.new:
        return  # AWS writes no record for a write that changes nothing
    partition_key = json.dumps(event_json(change.keys[table.hash_key_attr]), sort_keys=True)  # order per hash key
    stream.append_change(change.keys, change.old, change.new, change.ttl, partition_key)


def millisecond_label(label: str) -> str:
    """A stream label as AWS writes it, ``2025-02-22T03:03:25.490`` (moto's has microseconds, or none)."""
    whole, _, fraction = label.partition(".")
    return f"{whole}.{(fraction + '000')[:3]}"


def _patched_shard_init(original: Callable) -> Callable:
    def __init__(self: Any, account_id: str, table: Any) -> None:
        if table.latest_stream_label:  # moto sets it just before it makes the shard
            table.latest_stream_label = millisecond_label(table.latest_stream_label)
        original(self, account_id, table)
        stream_of_shard(self)

    return __init__


def _shard_add(self: Any, old: Any, new: Any) -> None:
    change = change_of(self, old, new)
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


# ---------------------------------------------------------------- the Streams API handler


def _answered_from_our_streams(method: Callable) -> Callable:
    """A DynamoDBStreamsHandler method answering with api.py; StreamError becomes moto's JSON error."""

    def handler(self: Any) -> Any:
        try:
            return ActionResult(method(self))
        except StreamError as exc:
            error = JsonRESTError(_ERROR_PREFIX + exc.code, exc.message)
            error.code = 400
            raise error from None

    handler.__name__ = method.__name__
    return handler


def _table_still_streams(stream: Stream) -> bool:
    account = stream.arn.split(":")[4]
    table = dynamodb_backends[account][stream.region].tables.get(stream.table_name)
    return (
        table is not None
        and table.latest_stream_label == stream.label
        and bool((table.stream_specification or {}).get("StreamEnabled"))
    )


def _describe_stream(self: Any) -> dict:
    return api.describe_stream(REGISTRY, self._get_param("StreamArn"), _table_still_streams)


def _get_shard_iterator(self: Any) -> dict:
    param = self._get_param
    return api.get_shard_iterator(
        REGISTRY, param("StreamArn"), param("ShardId"), param("ShardIteratorType"), param("SequenceNumber")
    )


def _get_records(self: Any) -> dict:
    return api.get_records(REGISTRY, self._get_param("ShardIterator"), self._get_param("Limit"))


def _new_untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    """BaseModel.__new__ without moto's list of every instance ever made (S3's excepted)."""
    instance = super(BaseModel, cls).__new__(cls)
    if cls.__module__.startswith("moto.s3."):
        cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
    return instance


def patch_moto() -> None:
    """Apply the patches (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        StreamShard.__init__ = _patched_shard_init(StreamShard.__init__)
        StreamShard.add = _shard_add
        DynamoDBBackend.put_item = validated_put(DynamoDBBackend.put_item)
        DynamoDBBackend.update_item = _grouped(validated_update(DynamoDBBackend.update_item), fold=True)
        DynamoHandler._dispatch = readable_requests_only(DynamoHandler._dispatch)
        DynamoHandler.batch_write_item = validated_batch_write(DynamoHandler.batch_write_item)
        DynamoHandler.put_item = validated_put_request(DynamoHandler.put_item)
        LimitedSizeDict.__setitem__ = dict.__setitem__
        DynamoDBBackend.transact_write_items = _grouped(DynamoDBBackend.transact_write_items, fold=False)
        DynamoDBBackend.update_table_streams = _patched_update_table_streams(DynamoDBBackend.update_table_streams)
        ConditionExpressionParser.parse = expression_errors_as_validation(ConditionExpressionParser.parse)
        DynamoDBStreamsHandler.describe_stream = _answered_from_our_streams(_describe_stream)
        DynamoDBStreamsHandler.get_shard_iterator = _answered_from_our_streams(_get_shard_iterator)
        DynamoDBStreamsHandler.get_records = _answered_from_our_streams(_get_records)
        BaseModel.__new__ = staticmethod(_new_untracked)  # type: ignore[method-assign]
        answers.correct_moto()
        _installed = True
