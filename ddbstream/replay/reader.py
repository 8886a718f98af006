"""Reading a stream for a replay, with the DynamoDB Streams API only (so it works on AWS too).

DescribeStream lists the shards (paged); each shard is read with GetShardIterator and
GetRecords until its end, or until the caller stops asking. An iterator that expires while
the function runs (they last 15 minutes) is renewed after the last record read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.dlq import STREAM_RETENTION_SECONDS
from ddbstream.durations import iso_ms
from ddbstream.errors import AwsError, NotFound
from ddbstream.logs import error_code
from ddbstream.replay.selection import SEQUENCE, TIME, TRIM_HORIZON, Position

PAGE_LIMIT = 1000  # GetRecords' largest page
EMPTY_READS = 3  # answers in a row without records that end an open shard's reading
GONE = "DynamoDB keeps stream records for 24 hours"


@dataclass(frozen=True)
class StreamShards:
    """A stream's shards as DescribeStream lists them, and when the stream was created (epoch s)."""

    arn: str
    shards: list[dict]
    created: float | None


def describe_shards(streams: Any, stream_arn: str) -> StreamShards:
    """Every shard of the stream (DescribeStream, page after page)."""
    shards: list[dict] = []
    created: float | None = None
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        try:
            description = streams.describe_stream(**kwargs)["StreamDescription"]
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise NotFound(f"the stream {stream_arn} does not exist") from None
            raise AwsError(f"DescribeStream failed: {exc}") from None
        shards += description.get("Shards") or []
        moment = description.get("CreationRequestDateTime")
        if isinstance(moment, datetime):
            created = moment.timestamp()
        last = description.get("LastEvaluatedShardId")
        if not last:
            return StreamShards(stream_arn, shards, created)
        kwargs["ExclusiveStartShardId"] = last


def check_retained(stream: StreamShards, start: Position, now: float | None = None) -> None:
    """NotFound when the range starts before what the stream still holds: its first records are gone."""
    if start.kind == SEQUENCE and stream.shards:
        oldest = min(int(s.get("SequenceNumberRange", {}).get("StartingSequenceNumber") or 0) for s in stream.shards)
        if start.sequence < oldest:
            raise NotFound(
                f"--from {start.text} is older than every shard of the stream (the oldest starts at {oldest}): "
                f"its records are gone ({GONE}) or were never in this stream"
            )
    if start.kind != TIME:
        return
    horizon = (time.time() if now is None else now) - STREAM_RETENTION_SECONDS
    if start.time_ms / 1000 < horizon and stream.created is not None and stream.created < horizon:
        raise NotFound(
            f"--from {start.text}: the stream's records before {iso_ms(horizon * 1000)} are gone ({GONE}); "
            "replay from TRIM_HORIZON or a later time"
        )


def shard_records(streams: Any, stream_arn: str, shard_id: str, kind: str, number: str | None) -> Iterator[dict]:
    """The records of one shard from the given iterator type on, as GetRecords returns them."""
    iterator = _iterator(streams, stream_arn, shard_id, kind, number)
    last: str | None = None
    empty = 0
    while iterator and empty < EMPTY_READS:
        try:
            page = streams.get_records(ShardIterator=iterator, Limit=PAGE_LIMIT)
        except ClientError as exc:
            if error_code(exc) != "ExpiredIteratorException":
                raise _read_error(exc, shard_id, number) from None
            # Expired while the function ran: carry on right after the last record read.
            iterator = _iterator(streams, stream_arn, shard_id, *_resume(kind, number, last))
            continue
        records = page.get("Records") or []
        empty = 0 if records else empty + 1
        for record in records:
            last = record["dynamodb"]["SequenceNumber"]
            yield record
        iterator = page.get("NextShardIterator")


def _resume(kind: str, number: str | None, last: str | None) -> tuple[str, str | None]:
    return ("AFTER_SEQUENCE_NUMBER", last) if last is not None else (kind, number)


def _iterator(streams: Any, stream_arn: str, shard_id: str, kind: str, number: str | None) -> str | None:
    kwargs = {"StreamArn": stream_arn, "ShardId": shard_id, "ShardIteratorType": kind}
    if kind != TRIM_HORIZON and number is not None:
        kwargs["SequenceNumber"] = number
    try:
        return streams.get_shard_iterator(**kwargs).get("ShardIterator")
    except ClientError as exc:
        raise _read_error(exc, shard_id, number) from None


def _read_error(exc: ClientError, shard_id: str, number: str | None) -> Exception:
    """The one line a failed read says."""
    code = error_code(exc)
    start = f"sequence number {number}" if number else "the start of the range"
    if code == "TrimmedDataAccessException":
        return NotFound(
            f"the records from {start} are no longer in the stream ({GONE}); replay from TRIM_HORIZON or later"
        )
    if code == "ResourceNotFoundException":
        return NotFound(f"shard {shard_id} is no longer in the stream ({GONE})")
    if code in ("ValidationException", "InvalidArgumentException") and number is not None:
        return NotFound(f"sequence number {number} is not in shard {shard_id} of the stream")
    return AwsError(f"reading the stream failed: {exc}")
