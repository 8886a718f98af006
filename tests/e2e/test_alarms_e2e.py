"""Alarms come alive locally: a broken consumer fails on a poisoned record, which drives the Errors
and DLQ-depth alarms to ALARM (the topic's subscribed queue receives CloudWatch's notifications);
the fix and a replay bring them back to OK. DDBSTREAM_CLOCK_SCALE=0.02 makes the alarms' 300 s
period 6 s.

The stock consumer reports a failing record in batchItemFailures and so never counts in Errors
(as on AWS): the test breaks the function so that the invocation itself fails.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from support import cli_env, make_project, run_cli, stack_client, stack_state, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e

ALARMED = ("enable_alarms=true", "enable_notifications=true")


@pytest.fixture(scope="module")
def env():
    return cli_env(DDBSTREAM_CLOCK_SCALE="0.02")


BROKEN = """

def lambda_handler(event, context):  # broken: the whole invocation fails on a poisoned record
    if any("poison" in (r["dynamodb"].get("NewImage") or {}) for r in event["Records"]):
        raise RuntimeError("poisoned record")
    return handle(event, on_change=process_change, settings=Settings.from_env(), ledger=LEDGER)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, env):
    project = make_project(tmp_path_factory.mktemp("alarms") / "project")
    handler = project / "lambda" / "handler.py"
    fixed = handler.read_text()
    handler.write_text(fixed + BROKEN)
    up = run_cli("up", *_vars(*ALARMED), cwd=project, env=env)
    assert up.returncode == 0, up.stderr
    handler.write_text(fixed)  # deployed broken; the next `up` deploys the fix
    yield project
    run_cli("down", cwd=project, env=env)


def _vars(*pairs: str) -> list[str]:
    return [word for pair in pairs for word in ("--var", pair)]


def ok(project, env, *args: str) -> subprocess.CompletedProcess:
    result = run_cli(*args, cwd=project, env=env)
    assert result.returncode == 0, (args, result.returncode, result.stderr)
    return result


def alarm_states(project, env) -> dict[str, str]:
    report = json.loads(ok(project, env, "status", "--json").stdout)
    return {alarm["name"]: alarm["state"] for alarm in report["alarms"]}


def notifications(sqs, url: str, seen: list[dict]) -> list[dict]:
    """Every CloudWatch notification the subscribed queue has received so far."""
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        seen.append(json.loads(json.loads(message["Body"])["Message"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def ok_after_alarm(seen: list[dict], name: str) -> bool:
    """Whether the alarm ``name`` said OK after it said ALARM (it may say OK once before, at its start)."""
    states = [n["NewStateValue"] for n in seen if n["AlarmName"] == name]
    return "ALARM" in states and "OK" in states[states.index("ALARM") :]


def test_poisoned_record_fires_the_alarms_and_the_fix_clears_them(project, env):
    resources = stack_state(project)["resources"]
    errors_alarm, dlq_alarm = resources["alarm_names"]["errors"], resources["alarm_names"]["dlq_messages"]
    sqs, sns = stack_client(project, "sqs"), stack_client(project, "sns")
    url = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=resources["topic_arn"], Protocol="sqs", Endpoint=arn)
    assert set(alarm_states(project, env).values()) <= {"INSUFFICIENT_DATA", "OK"}

    ok(project, env, "put", "--item", '{"employeeid": "E666", "poison": true}')
    seen: list[dict] = []
    wait_until(
        lambda: (
            {(n["AlarmName"], n["NewStateValue"]) for n in notifications(sqs, url, seen)}
            >= {(errors_alarm, "ALARM"), (dlq_alarm, "ALARM")}
        ),
        90,  # the record's retries, then one (scaled) period: generous for a loaded machine
        0.2,
        "the ALARM notifications of the Errors and DLQ alarms in the subscribed queue",
    )
    # The alarm may have gone INSUFFICIENT_DATA -> OK (and said so) before the poisoned batch.
    fired = next(n for n in seen if n["AlarmName"] == errors_alarm and n["NewStateValue"] == "ALARM")
    assert fired["Trigger"]["MetricName"] == "Errors" and fired["Trigger"]["Statistic"] == "SUM"
    assert fired["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [")
    assert fired["NewStateReason"].endswith("(minimum 1 datapoint for OK -> ALARM transition).")
    assert alarm_states(project, env)[dlq_alarm] == "ALARM"  # while the message waits in the queue
    sick = run_cli("status", "--check", cwd=project, env=env)
    assert sick.returncode == int(ExitCode.UNHEALTHY)
    assert f"alarm {dlq_alarm} is in ALARM" in sick.stderr
    shown = ok(project, env, "status").stdout
    assert "Threshold Crossed: " in shown and "metrics (last 15 min)" in shown
    metrics = json.loads(ok(project, env, "metrics", "--since", "15m").stdout)  # piped: JSON
    totals = {series["key"]: series["total"] for series in metrics["metrics"]}
    assert totals["errors"] >= 1 and totals["invocations"] >= totals["errors"] and totals["dlqDepth"] == 1

    ok(project, env, "up", *_vars(*ALARMED))  # the fixed handler; the alarms keep their state
    ok(project, env, "dlq", "replay", "--all")
    wait_until(
        lambda: all(ok_after_alarm(notifications(sqs, url, seen), name) for name in (errors_alarm, dlq_alarm)),
        60,
        0.2,
        "the OK notifications that follow the ALARM ones",
    )
    history = [(n["AlarmName"], n["NewStateValue"], n["NewStateReason"]) for n in seen]
    assert {errors_alarm: "OK", dlq_alarm: "OK"}.items() <= alarm_states(project, env).items(), history
    assert run_cli("status", "--check", cwd=project, env=env).returncode == 0


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("soon", "error: invalid --since 'soon': use a duration such as 10m, 2h, 1d or an ISO 8601 time"),
        ("2999-01-01T00:00:00Z", "error: invalid --since '2999-01-01T00:00:00Z': it must be in the past"),
    ],
)
def test_metrics_refuses_a_bad_since(project, env, since, message):
    result = run_cli("metrics", "--since", since, cwd=project, env=env)
    assert result.returncode == int(ExitCode.INVALID_INPUT)
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
