"""`ddbstream load`: the write plan, and the real command against a real daemon."""

import json
from collections import Counter

import pytest
from support import run_cli, stack_client

from ddbstream.errors import ExitCode
from ddbstream.load import make_plan, percentile

SCHEMA = [("employeeid", "S")]


def test_plan_is_reproducible_and_every_write_changes_its_item():
    plan = make_plan(500, 40, SCHEMA, "r1", workers=3, seed=7)
    assert plan == make_plan(500, 40, SCHEMA, "r1", workers=3, seed=7)
    assert plan != make_plan(500, 40, SCHEMA, "r1", workers=3, seed=8)
    assert Counter(w.op for w in plan).keys() == {"put", "update", "delete"}
    exists: dict[str, bool] = {}
    workers: dict[str, int] = {}
    for write in plan:
        # A key's first write (and the first after a delete) is a put; deletes hit existing items only.
        if not exists.get(write.key_id):
            assert write.op == "put", write
        exists[write.key_id] = write.op != "delete"
        assert workers.setdefault(write.key_id, write.worker) == write.worker  # one writer per key
    assert len({w.key_id for w in plan}) == 40


def test_plan_keys_follow_the_schema():
    plan = make_plan(10, 3, [("UserId", "N"), ("ts", "S")], "r2")
    assert all(set(w.key) == {"UserId", "ts"} and "N" in w.key["UserId"] for w in plan)


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile(list(range(1, 101)), 50) == 50
    assert percentile(list(range(1, 101)), 99) == 99


@pytest.mark.e2e
def test_load_command_accounts_for_every_event(stack):
    project, info = stack
    result = run_cli(
        "load", "--count", "300", "--workers", "3", "--keys", "25", "--wait", "60", "--json", "--keep", cwd=project
    )  # --keep: the stream below holds the load's own records only
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["writes"] == 300 and summary["writeErrors"] == 0
    assert summary["streamRecords"] == 300
    assert summary["processed"] == 300 and summary["lost"] == 0 and summary["complete"]
    assert summary["dlqMessages"] == 0 and summary["orderViolations"] == 0 and summary["mismatches"] == 0
    assert summary["writesPerSecond"] > 0 and summary["eventsProcessedPerSecond"] > 0
    latency = summary["latencyMs"]
    assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"]

    # Cross-check against the stream and the log group read independently of ddbstream.load.
    clients = {name: stack_client(project, name) for name in ("dynamodbstreams", "logs")}
    streams = clients["dynamodbstreams"]
    arn = info["resources"]["stream_arn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    event_ids = set()
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            break
        event_ids |= {r["eventID"] for r in page["Records"]}
        iterator = page.get("NextShardIterator")
    assert len(event_ids) == 300
    logged = set()
    for page in (
        clients["logs"]
        .get_paginator("filter_log_events")
        .paginate(logGroupName=info["resources"]["log_group"], interleaved=True)
    ):
        for event in page["events"]:
            if event["message"].startswith("{"):
                logged.add(json.loads(event["message"]).get("eventID"))
    assert event_ids <= logged

    human = run_cli("load", "--count", "20", "--rate", "200", "--keys", "5", cwd=project)
    assert human.returncode == 0, human.stderr
    assert "processed       20" in human.stdout and "lost            0" in human.stdout


@pytest.mark.e2e
def test_load_refuses_bad_options_before_writing(stack):
    project, _ = stack
    for args, fragment in (
        (["--count", "0"], "--count must be at least 1"),
        (["--rate", "-1"], "--rate must be 0 (no limit) or more"),
        (["--workers", "0"], "--workers must be between 1 and 64"),
        (["--keys", "0"], "--keys must be at least 1"),
        (["--wait", "-5"], "--wait must be 0 or more seconds"),
    ):
        result = run_cli("load", *args, cwd=project)
        assert result.returncode == ExitCode.INVALID_INPUT, result.stderr
        assert result.stderr.strip() == f"error: {fragment}" and "Traceback" not in result.stderr
    assert run_cli("scan", "--json", cwd=project).stdout == ""


# ---------------------------------------------------------------- the accounting itself


class _Logs:
    """A stand-in CloudWatch Logs client serving fixed events (FilterLogEvents only)."""

    def __init__(self, events):
        self.events = events

    def filter_log_events(self, **kwargs):
        return {"events": [e for e in self.events if e["timestamp"] >= kwargs.get("startTime", 0)]}


def _invocation(events, stream, request, ts, lines, status=""):
    events.append(
        {
            "timestamp": ts,
            "message": f"START RequestId: {request} Version: $LATEST",
            "logStreamName": stream,
            "eventId": str(len(events)),
        }
    )
    for line in lines:
        events.append(
            {"timestamp": ts, "message": json.dumps(line), "logStreamName": stream, "eventId": str(len(events))}
        )
    events.append(
        {"timestamp": ts, "message": f"END RequestId: {request}", "logStreamName": stream, "eventId": str(len(events))}
    )
    events.append(
        {
            "timestamp": ts,
            "message": f"REPORT RequestId: {request}\tDuration: 1.00 ms{status}",
            "logStreamName": stream,
            "eventId": str(len(events)),
        }
    )


def _records(*specs):
    from ddbstream.load import StreamRecord

    return [StreamRecord(seq, f"e{seq}", "INSERT", key, write=int(seq)) for seq, key in specs]


def _account(events, records, dlq_batches=None):
    from types import SimpleNamespace

    from ddbstream.load import HandlerLog, account

    log = HandlerLog(_Logs(events), "/aws/lambda/f", 0)
    log.poll()
    dlq = SimpleNamespace(batches=dlq_batches or {}) if dlq_batches is not None else None
    return account(records, log, dlq, {int(r.sequence_number): 0.0 for r in records})


def _line(seq, **extra):
    return {"eventID": f"e{seq}", "sequenceNumber": seq, **extra}


def test_accounting_sees_processed_failed_lost_and_dlq_records():
    records = _records(("1", "a"), ("2", "b"), ("3", "c"), ("4", "d"), ("5", "e"))
    events = []
    _invocation(events, "s1", "r1", 1000, [_line("1"), _line("2")])  # clean
    _invocation(events, "s1", "r2", 1001, [_line("3")], "\tStatus: timeout")  # timed out
    _invocation(events, "s1", "r3", 1002, [_line("4"), _line("4", level="ERROR")])  # failed record
    a = _account(events, records, {"m1": ["4"]})
    assert a.processed_ids == {"1", "2"} and a.dlq_ids == {"4"}
    assert sorted(a.pending) == ["3", "5"] and a.lost == 2  # 3 only ever failed, 5 never arrived
    assert a.invocations == 3 and a.failed_invocations == 1 and a.latencies_ms == [1000.0, 1000.0]


def test_accounting_flags_duplicates_after_a_clean_invocation_but_not_retries():
    records = _records(("1", "a"), ("2", "b"), ("3", "c"))
    events = []
    _invocation(events, "s1", "r1", 1000, [_line("1"), _line("2"), _line("2", level="ERROR")])  # partial failure
    _invocation(events, "s1", "r2", 1001, [_line("2"), _line("3")])  # the retry: explained
    _invocation(events, "s2", "r3", 1002, [_line("3")])  # 3 again after the clean r2: unexplained
    a = _account(events, records)
    assert a.processed_ids == {"1", "2", "3"}
    assert a.unexplained == ["3"] and a.processed_again == 1 and a.redeliveries == 2


def test_accounting_flags_per_key_order_and_records_in_two_places():
    records = _records(("1", "k"), ("2", "k"), ("3", "j"))
    events = []
    _invocation(events, "s1", "r1", 1000, [_line("2"), _line("3")])
    _invocation(events, "s1", "r2", 1001, [_line("1")])  # key k's first record processed after its second
    a = _account(events, records, {"m1": ["3"], "m2": ["3"]})
    assert len(a.order_violations) == 1 and a.order_violations[0].startswith("2 processed before 1")
    assert a.both == ["3"] and a.dlq_twice == ["3"]


def test_accounting_ignores_open_invocations_and_unhandled_errors():
    records = _records(("1", "a"), ("2", "b"))
    events = []
    _invocation(events, "s1", "r1", 1000, [_line("1")])
    events.insert(
        len(events) - 2,
        {"timestamp": 1000, "message": "[ERROR] RuntimeError: boom", "logStreamName": "s1", "eventId": "x1"},
    )
    events.append(
        {"timestamp": 1001, "message": "START RequestId: r2 Version: $LATEST", "logStreamName": "s1", "eventId": "x2"}
    )
    events.append({"timestamp": 1001, "message": json.dumps(_line("2")), "logStreamName": "s1", "eventId": "x3"})
    a = _account(events, records)
    assert a.processed_ids == set() and sorted(a.pending) == ["1", "2"]
