"""`ddbstream replay` through the real CLI against a real daemon: records already in the stream run again.

The stack's mapping filters out the item HIDDEN, reports partial failures, sends a failed batch
straight to the DLQ (no retries), and the consumer fails items with poison=true. The consumer
logs one line per record it sees (with its sequenceNumber), so its log shows what each replay ran.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from support import make_project, run_cli, stack_client, stack_state, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e

HIDDEN_FILTER = '{"dynamodb": {"Keys": {"employeeid": {"S": [{"anything-but": ["HIDDEN"]}]}}}}'
SETTINGS = {
    "fail_attribute": "poison",
    "maximum_retry_attempts": 0,
    "bisect_batch_on_function_error": False,
    "filter_patterns": [HIDDEN_FILTER],
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("replay") / "project")
    (project / "infra" / "terraform.tfvars.json").write_text(json.dumps(SETTINGS))
    result = run_cli("up", cwd=project)
    assert result.returncode == 0, result.stderr
    yield project
    run_cli("down", cwd=project)


def put(project, key: str, **attributes) -> None:
    item = {"employeeid": {"S": key}, **{name: {"BOOL": value} for name, value in attributes.items()}}
    stack_client(project, "dynamodb").put_item(TableName="employees", Item=item)


def stream_records(project) -> dict[str, dict]:
    """The stream's last record of each key: its sequence number and creation time (epoch s)."""
    state = stack_state(project)["resources"]
    streams = stack_client(project, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=state["stream_arn"])["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=state["stream_arn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    found = {}
    for record in streams.get_records(ShardIterator=iterator)["Records"]:
        ddb = record["dynamodb"]
        found[ddb["Keys"]["employeeid"]["S"]] = {
            "seq": ddb["SequenceNumber"],
            "created": ddb["ApproximateCreationDateTime"].timestamp(),
        }
    return found


def seen(project) -> Counter:
    """How many times the consumer saw each sequence number (one log line a record, duplicates included)."""
    logs = stack_client(project, "logs")
    counts: Counter = Counter()
    group = stack_state(project)["resources"]["log_group"]
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        for event in page["events"]:
            message = event["message"].strip()
            if message.startswith("{") and '"sequenceNumber"' in message:
                line = json.loads(message)
                if line.get("level") != "ERROR":
                    counts[line["sequenceNumber"]] += 1
    return counts


def replay(project, *args: str):
    return run_cli("replay", *args, cwd=project)


def dlq_depth(project) -> int:
    url = stack_state(project)["resources"]["queue_url"]
    attributes = stack_client(project, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_replay_from_a_sequence_number_and_from_a_time_with_a_filter(project):
    for key in ("E1", "E2", "HIDDEN", "E3"):
        put(project, key)
    records = stream_records(project)  # a write is in the stream once it is answered
    # E4..E6 in a later second than E3: a replay from that second's start leaves E1..E3 out.
    next_second = int(records["E3"]["created"]) + 1
    wait_until(lambda: time.time() >= next_second, timeout=3, message="the next second")
    for key in ("E4", "E5", "E6"):
        put(project, key)
    records = stream_records(project)
    seq = {key: value["seq"] for key, value in records.items()}
    live = [seq[key] for key in ("E1", "E2", "E3", "E4", "E5", "E6")]
    wait_until(lambda: all(seen(project)[n] == 1 for n in live), message="the mapping delivering E1..E6")
    assert seen(project)[seq["HIDDEN"]] == 0  # the mapping's own filter

    result = replay(project, "--from", seq["E2"], "--to", seq["E6"], "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["batches"], summary["records"], summary["failures"], summary["sentToDlq"]) == (1, 5, 0, 0)
    assert summary["details"][0]["firstSequenceNumber"] == seq["E2"]  # HIDDEN left out: the mapping's filter
    assert summary["details"][0]["lastSequenceNumber"] == seq["E6"]

    since = datetime.fromtimestamp(next_second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    only_e5 = '{"dynamodb": {"Keys": {"employeeid": {"S": ["E5", "E1"]}}}}'
    result = replay(project, "--from", since, "--filter", only_e5)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"ok 1 record(s) {seq['E5']}: 1 record(s) processed",
        "replayed 1 record(s) in 1 batch(es) through employees_stream_consumer: 0 failed; "
        "the mapping's checkpoint did not move",
    ]

    dry = replay(project, "--from", "TRIM_HORIZON", "--to", seq["E2"], "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f'  {seq["E1"]}  INSERT  {{"employeeid": "E1"}}' in dry.stdout.splitlines()
    assert dry.stdout.splitlines()[-1].startswith("dry run: 2 record(s) in 1 batch(es) would run")

    expected = {seq["E1"]: 1, seq["E2"]: 2, seq["E3"]: 2, seq["E4"]: 2, seq["E5"]: 3, seq["E6"]: 2}
    wait_until(lambda: all(seen(project)[n] >= count for n, count in expected.items()), message="the replays' lines")
    # The mapping's checkpoint did not move: the next record is delivered, nothing before it again.
    put(project, "E7")
    e7 = stream_records(project)["E7"]["seq"]
    wait_until(lambda: seen(project)[e7] == 1, message="the mapping delivering E7")
    counts = seen(project)
    assert {n: counts[n] for n in expected} == expected
    assert counts[seq["HIDDEN"]] == 0


def test_failures_are_counted_and_reach_the_dlq_only_with_to_dlq(project):
    put(project, "P1", poison=True)
    poison = stream_records(project)["P1"]["seq"]
    wait_until(lambda: dlq_depth(project) == 1, message="the mapping's own on-failure record")

    result = replay(project, "--from", poison, "--to", poison)
    assert result.returncode == ExitCode.ERROR
    assert result.stdout.splitlines()[0] == f"failed 1 record(s) {poison}: 1 of 1 record(s) reported as failed"
    assert result.stderr == "error: 1 of 1 replayed record(s) failed\n"
    assert dlq_depth(project) == 1  # untouched

    result = replay(project, "--from", poison, "--to", poison, "--to-dlq", "--json")
    assert result.returncode == ExitCode.ERROR
    summary = json.loads(result.stdout)
    assert (summary["failures"], summary["failedSequenceNumbers"], summary["sentToDlq"]) == (1, [poison], 1)
    assert dlq_depth(project) == 2
    listed = run_cli("dlq", "list", "--json", cwd=project)
    messages = [json.loads(line) for line in listed.stdout.splitlines()]
    batches = [m["body"]["DDBStreamBatchInfo"] for m in messages]
    assert all(
        (b["startSequenceNumber"], b["endSequenceNumber"], b["batchSize"]) == (poison, poison, 1) for b in batches
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--from", "123"],
            ExitCode.INVALID_INPUT,
            "invalid --from '123': a stream sequence number has 21 to 40 digits",
        ),
        (["--from", "soon"], ExitCode.INVALID_INPUT, "invalid --from 'soon': use TRIM_HORIZON, a sequence number"),
        (["--from", "1h", "--to", "2h"], ExitCode.INVALID_INPUT, "--to 2h is before --from 1h"),
        (["--from", "1" * 21], ExitCode.NOT_FOUND, f"--from {'1' * 21} is older than every shard of the stream"),
        (["--from", "1h", "--filter", "{"], ExitCode.INVALID_INPUT, "--filter: "),
        (["--from", "1h", "--function", "other"], ExitCode.NOT_FOUND, "function other has no event source mapping"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(project, args, code, message):
    result = replay(project, *args)
    assert result.returncode == code
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {message}"), line
