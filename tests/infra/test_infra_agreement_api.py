"""infra/modules/http_api and infra/modules/event_bus agree with the local target's requests.

As tests/infra/test_infra_agreement.py does for the stream pipeline: the HCL is evaluated for
one set of values, the local target provisions the same values while every boto3 request is
recorded, and each request parameter is compared with the matching Terraform argument.
"""

from __future__ import annotations

import json

import pytest
from esm_support import InThreadDaemon
from infra_support import ACCOUNT, REGION, Module, Recorder, blocks
from support import REPO, make_project

from ddbstream.provision import provision
from ddbstream.spec import load_spec

VALUES = {
    # Distinctive values: a default that happened to match on both sides would prove nothing.
    "table_name": "Members",
    "hash_key": "MemberId",
    "hash_key_type": "S",
    "enable_dlq": False,
    "tags": {"Team": "web", "Env": "test"},
    "log_retention_days": 30,
    "event_bus_name": "member-events",
    "enable_event_bus": True,
    "enable_event_bus_queue": True,
    "enable_api": True,
    "api_throttling_burst_limit": 77,
    "api_throttling_rate_limit": 33,
}


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """(Terraform root module, recorded local requests, resources) for VALUES."""
    daemon = InThreadDaemon()
    try:
        directory = tmp_path_factory.mktemp("agreement-api")
        var_file = directory / "values.tfvars.json"
        var_file.write_text(json.dumps(VALUES))
        spec = load_spec(make_project(directory / "project") / "infra", var_files=[str(var_file)])
        recorder = Recorder(daemon.endpoint)
        resources, notes = provision(spec, recorder.client, account=ACCOUNT, region=REGION)
        assert notes == []
        known = {
            ("dynamodb_table", "table_name"): resources["table_name"],
            ("dynamodb_table", "table_arn"): resources["table_arn"],
            ("dynamodb_table", "stream_arn"): resources["stream_arn"],
            ("event_bus", "bus_arn"): resources["event_bus_arn"],
        }
        yield Module(REPO / "infra", dict(spec.values), known, REPO / "infra"), recorder, resources
    finally:
        daemon.stop()


def tags_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def test_api_function(sides):
    root, recorder, resources = sides
    function = root.child("http_api").resource("aws_lambda_function", "this")
    [request] = [r for r in recorder.calls("CreateFunction") if r["FunctionName"] == "Members_api"]
    assert request["FunctionName"] == function["function_name"] == resources["api_function_name"]
    for parameter, argument in [
        ("Runtime", "runtime"),
        ("Handler", "handler"),
        ("MemorySize", "memory_size"),
        ("Timeout", "timeout"),
        ("Description", "description"),
        ("Tags", "tags"),
    ]:
        assert request[parameter] == function[argument], parameter
    [environment] = function["environment"]
    assert (
        request["Environment"]["Variables"]
        == environment["variables"]
        == {
            "TABLE_NAME": "Members",
            "KEY_NAME": "MemberId",
            "POWERTOOLS_SERVICE_NAME": "Members-api",
            "EVENT_BUS_NAME": "member-events",
            "EVENT_SOURCE": "crud.api",
            "EVENT_DETAIL_TYPE": "ItemCreated",
        }
    )
    group = root.child("http_api").resource("aws_cloudwatch_log_group", "function")
    assert group["name"] == resources["api_log_group"] == "/aws/lambda/Members_api"
    retention = {r["logGroupName"]: r["retentionInDays"] for r in recorder.calls("PutRetentionPolicy")}
    assert retention[group["name"]] == group["retention_in_days"] == 30


def test_api_integration_routes_and_stage(sides):
    root, recorder, resources = sides
    module = root.child("http_api")
    api = module.resource("aws_apigatewayv2_api", "this")
    request = recorder.one("CreateApi")
    assert (request["Name"], request["ProtocolType"], request["Description"]) == (
        api["name"],
        api["protocol_type"],
        api["description"],
    )
    assert request["Tags"] == api["tags"]

    integration = module.resource("aws_apigatewayv2_integration", "this")
    request = recorder.one("CreateIntegration")
    for parameter, argument in [
        ("IntegrationType", "integration_type"),
        ("IntegrationMethod", "integration_method"),
        ("PayloadFormatVersion", "payload_format_version"),
        ("TimeoutInMillis", "timeout_milliseconds"),
    ]:
        assert request[parameter] == integration[argument], parameter
    assert integration["integration_uri"] == "<aws_lambda_function.this.arn>"
    assert request["IntegrationUri"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Members_api"

    routes = module.resource_instances("aws_apigatewayv2_route", "this")
    assert sorted(r["RouteKey"] for r in recorder.calls("CreateRoute")) == sorted(
        r["route_key"] for r in routes.values()
    )

    stage = module.resource("aws_apigatewayv2_stage", "this")
    request = recorder.one("CreateStage")
    assert (request["StageName"], request["AutoDeploy"], request["Tags"]) == (
        stage["name"],
        stage["auto_deploy"],
        stage["tags"],
    )
    [access] = stage["access_log_settings"]
    assert json.loads(request["AccessLogSettings"]["Format"]) == json.loads(access["format"])
    access_group = module.resource("aws_cloudwatch_log_group", "this")
    assert access["destination_arn"] == "<aws_cloudwatch_log_group.this.arn>"
    assert request["AccessLogSettings"]["DestinationArn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{access_group['name']}"
    )
    assert access_group["name"] == resources["api_access_log_group"] == "/aws/apigateway/Members-api"
    [throttling] = stage["default_route_settings"]
    assert request["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": throttling["throttling_burst_limit"],
        "ThrottlingRateLimit": throttling["throttling_rate_limit"],
    }
    assert (throttling["throttling_burst_limit"], throttling["throttling_rate_limit"]) == (77, 33)


def test_api_permission(sides):
    root, recorder, resources = sides
    permission = root.child("http_api").resource("aws_lambda_permission", "this")
    request = recorder.one("AddPermission")
    for parameter, argument in [("StatementId", "statement_id"), ("Action", "action"), ("Principal", "principal")]:
        assert request[parameter] == permission[argument], parameter
    prefix = "<aws_apigatewayv2_api.this.execution_arn>"
    assert permission["source_arn"].startswith(prefix)
    execution_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{resources['api_id']}"
    assert request["SourceArn"] == execution_arn + permission["source_arn"].removeprefix(prefix)


def test_bus_rule_and_log_group_target(sides):
    root, recorder, resources = sides
    module = root.child("event_bus")
    bus = module.resource("aws_cloudwatch_event_bus", "this")
    request = recorder.one("CreateEventBus")
    assert request["Name"] == bus["name"] == resources["event_bus_name"] == "member-events"
    assert request["Tags"] == tags_list(bus["tags"])

    rule = module.resource("aws_cloudwatch_event_rule", "this")
    request = recorder.one("PutRule")
    assert (request["Name"], request["Description"], request["State"]) == (
        rule["name"],
        rule["description"],
        rule["state"],
    )
    assert request["EventBusName"] == "member-events"  # the rule's: local.bus_name, the created bus's name
    assert json.loads(request["EventPattern"]) == json.loads(rule["event_pattern"])
    assert request["Tags"] == tags_list(rule["tags"])

    group = module.resource("aws_cloudwatch_log_group", "this")
    assert group["name"] == resources["event_log_group"] == "/aws/events/Members-item-created"
    retention = {r["logGroupName"]: r["retentionInDays"] for r in recorder.calls("PutRetentionPolicy")}
    assert retention[group["name"]] == group["retention_in_days"]

    policy = module.resource("aws_cloudwatch_log_resource_policy", "this")
    request = recorder.one("PutResourcePolicy")
    assert request["policyName"] == policy["policy_name"]
    [statement] = json.loads(request["policyDocument"])["Statement"]
    [tf_statement] = blocks(module.document, "data")["aws_iam_policy_document"]["logs"]["statement"]
    assert statement["Sid"] == tf_statement["sid"].strip('"')
    assert statement["Action"] == [a.strip('"') for a in tf_statement["actions"]]

    targets = {t["Id"]: t for r in recorder.calls("PutTargets") for t in r["Targets"]}
    log_target = module.resource_instances("aws_cloudwatch_event_target", "this")[0]
    queue_target = module.resource_instances("aws_cloudwatch_event_target", "queue")[0]
    assert set(targets) == {log_target["target_id"], queue_target["target_id"]}
    assert targets[log_target["target_id"]]["Arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group['name']}"


def test_bus_queue_target(sides):
    root, recorder, resources = sides
    module = root.child("event_bus")
    queue = module.resource("aws_sqs_queue", "this")
    [request] = [r for r in recorder.calls("CreateQueue") if r["QueueName"] == queue["name"]]
    assert request["Attributes"] == {
        "MessageRetentionPeriod": str(queue["message_retention_seconds"]),
        "SqsManagedSseEnabled": str(queue["sqs_managed_sse_enabled"]).lower(),
    }
    assert request["tags"] == queue["tags"]
    assert resources["event_queue_url"].endswith("/Members-item-created")
    [policy_request] = [r for r in recorder.calls("SetQueueAttributes") if "Policy" in r["Attributes"]]
    [statement] = json.loads(policy_request["Attributes"]["Policy"])["Statement"]
    [tf_statement] = blocks(module.document, "data")["aws_iam_policy_document"]["queue"]["statement"]
    assert statement["Sid"] == tf_statement["sid"].strip('"')
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":rule/member-events/Members-item-created")


def test_every_request_is_compared(sides):
    """A new request the local target starts sending for the API or the bus must get a comparison above."""
    _, recorder, _ = sides
    pipeline = {"CreateTable", "UpdateContinuousBackups", "CreateFunction", "CreateRole", "CreateLogGroup"}
    pipeline |= {"PutRetentionPolicy", "CreateEventSourceMapping"}  # compared in test_infra_agreement.py
    compared = {
        "CreateApi",
        "CreateIntegration",
        "CreateRoute",
        "CreateStage",
        "AddPermission",
        "CreateEventBus",
        "PutRule",
        "PutResourcePolicy",
        "PutTargets",
        "CreateQueue",
        "SetQueueAttributes",
    }
    writes = {name for _, name, _ in recorder.requests if not name.startswith(("Describe", "Get", "List", "Head"))}
    assert writes == pipeline | compared
