"""Pipelines set up as the recorded tests set theirs up: a table, a function that logs every event
it gets and answers what the recorded test's function answered, a mapping, a queue or topic."""

from __future__ import annotations

import json
import uuid

from esm_support import InThreadDaemon, wait_until

# The recorded tests' function: prints the event, then answers an expression (evaluated per call).
HANDLER = """
import json

def handler(event, context):
    print("EVENT " + json.dumps(event), flush=True)
    return {answer}
"""
# LocalStack's lambda_report_batch_item_failures_dynamodb.py: fails the records with should_fail true.
FAIL_FLAGGED = """[{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]
    if r["dynamodb"].get("NewImage", {}).get("should_fail", {}).get("BOOL", False)]"""


def table(daemon: InThreadDaemon, key: str, view: str) -> tuple[str, str]:
    """A new on-demand table keyed by ``key`` (S) with a stream of ``view``: (name, stream ARN)."""
    name = f"test-table-{uuid.uuid4().hex[:8]}"
    description = daemon.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )["TableDescription"]
    return name, description["LatestStreamArn"]


def function(daemon: InThreadDaemon, answer: str = "event") -> str:
    """A new Python function logging its events and answering ``answer`` (a Python expression)."""
    return daemon.function(HANDLER.format(answer=answer))


def events(daemon: InThreadDaemon, name: str) -> list[dict]:
    """Every event the function logged, oldest first."""
    logs = daemon.client("logs")
    try:
        found = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", interleaved=True)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [json.loads(e["message"][6:]) for e in found if e["message"].startswith("EVENT ")]


def wait_events(daemon: InThreadDaemon, name: str, count: int, mapping_uuid: str) -> list[dict]:
    """The function's events once it logged ``count`` and the mapping has nothing left to do."""

    def done() -> list[dict] | None:
        metrics = daemon.metrics(mapping_uuid)
        logged = events(daemon, name)
        idle = metrics["PendingRecords"] == 0 and not metrics["InFlight"]
        return logged if idle and len(logged) >= count else None

    return wait_until(done, 30, message=f"{count} event(s) for {name}")


def received(daemon: InThreadDaemon, url: str) -> dict:
    """The first ReceiveMessage answer holding messages (the recorded tests kept that answer whole)."""
    sqs = daemon.client("sqs")
    answer: dict = {}

    def got() -> bool:
        nonlocal answer
        answer = sqs.receive_message(QueueUrl=url)
        return bool(answer.get("Messages"))

    wait_until(got, 30, interval=0.05, message=f"a message on {url}")
    return answer
