"""The stream's side: every record read back, and each tied to the write that made it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.dlq import lambda_record
from ddbstream.errors import AwsError
from ddbstream.load.plan import Write, key_id
from ddbstream.load.writer import WriteResults

EMPTY_READS = 3  # GetRecords pages in a row without records before a shard counts as read


def read_stream(streams: Any, stream_arn: str) -> list[dict]:
    """Every record of the stream, shard by shard from TRIM_HORIZON, as GetRecords returns them."""
    records: list[dict] = []
    try:
        shards: list[dict] = []
        args: dict[str, Any] = {"StreamArn": stream_arn}
        while True:
            description = streams.describe_stream(**args)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            args["ExclusiveStartShardId"] = last
        for shard in shards:
            iterator = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            empty = 0
            while iterator and empty < EMPTY_READS:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                records.extend(page.get("Records", []))
                empty = 0 if page.get("Records") else empty + 1
                iterator = page.get("NextShardIterator")
    except ClientError as exc:
        raise AwsError(f"reading the stream {stream_arn} failed: {exc}") from None
    return records


@dataclass
class StreamRecord:
    sequence_number: str
    event_id: str
    event_name: str
    key_id: str
    write: int | None = None  # the plan's write index
    lambda_event: dict | None = None

    @property
    def number(self) -> int:
        return int(self.sequence_number)


def stream_records(raw: Iterable[dict], stream_arn: str) -> list[StreamRecord]:
    """GetRecords records -> StreamRecords (not tied to any write)."""
    out = []
    for record in raw:
        event = lambda_record(record, stream_arn)
        ddb = event.get("dynamodb", {})
        out.append(
            StreamRecord(
                ddb["SequenceNumber"],
                event.get("eventID", ""),
                event.get("eventName", ""),
                key_id(ddb.get("Keys", {})),
                lambda_event=event,
            )
        )
    return out


def match_records(
    plan: list[Write], results: WriteResults, raw: Iterable[dict], stream_arn: str
) -> tuple[list[StreamRecord], list[str]]:
    """The stream records this plan caused, each tied to its write; and the mismatches found."""
    writes_of: dict[str, list[Write]] = defaultdict(list)
    uncertain: set[str] = set()
    for write in plan:
        writes_of[write.key_id].append(write)
        if write.index in results.errors:
            uncertain.add(write.key_id)  # a write that failed may or may not have landed
    records_of: dict[str, list[StreamRecord]] = defaultdict(list)
    for record in stream_records(raw, stream_arn):
        if record.key_id in writes_of:
            records_of[record.key_id].append(record)
    problems = []
    expected_names = {"delete": {"REMOVE"}, "put": {"INSERT", "MODIFY"}, "update": {"INSERT", "MODIFY"}}
    out: list[StreamRecord] = []
    for kid, records in records_of.items():
        records.sort(key=lambda r: r.number)
        writes = [w for w in writes_of[kid] if w.index in results.acked_ms]
        if kid not in uncertain:
            if len(records) != len(writes):
                problems.append(f"key {kid}: {len(writes)} write(s) acknowledged but {len(records)} stream record(s)")
            for write, record in zip(writes, records):
                record.write = write.index
                if record.event_name not in expected_names[write.op]:
                    problems.append(f"write {write.index} ({write.op}) made a {record.event_name} record")
        out.extend(records)
    for kid, writes in writes_of.items():
        acked = [w for w in writes if w.index in results.acked_ms]
        if acked and kid not in records_of and kid not in uncertain:
            problems.append(f"key {kid}: {len(acked)} write(s) acknowledged but no stream record")
    out.sort(key=lambda r: r.number)
    return out, problems
