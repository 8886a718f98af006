"""The DynamoDB Streams API answered from the stream store: DescribeStream, GetShardIterator, GetRecords.

Each answer is the response document, or a StreamError (code and message) that moto_patches
renders as moto renders its own errors. A shard iterator names the stream, the logical index
to read from and when it was issued (it expires after 15 minutes, as on AWS).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from ddbstream.emulator.streams.store import Stream, StreamError, StreamRegistry

ITERATOR_LIFETIME_SECONDS = 15 * 60.0
MAX_GET_RECORDS_LIMIT = 1000
ITERATOR_TYPES = "[AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
records_returned: Callable[[Stream, int], None] | None = None  # AWS/DynamoDB ReturnedRecordsCount (metrics)


def describe_stream(registry: StreamRegistry, stream_arn: str, table_streams: Callable[[Stream], bool]) -> dict:
    """DescribeStream; ``table_streams(stream)`` says whether its table still writes to it."""
    stream = registry.require(stream_arn)
    if not table_streams(stream):
        stream.close()  # the table was deleted or its stream disabled: the shard is closed
    stream.trim()
    return {"StreamDescription": stream.describe()}


def get_shard_iterator(
    registry: StreamRegistry, stream_arn: str, shard_id: Any, kind: Any, number: Any
) -> dict[str, str]:
    """GetShardIterator of type ``kind`` (``number``: the SequenceNumber parameter, if given)."""
    stream = registry.require(stream_arn)
    if shard_id != stream.shard_id:
        raise StreamError("ResourceNotFoundException", f"Requested resource not found: Shard {shard_id} not found")
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
            f"Member must satisfy enum value set: {ITERATOR_TYPES}",
        )
    return {"ShardIterator": encode_iterator(stream, index)}


def get_records(registry: StreamRegistry, iterator: Any, limit: Any) -> dict[str, Any]:
    """GetRecords: up to ``limit`` records (default 1000) and the iterator after them."""
    stream, index = decode_iterator(registry, iterator)
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
    if records_returned is not None:
        records_returned(stream, len(records))
    result: dict[str, Any] = {"Records": [r.data for r in records]}
    if stream.enabled or next_index < stream.end_index:
        result["NextShardIterator"] = encode_iterator(stream, next_index)
    return result


def encode_iterator(stream: Stream, index: int) -> str:
    token = json.dumps([stream.shard_id, index, round(time.time(), 3)]).encode()
    return f"{stream.arn}|1|{base64.urlsafe_b64encode(token).decode()}"


def decode_iterator(registry: StreamRegistry, iterator: Any) -> tuple[Stream, int]:
    """The stream and logical index a shard iterator points at; StreamError when invalid or expired."""
    try:
        arn, _, token = str(iterator).rsplit("|", 2)
        shard_id, index, issued = json.loads(base64.urlsafe_b64decode(token))
        index, issued = int(index), float(issued)
    except (ValueError, TypeError):
        raise StreamError("ValidationException", "Invalid ShardIterator") from None
    stream = registry.require(arn)
    if shard_id != stream.shard_id:
        raise StreamError("ValidationException", "Invalid ShardIterator")
    if time.time() - issued > ITERATOR_LIFETIME_SECONDS:
        raise StreamError(
            "ExpiredIteratorException", "Iterator expired. The iterator was created more than 15 minutes ago."
        )
    return stream, index
