"""The three seed layouts under infra/examples/, provisioned by the local target and read back."""

from __future__ import annotations

import pytest
from esm_support import InThreadDaemon
from support import REPO, make_project

from ddbstream.clients import local_client
from ddbstream.provision import provision
from ddbstream.spec import load_spec

EXAMPLES = REPO / "infra" / "examples"


@pytest.fixture(scope="module")
def infra(tmp_path_factory):
    """A project copy: no terraform.tfvars a developer may keep in the repository."""
    return make_project(tmp_path_factory.mktemp("examples") / "project") / "infra"


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


def up(daemon, infra, example: str):
    spec = load_spec(infra, var_files=[str(EXAMPLES / example)])

    def client(service: str):
        return local_client(service, daemon.endpoint, "us-east-1", "testing")

    resources, notes = provision(spec, client, account="123456789012", region="us-east-1")
    assert notes == []
    return resources, client


def key_schema(table: dict) -> list[tuple[str, str, str]]:
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    return [(k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in table["KeySchema"]]


def test_employees(daemon, infra):
    resources, client = up(daemon, infra, "employees.tfvars")
    table = client("dynamodb").describe_table(TableName="employees")["Table"]
    assert key_schema(table) == [("employeeid", "HASH", "S")]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    backups = client("dynamodb").describe_continuous_backups(TableName="employees")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    function = client("lambda").get_function_configuration(FunctionName="employees_stream_consumer")
    assert (function["Runtime"], function["Handler"]) == ("python3.12", "handler.lambda_handler")
    mapping = client("lambda").get_event_source_mapping(UUID=resources["mapping_uuid"])
    assert mapping["EventSourceArn"] == table["LatestStreamArn"]


def test_user_activities(daemon, infra):
    resources, client = up(daemon, infra, "user_activities.tfvars")
    table = client("dynamodb").describe_table(TableName="UserActivities")["Table"]
    assert key_schema(table) == [("UserId", "HASH", "S"), ("ActivityId", "RANGE", "S")]
    throughput = table["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (5, 5)

    queue_url = client("sqs").get_queue_url(QueueName="UserActivities-dlq")["QueueUrl"]
    assert resources["queue_url"] == queue_url
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    assert resources["topic_arn"] in topics and resources["topic_arn"].endswith(":UserActivities-events")

    s3 = client("s3")
    bucket = "useractivities-audit-123456789012"
    [retention, _] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert retention["Filter"] == {"Prefix": "audit-logs/"}
    assert retention["Transitions"][0]["Days"] == 30 and retention["Expiration"]["Days"] == 365
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())

    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix="UserActivities")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(
        [
            "UserActivities-dlq-messages-visible",
            "UserActivities-read-throttles",
            "UserActivities-write-throttles",
            "UserActivities_stream_consumer-duration",
            "UserActivities_stream_consumer-errors",
            "UserActivities_stream_consumer-iterator-age",
            "UserActivities_stream_consumer-throttles",
        ]
    )
    assert all(a["AlarmActions"] == [resources["topic_arn"]] for a in alarms)

    function = client("lambda").get_function_configuration(FunctionName="UserActivities_stream_consumer")
    assert (function["MemorySize"], function["Timeout"]) == (256, 60)
    variables = function["Environment"]["Variables"]
    assert variables["DLQ_URL"] == queue_url and variables["AUDIT_BUCKET"] == bucket
    assert variables["AUDIT_PREFIX"] == "audit-logs/" and variables["NOTIFY_EVENT_NAMES"] == "REMOVE"

    # A second `up` reconciles: nothing new, nothing failing.
    again, _ = up(daemon, infra, "user_activities.tfvars")
    assert again == resources


def test_realtime_data(daemon, infra):
    resources, client = up(daemon, infra, "realtime_data.tfvars")
    table = client("dynamodb").describe_table(TableName="RealTimeDataTable")["Table"]
    assert key_schema(table) == [("id", "HASH", "S"), ("timestamp", "RANGE", "N")]
    ttl = client("dynamodb").describe_time_to_live(TableName="RealTimeDataTable")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    mapping = client("lambda").get_event_source_mapping(UUID=resources["mapping_uuid"])
    assert mapping["BatchSize"] == 100
    assert mapping["FunctionArn"].endswith(":function:DataProcessor")
    function = client("lambda").get_function_configuration(FunctionName="DataProcessor")
    assert (function["MemorySize"], function["Timeout"]) == (256, 30)
