"""The stream engine end to end: a real daemon, the real Lambda runtime and the consumer in lambda/."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from esm_support import wait_until

from ddbstream.clients import local_client
from ddbstream.daemon import daemon_get, ping, start_daemon, stop_daemon
from ddbstream.provision.function import function_code, package

REGION = "us-east-1"
LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    started = start_daemon(tmp_path_factory.mktemp("esm-daemon"), REGION)
    yield started
    stop_daemon(started)


@pytest.fixture(scope="module")
def aws(daemon):
    def client(service: str):
        return local_client(service, daemon.endpoint, REGION, daemon.secret)

    return client


@pytest.fixture(scope="module")
def role(aws):
    return aws("iam").create_role(RoleName="esm-e2e", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


# The consumer of each language (they print the same lines): runtime, handler, directory.
CONSUMERS = {
    "python": ("python3.12", "handler.lambda_handler", LAMBDA_DIR),
    "node": ("nodejs20.x", "index.handler", LAMBDA_DIR / "nodejs"),
}


@pytest.fixture(scope="module", params=sorted(CONSUMERS))
def code(request):
    """Each language's consumer packaged as `up` packages it: (runtime, handler, zip)."""
    runtime, handler, directory = CONSUMERS[request.param]
    return runtime, handler, function_code(directory, runtime)


def make_table(aws) -> tuple[str, str]:
    name = f"employees-{uuid.uuid4().hex[:8]}"
    table = aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "employeeid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "employeeid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return name, table["LatestStreamArn"]


def make_function(aws, role, code, table: str) -> str:
    name = f"consumer-{uuid.uuid4().hex[:8]}"
    runtime, handler, package = code
    aws("lambda").create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler=handler,
        Code={"ZipFile": package},
        Timeout=10,
        MemorySize=128,
        Environment={"Variables": {"TABLE_NAME": table, "FAIL_ATTRIBUTE": "poison"}},
    )
    return name


def put(aws, table: str, key: str, **attributes) -> None:
    item = {
        "employeeid": {"S": key},
        **{k: {"BOOL": v} if isinstance(v, bool) else {"S": str(v)} for k, v in attributes.items()},
    }
    aws("dynamodb").put_item(TableName=table, Item=item)


def log_lines(aws, function: str) -> list[dict]:
    """The handler's JSON lines in the function's log group (START/END/REPORT lines left out)."""
    logs = aws("logs")
    group = f"/aws/lambda/{function}"
    lines = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            for event in page["events"]:
                message = event["message"].strip()
                if message.startswith("{"):
                    lines.append(json.loads(message))
    except logs.exceptions.ResourceNotFoundException:
        return []
    return lines


def processed(lines: list[dict]) -> list[str]:
    """Keys whose change the handler processed (its per-record line, not a duplicate or failure line)."""
    return [line["keys"]["employeeid"] for line in lines if "new" in line and "keys" in line]


def settled(aws, daemon, mapping_uuid: str) -> bool:
    metrics = daemon_get(daemon.endpoint, daemon.secret, f"/_ddbstream/mappings/{mapping_uuid}/metrics")
    return (
        metrics["PendingRecords"] == 0
        and not metrics["InFlight"]
        and not any(lane["Retrying"] for lane in metrics["Lanes"])
    )


def test_a_put_reaches_the_handler_and_its_log_line(aws, role, code):
    table, stream = make_table(aws)
    function = make_function(aws, role, code, table)
    mapping = aws("lambda").create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=stream,
        StartingPosition="LATEST",
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    put(aws, table, "E101", name="Alice")
    lines = wait_until(
        lambda: [line for line in log_lines(aws, function) if "new" in line],
        timeout=30,
        message="the handler's log line",
    )
    (line,) = lines
    assert line["eventName"] == "INSERT"
    assert line["keys"] == {"employeeid": "E101"}
    assert line["new"] == {"employeeid": "E101", "name": "Alice"}
    assert line["old"] is None
    assert line["sequenceNumber"].isdigit() and len(line["sequenceNumber"]) >= 21
    events = aws("logs").filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern='"E101"')["events"]
    assert any("E101" in e["message"] for e in events)
    got = aws("lambda").get_event_source_mapping(UUID=mapping["UUID"])
    assert got["State"] == "Enabled" and got["LastProcessingResult"] == "OK"


def test_a_poison_record_ends_in_the_dlq_alone(aws, role, code, daemon):
    table, stream = make_table(aws)
    function = make_function(aws, role, code, table)
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam = aws("lambda")
    mapping = lam.create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=stream,
        StartingPosition="TRIM_HORIZON",
        Enabled=False,
        BatchSize=10,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    mates = ["E1", "E2", "E4", "E5"]
    for key in ("E1", "E2"):
        put(aws, table, key)
    put(aws, table, "E3", poison=True)
    for key in ("E4", "E5"):
        put(aws, table, key)
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)

    messages = []

    def dlq_message():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    wait_until(dlq_message, timeout=60, message="the poison record in the DLQ")
    wait_until(lambda: settled(aws, daemon, mapping["UUID"]), timeout=30, message="the mapping to settle")
    assert not dlq_message()[1:]  # exactly one message
    (message,) = messages
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == stream
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    lines = log_lines(aws, function)
    poison_seq = {line["sequenceNumber"] for line in lines if line.get("keys", {}).get("employeeid") == "E3"}
    assert poison_seq == {info["startSequenceNumber"]}
    done = processed(lines)
    assert sorted(k for k in done if k != "E3") == mates  # each batch-mate processed exactly once


def test_filter_criteria_let_only_matching_records_reach_the_handler(aws, role, code, daemon):
    table, stream = make_table(aws)
    function = make_function(aws, role, code, table)
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["active"]}}}}
    mapping = aws("lambda").create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=stream,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )
    put(aws, table, "E1", status="inactive")
    put(aws, table, "E2", status="active")
    put(aws, table, "E3")  # no status at all
    put(aws, table, "E1", status="active")  # a MODIFY: not an INSERT
    put(aws, table, "E4", status="pending")
    put(aws, table, "E5", status="active")  # last in the shard: once it is handled, every record went by

    wait_until(lambda: "E5" in processed(log_lines(aws, function)), timeout=30, message="E5 at the handler")

    def skipped() -> int:
        uuid_ = mapping["UUID"]
        return daemon_get(daemon.endpoint, daemon.secret, f"/_ddbstream/mappings/{uuid_}/metrics")["RecordsSkipped"]

    wait_until(lambda: skipped() == 4 and settled(aws, daemon, mapping["UUID"]), timeout=30, message="4 skipped")
    lines = [line for line in log_lines(aws, function) if "new" in line and "keys" in line]
    assert sorted(processed(lines)) == ["E2", "E5"]
    assert {(line["eventName"], line["new"]["status"]) for line in lines} == {("INSERT", "active")}
    assert aws("lambda").get_event_source_mapping(UUID=mapping["UUID"])["FilterCriteria"] == {
        "Filters": [{"Pattern": json.dumps(pattern)}]
    }


def test_two_mappings_each_see_every_record(aws, role, code):
    table, stream = make_table(aws)
    first, second = make_function(aws, role, code, table), make_function(aws, role, code, table)
    for function in (first, second):
        aws("lambda").create_event_source_mapping(
            FunctionName=function, EventSourceArn=stream, StartingPosition="LATEST"
        )
    keys = [f"E{n}" for n in range(10)]
    for key in keys:
        put(aws, table, key)
    for function in (first, second):
        wait_until(
            lambda function=function: sorted(processed(log_lines(aws, function))) == sorted(keys),
            timeout=30,
            message=f"every record at {function}",
        )


def test_the_daemon_stops_gracefully_with_mappings(tmp_path, aws):
    started = start_daemon(tmp_path / "second", REGION)
    endpoint, secret = started.endpoint, started.secret
    try:
        client = local_client("dynamodb", endpoint, REGION, secret)
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )
        role = local_client("iam", endpoint, REGION, secret).create_role(RoleName="r", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        lam = local_client("lambda", endpoint, REGION, secret)
        lam.create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": package(LAMBDA_DIR)},
        )
        stream = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        lam.create_event_source_mapping(FunctionName="f", EventSourceArn=stream, StartingPosition="LATEST")
        client.put_item(TableName="t", Item={"k": {"S": "x"}})
    finally:
        assert stop_daemon(started, timeout=30)
    assert ping(endpoint, secret) is None
    log = (tmp_path / "second" / "daemon.log").read_text()
    assert "Traceback" not in log
    assert "stopped" in log  # a SIGTERM stop, not the SIGKILL stop_daemon falls back to
