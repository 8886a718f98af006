"""`ddbstream replay`'s selection logic, and the flow over fake Streams and Lambda clients."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from ddbstream.errors import InvalidInput, NotFound
from ddbstream.replay import ReplayOptions, check_range, compile_filter, parse_position, start_replay
from ddbstream.replay.reader import check_retained, describe_shards, shard_records
from ddbstream.replay.selection import (
    AFTER,
    BEFORE,
    INSIDE,
    SEQUENCE,
    TIME,
    TRIM_HORIZON,
    Selection,
    batches,
    failed_positions,
    shards_in_order,
)

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:dlq"
BASE = 10**20  # sequence numbers of 21 digits
T0 = 1_700_000_000


def seq(n: int) -> str:
    return str(BASE + n)


def record(n: int, key: str | None = None, created: float | None = None, event: str = "INSERT") -> dict:
    key = key or f"k{n}"
    return {
        "eventID": f"id{n}",
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime.fromtimestamp(T0 + n if created is None else created, UTC),
            "Keys": {"id": {"S": key}},
            "NewImage": {"id": {"S": key}, "n": {"N": str(n)}},
            "SequenceNumber": seq(n),
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def shard(shard_id: str, first: int, last: int | None = None, parent: str | None = None) -> dict:
    numbers = {"StartingSequenceNumber": seq(first)}
    if last is not None:
        numbers["EndingSequenceNumber"] = seq(last)
    return {"ShardId": shard_id, "SequenceNumberRange": numbers, **({"ParentShardId": parent} if parent else {})}


def client_error(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


def selection(start: str, end: str | None = None, filters=(), began: float = T0 + 10_000) -> Selection:
    return Selection(
        parse_position(start, "--from", now=T0 + 100),
        parse_position(end, "--to", now=T0 + 100) if end else None,
        tuple(filters),
        began * 1000,
    )


# ---------------------------------------------------------------- positions


def test_positions_parse_each_form():
    assert parse_position("trim_horizon").kind == TRIM_HORIZON
    number = parse_position(seq(5))
    assert (number.kind, number.sequence) == (SEQUENCE, BASE + 5)
    moment = parse_position("2023-11-14T22:13:20Z")
    assert (moment.kind, moment.time_ms) == (TIME, T0 * 1000)
    assert parse_position("10m", now=T0).time_ms == (T0 - 600) * 1000


@pytest.mark.parametrize(
    ("text", "option", "message"),
    [
        ("123", "--from", "invalid --from '123': a stream sequence number has 21 to 40 digits"),
        ("1" * 41, "--to", f"invalid --to '{'1' * 41}': a stream sequence number has 21 to 40 digits"),
        ("12ab", "--from", "invalid --from '12ab': use TRIM_HORIZON, a sequence number (21 to 40 digits), an ISO"),
        ("yesterday", "--to", "invalid --to 'yesterday': use a sequence number (21 to 40 digits)"),
        ("TRIM_HORIZON", "--to", "--to TRIM_HORIZON: a replay starts there"),
    ],
)
def test_bad_positions_say_what_is_accepted(text, option, message):
    with pytest.raises(InvalidInput) as caught:
        parse_position(text, option)
    assert caught.value.message.startswith(message)


def test_to_before_from_is_refused_when_comparable():
    with pytest.raises(InvalidInput, match=f"--to {seq(1)} is before --from {seq(2)}"):
        check_range(parse_position(seq(2)), parse_position(seq(1), "--to"))
    with pytest.raises(InvalidInput, match="--to 2024-01-01T00:00:00Z is before --from 2024-01-02T00:00:00Z"):
        check_range(parse_position("2024-01-02T00:00:00Z"), parse_position("2024-01-01T00:00:00Z", "--to"))
    check_range(parse_position(seq(2)), parse_position("2024-01-01T00:00:00Z", "--to"))  # not comparable: allowed
    check_range(parse_position("TRIM_HORIZON"), parse_position(seq(1), "--to"))


def test_filter_uses_filter_criteria_syntax():
    assert compile_filter(None) == []
    [pattern] = compile_filter('{"eventName": ["INSERT"]}')
    assert pattern.matches({"eventName": "INSERT"}) and not pattern.matches({"eventName": "REMOVE"})
    with pytest.raises(InvalidInput, match="^--filter: "):
        compile_filter('{"eventName": "INSERT"}')  # a leaf must be an array, as Lambda says


# ---------------------------------------------------------------- selection


def test_shards_are_read_parents_first():
    listed = [shard("c2", 30, parent="b"), shard("b", 20, 29, parent="a"), shard("a", 10, 19), shard("x", 15)]
    assert [s["ShardId"] for s in shards_in_order(listed)] == ["a", "x", "b", "c2"]


def test_each_shard_is_read_from_where_the_range_starts():
    chosen = selection(seq(25), seq(40))
    assert chosen.shard_start(shard("old", 10, 19)) is None  # ends before the range
    assert chosen.shard_start(shard("holds", 20, 29)) == ("AT_SEQUENCE_NUMBER", seq(25))
    assert chosen.shard_start(shard("open", 20)) == ("AT_SEQUENCE_NUMBER", seq(25))
    assert chosen.shard_start(shard("later", 30)) == (TRIM_HORIZON, None)
    assert chosen.shard_start(shard("past", 41)) is None  # starts after --to
    assert selection("10m").shard_start(shard("any", 10, 19)) == (TRIM_HORIZON, None)


def test_records_are_placed_by_number_and_by_creation_time():
    by_number = selection(seq(3), seq(5))
    assert [by_number.place(record(n)) for n in (2, 3, 5, 6)] == [BEFORE, INSIDE, INSIDE, AFTER]
    by_time = selection("2023-11-14T22:13:23Z", "2023-11-14T22:13:25Z")  # T0 + 3 .. T0 + 5
    assert [by_time.place(record(n)) for n in (2, 3, 5, 6)] == [BEFORE, INSIDE, INSIDE, AFTER]


def test_records_created_after_the_replay_began_are_left_out():
    chosen = selection("TRIM_HORIZON", began=T0 + 5.5)
    # Creation times are rounded down to the second: T0 + 5 may be earlier than the start, T0 + 6 is not.
    assert [chosen.place(record(n)) for n in (5, 6)] == [INSIDE, AFTER]


def test_every_group_of_filters_must_match():
    mapping = compile_filter('{"eventName": ["INSERT", "MODIFY"]}')
    own = compile_filter('{"dynamodb": {"Keys": {"id": {"S": [{"prefix": "a"}]}}}}')
    chosen = selection("TRIM_HORIZON", filters=(mapping, own))
    assert chosen.matches(record(1, "ab"))
    assert not chosen.matches(record(1, "b"))
    assert not chosen.matches(record(1, "ab", event="REMOVE"))


def test_batches_follow_batch_size_and_the_payload_limit():
    pairs = [(record(n), {"n": n}) for n in range(5)]
    assert [len(b) for b in batches(pairs, 2)] == [2, 2, 1]
    big = [(record(n), {"blob": "x" * (2 * 1024 * 1024)}) for n in range(4)]
    assert [len(b) for b in batches(big, 100)] == [2, 2]  # three would pass 6 MB


@pytest.mark.parametrize(
    ("error", "payload", "reports", "failed"),
    [
        ("Unhandled", None, True, [0, 1, 2]),
        (None, {"batchItemFailures": [{"itemIdentifier": "b"}]}, True, [1]),
        (None, {"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "a"}]}, True, [0, 2]),
        (None, {"batchItemFailures": [{"itemIdentifier": "b"}]}, False, []),  # not enabled: not read
        (None, {"batchItemFailures": []}, True, []),
        (None, {"batchItemFailures": None}, True, []),
        (None, None, True, []),
        (None, {"batchItemFailures": [{"itemIdentifier": ""}]}, True, [0, 1, 2]),
        (None, {"batchItemFailures": [{"itemIdentifier": "zz"}]}, True, [0, 1, 2]),
        (None, {"batchItemFailures": [{"ItemIdentifier": "b"}]}, True, [0, 1, 2]),
        (None, {"batchItemFailures": "b"}, True, [0, 1, 2]),
    ],
)
def test_failures_are_judged_as_the_mapping_judges_them(error, payload, reports, failed):
    assert failed_positions(error, payload, ["a", "b", "c"], reports) == failed


# ---------------------------------------------------------------- reading the stream


class FakeStreams:
    """DescribeStream (one shard a page), GetShardIterator and GetRecords (two records a page)."""

    def __init__(self, shards: list[dict], records: dict[str, list[dict]], created: float = T0):
        self.shards, self.records, self.created = shards, records, created
        self.expire_once = False
        self.calls: list[tuple] = []

    def describe_stream(self, StreamArn, ExclusiveStartShardId=None):
        ids = [s["ShardId"] for s in self.shards]
        index = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = {
            "Shards": self.shards[index : index + 1],
            "CreationRequestDateTime": datetime.fromtimestamp(self.created, UTC),
        }
        if index + 1 < len(self.shards):
            page["LastEvaluatedShardId"] = ids[index]
        return {"StreamDescription": page}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        self.calls.append((ShardId, ShardIteratorType, SequenceNumber))
        held = self.records[ShardId]
        if ShardIteratorType == TRIM_HORIZON:
            index = 0
        else:
            number = int(SequenceNumber)
            if number < int(held[0]["dynamodb"]["SequenceNumber"]):
                raise client_error("TrimmedDataAccessException")
            after = ShardIteratorType == "AFTER_SEQUENCE_NUMBER"
            index = next(
                (i for i, r in enumerate(held) if int(r["dynamodb"]["SequenceNumber"]) > number - (0 if after else 1)),
                len(held),
            )
        return {"ShardIterator": f"{ShardId}|{index}"}

    def get_records(self, ShardIterator, Limit):
        shard_id, index = ShardIterator.split("|")
        if self.expire_once and int(index) > 0:
            self.expire_once = False
            raise client_error("ExpiredIteratorException")
        page = self.records[shard_id][int(index) : int(index) + 2]
        return {"Records": page, "NextShardIterator": f"{shard_id}|{int(index) + len(page)}"}


def test_a_shard_is_read_to_its_end_and_an_expired_iterator_renewed():
    streams = FakeStreams([shard("s", 1)], {"s": [record(n) for n in range(1, 6)]})
    streams.expire_once = True
    read = [r["dynamodb"]["SequenceNumber"] for r in shard_records(streams, ARN, "s", TRIM_HORIZON, None)]
    assert read == [seq(n) for n in range(1, 6)]
    assert ("s", "AFTER_SEQUENCE_NUMBER", seq(2)) in streams.calls  # renewed after the last record read


def test_trimmed_records_say_so_in_one_line():
    streams = FakeStreams([shard("s", 1)], {"s": [record(n) for n in range(5, 8)]})
    with pytest.raises(NotFound) as caught:
        list(shard_records(streams, ARN, "s", "AT_SEQUENCE_NUMBER", seq(2)))
    assert caught.value.message == (
        f"the records from sequence number {seq(2)} are no longer in the stream "
        "(DynamoDB keeps stream records for 24 hours); replay from TRIM_HORIZON or later"
    )


def test_a_start_before_what_the_stream_holds_is_refused():
    streams = FakeStreams([shard("a", 10, 19), shard("b", 20)], {}, created=T0)
    described = describe_shards(streams, ARN)
    assert [s["ShardId"] for s in described.shards] == ["a", "b"]  # both pages
    with pytest.raises(NotFound, match=f"older than every shard of the stream \\(the oldest starts at {BASE + 10}\\)"):
        check_retained(described, parse_position(seq(3)))
    check_retained(described, parse_position(seq(10)))
    day = 24 * 3600
    with pytest.raises(NotFound, match="the stream's records before .* are gone"):
        check_retained(described, parse_position("25h", now=T0 + 2 * day), now=T0 + 2 * day)
    check_retained(described, parse_position("23h", now=T0 + 2 * day), now=T0 + 2 * day)


# ---------------------------------------------------------------- the flow


class FakeLambda:
    def __init__(self, answer, mapping: dict):
        self.answer, self.mapping, self.events = answer, mapping, []

    def list_event_source_mappings(self, FunctionName):
        return {"EventSourceMappings": [self.mapping]}

    def invoke(self, FunctionName, InvocationType, LogType, Payload):
        assert InvocationType == "RequestResponse"
        event = json.loads(Payload)
        self.events.append(event)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.answer(event)).encode())}


class FakeSqs:
    def __init__(self):
        self.sent = []

    def get_queue_url(self, QueueName, QueueOwnerAWSAccountId):
        return {"QueueUrl": f"https://queue/{QueueOwnerAWSAccountId}/{QueueName}"}

    def send_message(self, QueueUrl, MessageBody):
        self.sent.append((QueueUrl, json.loads(MessageBody)))


def fake_pipeline(streams, lam, sqs):
    clients = {"dynamodbstreams": streams, "lambda": lam, "sqs": sqs}
    return SimpleNamespace(
        function=SimpleNamespace(name="fn"),
        table=SimpleNamespace(stream_arn=ARN),
        endpoint=None,
        client=lambda service: clients[service],
    )


MAPPING = {
    "UUID": "u-1",
    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
    "EventSourceArn": ARN,
    "BatchSize": 2,
    "FilterCriteria": {"Filters": [{"Pattern": '{"dynamodb": {"Keys": {"id": {"S": [{"anything-but": ["k4"]}]}}}}'}]},
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN}},
}


def fail_k3(event):
    failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"] if r["dynamodb"]["Keys"]["id"]["S"] == "k3"]
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}


def test_replay_runs_the_mappings_batches_and_sends_failures_only_with_to_dlq():
    streams = FakeStreams(
        [shard("child", 6, parent="parent"), shard("parent", 1, 5)],
        {
            "parent": [record(n) for n in range(1, 6)],
            "child": [record(n) for n in range(6, 9)],
        },
    )
    lam, sqs = FakeLambda(fail_k3, MAPPING), FakeSqs()
    pipeline = fake_pipeline(streams, lam, sqs)
    options = ReplayOptions(
        parse_position(seq(2)), parse_position(seq(7), "--to"), compile_filter('{"eventName": ["INSERT"]}')
    )
    run = start_replay(pipeline, options)
    outcomes = list(run.run())
    # k4 is filtered out by the mapping's FilterCriteria; batches of 2 never span the two shards.
    assert [o.sequence_numbers for o in outcomes] == [[seq(2), seq(3)], [seq(5)], [seq(6), seq(7)]]
    assert [o.shard_id for o in outcomes] == ["parent", "parent", "child"]
    assert lam.events[0]["Records"][0]["eventSourceARN"] == ARN
    assert lam.events[0]["Records"][0]["dynamodb"]["ApproximateCreationDateTime"] == T0 + 2
    summary = run.summary()
    assert (summary["batches"], summary["records"], summary["failures"]) == (3, 5, 1)
    assert summary["failedSequenceNumbers"] == [seq(3)] and summary["sentToDlq"] == 0
    assert sqs.sent == []  # the DLQ untouched without --to-dlq

    run = start_replay(pipeline, ReplayOptions(parse_position(seq(3)), parse_position(seq(3), "--to"), to_dlq=True))
    [outcome] = list(run.run())
    [(url, body)] = sqs.sent
    assert url == "https://queue/123456789012/dlq" and outcome.sent_to == QUEUE_ARN
    assert body["requestContext"]["functionArn"] == MAPPING["FunctionArn"]
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None}
    assert body["DDBStreamBatchInfo"] == {
        "shardId": "parent",
        "startSequenceNumber": seq(3),
        "endSequenceNumber": seq(3),
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:23Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:13:23Z",
        "batchSize": 1,
        "streamArn": ARN,
    }


def test_dry_run_invokes_nothing():
    streams = FakeStreams([shard("s", 1)], {"s": [record(n) for n in range(1, 4)]})
    lam = FakeLambda(fail_k3, MAPPING)
    run = start_replay(
        fake_pipeline(streams, lam, FakeSqs()), ReplayOptions(parse_position("TRIM_HORIZON"), dry_run=True)
    )
    assert [o.sequence_numbers for o in run.run()] == [[seq(1), seq(2)], [seq(3)]]
    assert lam.events == [] and run.summary()["details"][0]["changes"][0]["keys"] == {"id": "k1"}


def test_no_mapping_or_no_destination_is_one_clear_error():
    streams = FakeStreams([shard("s", 1)], {"s": [record(1)]})
    lam = FakeLambda(fail_k3, MAPPING)
    lam.list_event_source_mappings = lambda FunctionName: {"EventSourceMappings": []}
    with pytest.raises(NotFound, match="^function fn has no event source mapping on a DynamoDB stream"):
        start_replay(fake_pipeline(streams, lam, FakeSqs()), ReplayOptions(parse_position("TRIM_HORIZON")))
    lam = FakeLambda(fail_k3, {**MAPPING, "DestinationConfig": {}})
    with pytest.raises(InvalidInput, match="^--to-dlq: the mapping has no on-failure destination"):
        start_replay(fake_pipeline(streams, lam, FakeSqs()), ReplayOptions(parse_position("TRIM_HORIZON"), to_dlq=True))
