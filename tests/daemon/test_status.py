"""status against the real emulator in a thread, and the tail / dlq / status commands through main()."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC

import pytest
from esm_support import IN_THREAD_TOKEN, InThreadDaemon, PoisonPipeline, wait_until

from ddbstream.errors import ExitCode
from ddbstream.pipeline import Pipeline as Deployed
from ddbstream.state import State, write_state
from ddbstream.status import collect, problems


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def pipeline(daemon):
    pipeline = PoisonPipeline(daemon)
    daemon.put(pipeline.table, "good-1", name="Ann")
    wait_until(pipeline.events, 30, message="the first invocation")
    return pipeline


def state_of(pipeline: PoisonPipeline) -> State:
    return State(
        target="local",
        region="us-east-1",
        endpoint=pipeline.daemon.endpoint,
        pid=os.getpid(),
        secret="testing",  # the in-thread daemon's secret (tests/esm_support.py)
        token=IN_THREAD_TOKEN,
        started_at=time.time() - 90,
        resources={
            "table_name": pipeline.table,
            "stream_arn": pipeline.stream_arn,
            "function_name": pipeline.function,
            "log_group": f"/aws/lambda/{pipeline.function}",
            "queue_url": pipeline.queue_url,
            "mapping_uuid": pipeline.mapping["UUID"],
        },
    )


@pytest.fixture
def cli(pipeline, tmp_path, monkeypatch, capsys):
    """Run `ddbstream ARGS` through its real entry point; returns (exit code, stdout, stderr)."""
    from ddbstream.cli import main

    write_state(tmp_path, state_of(pipeline))
    monkeypatch.setenv("DDBSTREAM_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args: str, stdin: str | None = None):
        monkeypatch.setattr(sys, "argv", ["ddbstream", *args])
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main()
        out = capsys.readouterr()
        return exit_info.value.code, out.out, out.err

    return run


def test_a_healthy_pipeline(pipeline):
    report = collect(Deployed.from_state(state_of(pipeline)), pipeline.daemon.client)
    assert report["problems"] == []
    table = report["table"]
    assert (table["name"], table["status"], table["streamEnabled"], table["streamViewType"]) == (
        pipeline.table,
        "ACTIVE",
        True,
        "NEW_AND_OLD_IMAGES",
    )
    assert table["keySchema"] == [{"name": "k", "role": "HASH", "type": "S"}]
    assert table["streamArn"] == pipeline.stream_arn and table["ttl"]["status"] == "DISABLED"
    [mapping] = report["mappings"]
    assert mapping["uuid"] == pipeline.mapping["UUID"] and mapping["state"] == "Enabled"
    assert mapping["batchSize"] == 10 and mapping["maximumRetryAttempts"] == 0
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["onFailureDestination"].endswith(pipeline.queue_url.rsplit("/", 1)[1])
    assert isinstance(mapping["iteratorAgeMs"], int) and mapping["pendingRecords"] == 0
    assert report["function"]["runtime"] == "python3.12" and report["function"]["handler"] == "h.handler"
    assert report["dlq"] == {"url": pipeline.queue_url, "visible": 0, "inFlight": 0}
    assert report["alarms"] == []
    daemon = report["daemon"]
    assert daemon["healthy"] and daemon["pid"] == os.getpid() and daemon["endpoint"] == pipeline.daemon.endpoint


def test_check_passes_and_json_is_the_report(cli):
    code, out, err = cli("status", "--check")
    assert code == 0 and err.strip() == "healthy"
    assert "healthy" in out and "dead-letter queue" in out
    code, out, _ = cli("status", "--json")
    assert code == 0 and json.loads(out)["problems"] == []


def test_problems_are_each_named(pipeline, cli):
    cloudwatch = pipeline.daemon.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=f"{pipeline.function}-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Dimensions=[{"Name": "FunctionName", "Value": pipeline.function}],
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=f"{pipeline.function}-errors", StateValue="ALARM", StateReason="test")
    pipeline.daemon.put(pipeline.table, "bad-1", poison=1)
    pipeline.wait_for_messages(1)
    lambda_client = pipeline.daemon.client("lambda")
    lambda_client.update_event_source_mapping(UUID=pipeline.mapping["UUID"], Enabled=False)
    wait_until(
        lambda: lambda_client.get_event_source_mapping(UUID=pipeline.mapping["UUID"])["State"] == "Disabled",
        10,
        message="the mapping to be disabled",
    )
    try:
        report = collect(Deployed.from_state(state_of(pipeline)), pipeline.daemon.client)
        found = report["problems"]
        assert f"mapping {pipeline.mapping['UUID']} is Disabled, not Enabled" in found
        assert "the dead-letter queue holds 1 message(s): see 'ddbstream dlq list'" in found
        assert f"alarm {pipeline.function}-errors is in ALARM" in found
        [changed] = [alarm.pop("changed") for alarm in report["alarms"]]  # when SetAlarmState moved it
        assert changed.endswith("Z")
        assert report["alarms"] == [
            {"name": f"{pipeline.function}-errors", "state": "ALARM", "reason": "test", "metric": "AWS/Lambda/Errors"}
        ]
        code, out, err = cli("status", "--check")
        assert code == int(ExitCode.UNHEALTHY)
        [line] = err.strip().splitlines()
        assert line.startswith("error: unhealthy: ") and all(p in line for p in found)
        assert "Traceback" not in err
    finally:
        lambda_client.update_event_source_mapping(UUID=pipeline.mapping["UUID"], Enabled=True)
        cloudwatch.delete_alarms(AlarmNames=[f"{pipeline.function}-errors"])


def test_processing_problems_and_unreadable_sections():
    stale = {"lastProcessingResult": "PROBLEM: Function call failed"}  # shown, never judged: it outlives a fix
    report = {
        "table": {"error": "ResourceNotFoundException: Requested resource not found"},
        "mappings": [
            {"uuid": "u1", "state": "Enabled", **stale, "iteratorAgeMs": 90_500, "pendingRecords": 3},
            {"uuid": "u2", "state": "Enabled", **stale, "iteratorAgeMs": 90_500, "pendingRecords": 0},
        ],
        "function": {"name": "f", "state": "Failed"},
        "recentErrors": {"windowMinutes": 5, "invocations": 4, "failed": 3, "failingSinceLastSuccess": 2},
        "dlq": None,
        "alarms": [],
        "daemon": None,
    }
    assert problems(report) == [
        "cannot read the table: ResourceNotFoundException: Requested resource not found",
        "mapping u1 is 90 s behind its stream (iterator age over 60 s)",
        "function f is Failed",
        "the consumer's last 2 invocation(s) failed, none succeeded since (last 5 min): "
        "see 'ddbstream tail --since 5m'",
    ]


# ---------------------------------------------------------------- the dlq and tail commands


def test_dlq_commands(pipeline, cli):
    before = pipeline.queue.depth()[0]  # an earlier test's message may still be there
    pipeline.daemon.put(pipeline.table, "bad-2", name="Cy", poison=1)
    wait_until(lambda: pipeline.queue.depth()[0] >= before + 1, 15, message="bad-2's DLQ message")
    code, out, err = cli("dlq", "list", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(r["condition"] == "RetryAttemptsExhausted" for r in rows)
    ids = [r["messageId"] for r in rows]

    code, out, err = cli("dlq", "show", ids[-1], "--records", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["message"]["messageId"] == ids[-1]
    keys = [r["keys"]["k"] for r in shown["records"]]
    assert keys and keys[0].startswith("bad-")
    assert all(r["new"]["poison"] == 1 and r["current"] == r["new"] for r in shown["records"])

    code, _, err = cli("dlq", "show", "no-such-id")
    assert code == int(ExitCode.NOT_FOUND) and err.strip() == "error: no message no-such-id in the dead-letter queue"
    code, _, err = cli("dlq", "replay")
    assert code == int(ExitCode.INVALID_INPUT) and err.strip() == "error: give one MESSAGE_ID or --all"

    code, out, err = cli("dlq", "replay", "--all", "--dry-run")
    assert code == 0, err
    assert all(line.startswith("ok ") and "would invoke" in line for line in out.strip().splitlines())
    code, out, err = cli("dlq", "replay", ids[-1])
    assert code == int(ExitCode.ERROR) and out.startswith(f"failed {ids[-1]}: 1 of 1 record(s) failed again")
    assert out.rstrip().endswith("kept in the queue")
    assert err.strip() == "error: 1 of 1 message(s) could not be replayed"

    code, _, err = cli("dlq", "purge", stdin="n\n")
    assert code == int(ExitCode.CANCELLED) and err.strip().endswith("error: purge cancelled: nothing was deleted")
    assert pipeline.queue.depth()[0] == len(ids)
    code, _, err = cli("dlq", "purge", "--yes")
    assert code == 0 and err.strip() == f"purged {len(ids)} message(s) from the dead-letter queue"
    assert pipeline.queue.depth() == (0, 0)
    code, out, err = cli("dlq", "list")
    assert code == 0 and out == "" and err.strip() == "the dead-letter queue is empty"


def test_tail_command_formats_and_errors(pipeline, cli):
    code, out, err = cli("tail", "--since", "1h", "--format", "raw")
    assert code == 0, err
    assert any(line.startswith("START RequestId: ") for line in out.splitlines())
    assert any(line.startswith("EVENT ") for line in out.splitlines())
    code, out, _ = cli("tail", "--since", "1h", "--format", "json", "--grep", "^EVENT")
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all(line["message"].startswith("EVENT ") and line["requestId"] for line in lines)
    request = lines[0]["requestId"]
    code, out, _ = cli("tail", "--since", "1h", "--format", "short", "--request-id", request)
    assert code == 0 and f"START RequestId: {request}" in out and f"REPORT RequestId: {request}" in out
    assert len([line for line in out.splitlines() if line.split(" ", 1)[1].startswith("START")]) == 1
    code, out, _ = cli("tail", "--since", "1h")
    assert code == 0 and " REPORT " in out and "END RequestId" not in out

    for args, fragment in [
        (("--grep", "(bad"), "error: invalid --grep regular expression '(bad'"),
        (("--since", "soon"), "error: invalid --since 'soon'"),
        (("--format", "xml"), "error: unknown --format 'xml'"),
        (("--follow", "--until", "now"), "error: --until cannot be combined with --follow"),
    ]:
        code, _, err = cli("tail", *args)
        assert code == int(ExitCode.INVALID_INPUT) and err.startswith(fragment) and len(err.strip().splitlines()) == 1
    code, out, err = cli("tail", "--since", "1h", "--grep", "no line has this")
    assert code == 0 and out == ""
    assert err.strip() == f"no log events in /aws/lambda/{pipeline.function} in that time range match the filters"
    code, _, err = cli("tail", "nobody")
    assert code == int(ExitCode.NOT_FOUND)
    assert err.strip() == "error: log group /aws/lambda/nobody does not exist (has the function run yet?)"


def test_dlq_list_on_a_terminal(pipeline, cli, monkeypatch):
    from ddbstream.cli.output import console

    pipeline.daemon.put(pipeline.table, "bad-3", poison=1)
    wait_until(lambda: pipeline.queue.depth()[0] >= 1, 15, message="a DLQ message")
    [message] = pipeline.queue.peek()
    monkeypatch.setattr("ddbstream.cli.output.stdout_is_terminal", lambda: True)
    monkeypatch.setattr(console(), "width", 200)
    code, out, _ = cli("dlq", "list")
    assert code == 0
    header = next(line for line in out.splitlines() if "message id" in line)
    assert all(
        column in header
        for column in ("failed at", "condition", "attempts", "shard", "sequence range", "batch", "leaves stream in")
    )
    row = next(line for line in out.splitlines() if message.message_id in line)
    assert "RetryAttemptsExhausted" in row and message.batch["shardId"] in row and "23h 59m" in row
    monkeypatch.setattr(console(), "width", 80)
    code, out, _ = cli("dlq", "list")
    first, second = out.splitlines()[:2]
    assert first.startswith(f"{message.message_id}  failed ")
    assert second.startswith("  RetryAttemptsExhausted after 1 attempt(s) · shard shardId-")
    assert second.endswith("leaves the stream in 23h 59m")


def test_iterator_age_on_aws_comes_from_cloudwatch(aws_credentials):
    """On AWS the mapping's iterator age is the function's IteratorAge metric (newest Maximum)."""
    from datetime import datetime, timedelta

    import boto3
    from moto import mock_aws

    from ddbstream.status import iterator_age_ms

    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        assert iterator_age_ms(cloudwatch, "consumer") is None
        now = datetime.now(UTC)
        for minutes_ago, value in ((3, 9000.0), (3, 100.0), (1, 250.0)):
            cloudwatch.put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[
                    {
                        "MetricName": "IteratorAge",
                        "Dimensions": [{"Name": "FunctionName", "Value": "consumer"}],
                        "Timestamp": now - timedelta(minutes=minutes_ago),
                        "Value": value,
                        "Unit": "Milliseconds",
                    }
                ],
            )
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "IteratorAge",
                    "Dimensions": [{"Name": "FunctionName", "Value": "other"}],
                    "Timestamp": now,
                    "Value": 99999.0,
                }
            ],
        )
        assert iterator_age_ms(cloudwatch, "consumer", now=now) == 250.0
