"""The seed layouts under infra/examples/, provisioned by the local target and read back."""

from __future__ import annotations

import json

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


def test_crud_api(daemon, infra):
    """Seed 003: users keyed by user_id, the CRUD API in front, the bus's rule to a log group."""
    resources, client = up(daemon, infra, "crud_api.tfvars")
    table = client("dynamodb").describe_table(TableName="users")["Table"]
    assert key_schema(table) == [("user_id", "HASH", "S")]

    function = client("lambda").get_function_configuration(FunctionName="users_api")
    assert (function["Runtime"], function["Handler"]) == ("python3.12", "app.lambda_handler")
    assert function["Environment"]["Variables"] == {
        "TABLE_NAME": "users",
        "KEY_NAME": "user_id",
        "POWERTOOLS_SERVICE_NAME": "users-api",
        "EVENT_BUS_NAME": "users-bus",
        "EVENT_SOURCE": "crud.api",
        "EVENT_DETAIL_TYPE": "ItemCreated",
    }
    consumer = client("lambda").get_function_configuration(FunctionName="users_stream_consumer")
    assert "EVENT_BUS_NAME" not in consumer["Environment"]["Variables"]  # the consumer forwards nothing

    gateway = client("apigatewayv2")
    api = gateway.get_api(ApiId=resources["api_id"])
    assert (api["Name"], api["ProtocolType"]) == ("users-api", "HTTP")
    [integration] = gateway.get_integrations(ApiId=api["ApiId"])["Items"]
    assert integration["IntegrationUri"] == function["FunctionArn"]
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    routes = {r["RouteKey"]: r["Target"] for r in gateway.get_routes(ApiId=api["ApiId"])["Items"]}
    target = f"integrations/{integration['IntegrationId']}"
    assert routes == {f"{m} /dynamo": target for m in ("GET", "POST", "PATCH", "DELETE")}
    [stage] = gateway.get_stages(ApiId=api["ApiId"])["Items"]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 50
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(":log-group:/aws/apigateway/users-api")
    [permission] = json.loads(client("lambda").get_policy(FunctionName="users_api")["Policy"])["Statement"]
    assert permission["Principal"] == {"Service": "apigateway.amazonaws.com"}

    events = client("events")
    rule = events.describe_rule(Name="users-item-created", EventBusName="users-bus")
    assert json.loads(rule["EventPattern"]) == {"source": ["crud.api"], "detail-type": ["ItemCreated"]}
    [target] = events.list_targets_by_rule(Rule="users-item-created", EventBusName="users-bus")["Targets"]
    assert target["Arn"].endswith(":log-group:/aws/events/users-item-created")
    assert {k: resources[k] for k in ("event_bus_name", "event_rule_name", "event_log_group")} == {
        "event_bus_name": "users-bus",
        "event_rule_name": "users-item-created",
        "event_log_group": "/aws/events/users-item-created",
    }

    # A second `up` reconciles: nothing new, nothing noted.
    again, _ = up(daemon, infra, "crud_api.tfvars")
    assert again == resources
    assert [a["ApiId"] for a in gateway.get_apis()["Items"] if a["Name"] == "users-api"] == [api["ApiId"]]

    # What was changed outside ddbstream is put back (the plan says so: tests/e2e/test_plan_api_e2e.py).
    gateway.update_route(ApiId=api["ApiId"], RouteId=_route_id(gateway, api["ApiId"], "GET /dynamo"), Target="x")
    events.put_rule(Name="users-item-created", EventBusName="users-bus", EventPattern='{"source": ["other"]}')
    spec = load_spec(infra, var_files=[str(EXAMPLES / "crud_api.tfvars")])
    provision(spec, client, account="123456789012", region="us-east-1")
    assert _route_target(gateway, api["ApiId"], "GET /dynamo") == target_of(integration)
    rule = events.describe_rule(Name="users-item-created", EventBusName="users-bus")
    assert json.loads(rule["EventPattern"]) == {"source": ["crud.api"], "detail-type": ["ItemCreated"]}


def target_of(integration: dict) -> str:
    return f"integrations/{integration['IntegrationId']}"


def _route_id(gateway, api_id: str, key: str) -> str:
    return next(r["RouteId"] for r in gateway.get_routes(ApiId=api_id)["Items"] if r["RouteKey"] == key)


def _route_target(gateway, api_id: str, key: str) -> str:
    return next(r["Target"] for r in gateway.get_routes(ApiId=api_id)["Items"] if r["RouteKey"] == key)


def test_crud_api_with_a_queue_target_then_without(daemon, infra):
    spec = load_spec(infra, var_files=[str(EXAMPLES / "crud_api.tfvars")], overrides=["enable_event_bus_queue=true"])

    def client(service: str):
        return local_client(service, daemon.endpoint, "us-east-1", "testing")

    resources, _ = provision(spec, client, account="123456789012", region="us-east-1")
    queue_url = resources["event_queue_url"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    [statement] = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    [(test, condition)] = statement["Condition"].items()
    assert test == "ArnEquals" and list(condition) == ["aws:SourceArn"]
    assert condition["aws:SourceArn"].endswith(":rule/users-bus/users-item-created")
    targets = client("events").list_targets_by_rule(Rule="users-item-created", EventBusName="users-bus")["Targets"]
    assert sorted(t["Id"] for t in targets) == ["log-group", "queue"]

    resources, _ = up(daemon, infra, "crud_api.tfvars")  # the queue target is no longer wanted
    targets = client("events").list_targets_by_rule(Rule="users-item-created", EventBusName="users-bus")["Targets"]
    assert [t["Id"] for t in targets] == ["log-group"] and "event_queue_url" not in resources
