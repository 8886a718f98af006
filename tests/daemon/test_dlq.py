"""dlq's core against the real emulator in a thread: real on-failure messages from the mapping engine,
records read back from the stream engine, replays through Lambda Invoke into a real worker."""

from __future__ import annotations

import json
import math
import time

import pytest
from esm_support import InThreadDaemon, PoisonPipeline, wait_until

from ddbstream.dlq import (
    STREAM_RETENTION_SECONDS,
    DeadLetterQueue,
    RecordsGone,
    current_items,
    hydrate,
    lambda_record,
    plain_record,
    replay,
)
from ddbstream.errors import AwsError, NotFound


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def pipeline(daemon):
    pipeline = PoisonPipeline(daemon)
    pipeline.daemon.put(pipeline.table, "good-1", name="Ann")
    wait_until(pipeline.events, 30, message="the first invocation")
    pipeline.daemon.put(pipeline.table, "bad-1", name="Bob", poison=1)
    pipeline.wait_for_messages(1)
    return pipeline


def test_peek_lists_the_failure_without_consuming_it(pipeline):
    before = time.time()
    first = pipeline.queue.peek()
    second = pipeline.queue.peek()
    assert [m.message_id for m in first] == [m.message_id for m in second] and len(first) == 1
    assert pipeline.queue.depth() == (1, 0)  # still there, visible
    row = first[0].summary(now=before)
    assert row["condition"] == "RetryAttemptsExhausted"
    assert row["attempts"] == 1 and row["batchSize"] == 1
    assert row["streamArn"] == pipeline.stream_arn and row["shardId"].startswith("shardId-")
    assert row["startSequenceNumber"] == row["endSequenceNumber"]
    assert row["recognised"] is True
    expires = first[0].first_arrival + STREAM_RETENTION_SECONDS
    assert row["secondsUntilExpiry"] == math.floor(expires - before)
    assert 24 * 3600 - 60 < row["secondsUntilExpiry"] <= 24 * 3600


def test_hydrate_reads_back_exactly_the_failed_records(pipeline):
    message = pipeline.queue.peek()[0]
    records = hydrate(pipeline.daemon.client("dynamodbstreams"), message.batch)
    assert [plain_record(r)["keys"] for r in records] == [{"k": "bad-1"}]
    plain = plain_record(records[0])
    assert plain["eventName"] == "INSERT" and plain["old"] is None
    assert plain["new"] == {"k": "bad-1", "name": "Bob", "poison": 1}
    assert plain["sequenceNumber"] == message.batch["startSequenceNumber"]
    event = lambda_record(records[0], message.batch["streamArn"])
    assert event["eventSourceARN"] == pipeline.stream_arn
    assert isinstance(event["dynamodb"]["ApproximateCreationDateTime"], (int, float))
    json.dumps(event)  # what Lambda would receive: plain JSON
    assert current_items(pipeline.daemon.client("dynamodb"), pipeline.stream_arn, records) == [
        {"k": "bad-1", "name": "Bob", "poison": 1}
    ]


def test_hydrate_a_range_spanning_several_records(pipeline, daemon):
    """Sequence numbers compare as integers; records outside the range are left out."""
    client = daemon.client("dynamodbstreams")
    message = pipeline.queue.peek()[0]
    shard = message.batch["shardId"]
    iterator = client.get_shard_iterator(
        StreamArn=pipeline.stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    numbers = [r["dynamodb"]["SequenceNumber"] for r in client.get_records(ShardIterator=iterator)["Records"]]
    assert len(numbers) == 2
    whole = hydrate(client, {**message.batch, "startSequenceNumber": numbers[0], "endSequenceNumber": numbers[1]})
    assert [r["dynamodb"]["SequenceNumber"] for r in whole] == numbers
    only_first = hydrate(
        client, {**message.batch, "startSequenceNumber": numbers[0], "endSequenceNumber": str(int(numbers[1]) - 1)}
    )
    assert [r["dynamodb"]["SequenceNumber"] for r in only_first] == numbers[:1]


def test_replay_keeps_the_message_while_the_handler_still_fails(pipeline):
    calls = len(pipeline.events())
    outcomes = list(
        replay(
            pipeline.queue,
            pipeline.daemon.client("dynamodbstreams"),
            pipeline.daemon.client("lambda"),
            pipeline.function,
            None,
        )
    )
    assert len(outcomes) == 1 and not outcomes[0].ok and not outcomes[0].deleted
    assert outcomes[0].detail == "1 of 1 record(s) failed again"
    assert len(outcomes[0].failed_sequence_numbers) == 1
    wait_until(lambda: len(pipeline.events()) == calls + 1, 10, message="the replayed invocation in the log")
    assert pipeline.queue.depth() == (1, 0)  # released at once, not after the lease


def test_replay_dry_run_invokes_nothing(pipeline):
    calls = len(pipeline.events())
    message_id = pipeline.queue.peek()[0].message_id
    outcomes = list(
        replay(
            pipeline.queue,
            pipeline.daemon.client("dynamodbstreams"),
            pipeline.daemon.client("lambda"),
            pipeline.function,
            {message_id},
            dry_run=True,
        )
    )
    assert [(o.ok, o.records, o.deleted) for o in outcomes] == [(True, 1, False)]
    assert outcomes[0].detail == f"would invoke {pipeline.function} with 1 record(s)"
    assert len(pipeline.events()) == calls and pipeline.queue.depth() == (1, 0)


def test_unknown_message_is_not_found(pipeline):
    with pytest.raises(NotFound, match="no message nope in the dead-letter queue"):
        pipeline.queue.find("nope")
    with pytest.raises(NotFound, match="no message nope in the dead-letter queue"):
        list(
            replay(
                pipeline.queue,
                pipeline.daemon.client("dynamodbstreams"),
                pipeline.daemon.client("lambda"),
                pipeline.function,
                {"nope"},
            )
        )
    assert pipeline.queue.depth() == (1, 0)


def test_replay_after_the_fix_delivers_the_original_records_and_deletes(pipeline):
    message = pipeline.queue.peek()[0]
    expected = [
        lambda_record(r, pipeline.stream_arn) for r in hydrate(pipeline.daemon.client("dynamodbstreams"), message.batch)
    ]
    pipeline.fix()
    outcomes = list(
        replay(
            pipeline.queue,
            pipeline.daemon.client("dynamodbstreams"),
            pipeline.daemon.client("lambda"),
            pipeline.function,
            {message.message_id},
        )
    )
    assert [(o.message_id, o.ok, o.deleted, o.detail) for o in outcomes] == [
        (message.message_id, True, True, "1 record(s) processed")
    ]
    wait_until(lambda: pipeline.events()[-1] == {"Records": expected}, 10, message="the replayed event in the log")
    assert pipeline.queue.depth() == (0, 0)
    assert pipeline.queue.peek() == []


def test_peek_reaches_past_ten_messages_and_releases_them(daemon):
    url, _ = daemon.queue()
    sqs = daemon.client("sqs")
    for n in range(23):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    queue = DeadLetterQueue(sqs, url, local=True)
    messages = queue.peek()
    assert len(messages) == 24 and len({m.message_id for m in messages}) == 24
    assert queue.depth() == (24, 0)
    odd = next(m for m in messages if m.body == "not json at all")
    assert odd.summary()["recognised"] is False and odd.batch is None
    outcomes = list(
        replay(queue, daemon.client("dynamodbstreams"), daemon.client("lambda"), "unused", {odd.message_id})
    )
    assert [(o.ok, o.detail) for o in outcomes] == [(False, "not a stream on-failure message: kept")]
    assert queue.purge() == 24
    assert queue.depth() == (0, 0)
    with pytest.raises(AwsError, match="^SQS allows one purge a minute and this queue was purged less than 60 s ago"):
        queue.purge()


def test_records_trimmed_from_the_stream_are_reported(daemon, monkeypatch):
    pipeline = PoisonPipeline(daemon)
    pipeline.daemon.put(pipeline.table, "bad-2", poison=1)
    pipeline.wait_for_messages(1)
    message = pipeline.queue.peek()[0]
    monkeypatch.setenv("DDBSTREAM_STREAM_RETENTION_SECONDS", "0.001")
    with pytest.raises(RecordsGone, match=r"are no longer in the stream: DynamoDB keeps stream records for 24 hours"):
        hydrate(daemon.client("dynamodbstreams"), message.batch)
    outcomes = list(
        replay(pipeline.queue, daemon.client("dynamodbstreams"), daemon.client("lambda"), pipeline.function, None)
    )
    assert not outcomes[0].ok and outcomes[0].detail.endswith("24 hours: kept")
    assert pipeline.queue.depth() == (1, 0)


def test_a_missing_queue_is_not_found(daemon):
    queue = DeadLetterQueue(daemon.client("sqs"), f"{daemon.endpoint}/123456789012/no-such-queue", local=True)
    with pytest.raises(NotFound, match="does not exist"):
        queue.peek()


def test_time_left_is_never_overstated():
    from ddbstream.dlq import STREAM_RETENTION_SECONDS, FailureMessage

    body = {"DDBStreamBatchInfo": {"approximateArrivalOfFirstRecord": "2026-11-22T02:13:09Z"}}
    message = FailureMessage(message_id="m", body=body)
    arrival = message.first_arrival
    assert message.summary(now=arrival + 0.4)["secondsUntilExpiry"] == STREAM_RETENTION_SECONDS - 1
    assert message.summary(now=arrival + STREAM_RETENTION_SECONDS - 0.5)["secondsUntilExpiry"] == 0
    assert message.summary(now=arrival + STREAM_RETENTION_SECONDS + 1.5)["secondsUntilExpiry"] == -2
