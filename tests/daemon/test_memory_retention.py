"""Bounded memory: stream records past the retention period and log events past their group's
retention (or beyond the per-group cap) leave the daemon's memory; moto keeps no copy of each write."""

from __future__ import annotations

import gc
import time
import uuid

import pytest
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import Item
from moto.logs.models import logs_backends

from ddbstream.emulator.runtime.logs import EVENTS_PER_GROUP_ENV, put_events
from ddbstream.emulator.streams import RETENTION_ENV, Stream, StreamError, StreamRegistry, patch_moto
from ddbstream.emulator.streams.api import get_records, get_shard_iterator
from ddbstream.stream_records import event_name_of, stream_record

ACCOUNT, REGION = "123456789012", "us-east-1"
ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/stream/2024-01-01T00:00:00.000"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def new_stream(clock: Clock) -> Stream:
    return Stream(
        arn=ARN, table_name="t", region=REGION, view_type="NEW_AND_OLD_IMAGES", key_schema=[], label="l", clock=clock
    )


def put(stream: Stream, key: str, value: str = "v") -> int:
    keys = {"k": {"S": key}}
    record = stream.append_change(keys, None, {**keys, "v": {"S": value * 20}}, False, key)
    assert record is not None
    return record.seq


def test_records_past_retention_leave_memory_and_get_records(monkeypatch):
    monkeypatch.setenv(RETENTION_ENV, "100")
    clock = Clock()
    stream = new_stream(clock)
    registry = StreamRegistry()
    registry.add(stream)
    old = [put(stream, f"old{n}") for n in range(3000)]
    old_iterator = get_shard_iterator(registry, ARN, stream.shard_id, "TRIM_HORIZON", None)["ShardIterator"]
    clock.now += 150
    new = [put(stream, f"new{n}") for n in range(3)]

    assert min(new) > max(old)  # sequence numbers never reused
    assert stream.first_index == 3000 and stream.end_index == 3003
    assert len(stream._packed) < 100  # the trimmed records' columns and text are gone, not just hidden
    with pytest.raises(StreamError) as trimmed:
        get_records(registry, old_iterator, None)
    assert trimmed.value.code == "TrimmedDataAccessException"
    with pytest.raises(StreamError) as beyond:
        stream.index_of(old[-1], after=False)
    assert beyond.value.code == "TrimmedDataAccessException"
    horizon = get_shard_iterator(registry, ARN, stream.shard_id, "TRIM_HORIZON", None)["ShardIterator"]
    read = get_records(registry, horizon, None)["Records"]
    assert [r["dynamodb"]["SequenceNumber"] for r in read] == [str(n) for n in new]
    assert put(stream, "later") > max(new)


def test_records_are_kept_compact():
    stream = new_stream(Clock())
    for n in range(1000):
        put(stream, f"key{n:04d}", value=f"value {n}")
    text = sum(len(r.lambda_json) for r in stream.read(0, 1000))
    assert sum(len(packed) for packed in stream._packed) < text / 3
    assert not hasattr(stream.read(0, 1)[0], "__dict__")  # no per-record cache of decoded JSON


def test_a_record_read_back_is_the_record_written():
    stream = new_stream(Clock())
    keys = {"k": {"B": b"\x00\xffkey"}}
    old = {**keys, "s": {"BS": [b"\x01", b"\x02"]}, "m": {"M": {"b": {"B": b"\x03"}, "l": {"L": [{"B": b"\x04"}]}}}}
    new = {**keys, "n": {"N": "1.50"}, "l": {"L": [{"M": {"deep": {"BS": [b"\xfe"]}}}, {"S": "é"}]}}
    for before, after, ttl in ((None, new, False), (new, old, False), (old, None, True)):
        record = stream.append_change(keys, before, after, ttl, "pk")
        assert record is not None
        event_id = stream.read(record.index, 1)[0].event["eventID"]
        expected = stream_record(
            event_name_of(before, after),
            keys,
            after,
            before,
            "NEW_AND_OLD_IMAGES",
            record.seq,
            created=int(record.arrival),
            region=REGION,
            event_id=event_id,
            ttl=ttl,
        )
        assert stream.read(record.index, 1)[0].data == expected


def test_moto_keeps_no_copy_of_each_write():
    patch_moto()
    backend = dynamodb_backends[ACCOUNT][REGION]
    name = f"memory-{uuid.uuid4().hex[:8]}"
    backend.create_table(
        name,
        schema=[{"AttributeName": "k", "KeyType": "HASH"}],
        attr=[{"AttributeName": "k", "AttributeType": "S"}],
        throughput=None,
        billing_mode="PAY_PER_REQUEST",
        indexes=[],
        global_indexes=[],
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    try:
        for n in range(200):
            backend.put_item(name, {"k": {"S": name}, "v": {"N": str(n)}})
        gc.collect()
        versions = [o for o in gc.get_objects() if isinstance(o, Item) and o.hash_key.value == name]
        assert len(versions) == 1  # moto's instances_tracked kept all 200
    finally:
        backend.delete_table(name)


def logs_group(retention_days: int | None = None) -> tuple[object, str]:
    backend = logs_backends[ACCOUNT][REGION]
    group = f"/aws/lambda/memory-{uuid.uuid4().hex[:8]}"
    backend.create_log_group(group, {})
    if retention_days:
        backend.put_retention_policy(group, retention_days)
    return backend, group


def messages(backend, group: str) -> list[str]:
    return [e.message for s in backend.groups[group].streams.values() for e in s.events]


def test_log_events_past_their_groups_retention_leave_memory():
    backend, group = logs_group(retention_days=1)
    now_ms = int(time.time() * 1000)
    two_days = 2 * 86_400_000
    put_events(backend, group, "s", [{"timestamp": now_ms - two_days + n, "message": f"old{n}"} for n in range(5)])
    put_events(backend, group, "s", [{"timestamp": now_ms, "message": "new"}])
    assert messages(backend, group) == ["new"]
    found, _, _ = backend.filter_log_events(group, [], None, None, None, None, "", False)
    assert [e["message"] for e in found] == ["new"]
    backend.delete_log_group(group)


def test_a_group_keeps_at_most_its_cap_of_events_newest_first(monkeypatch):
    monkeypatch.setenv(EVENTS_PER_GROUP_ENV, "10")
    backend, group = logs_group()  # never expires: the cap alone bounds it
    now_ms = int(time.time() * 1000)
    sent = []
    for batch in range(3):
        for stream in ("a", "b"):
            lines = [f"{batch}{stream}{n}" for n in range(4)]
            put_events(backend, group, stream, [{"timestamp": now_ms + batch, "message": m} for m in lines])
            sent += lines
    kept = messages(backend, group)
    assert len(kept) <= 11 and sorted(kept) == sorted(sent[-len(kept) :])
    backend.delete_log_group(group)
