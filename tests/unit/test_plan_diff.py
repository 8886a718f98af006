"""The plan's pure core: desired against deployed, how a plan reads, a Terraform JSON plan read back."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace

import pytest
from support import REPO, make_project

from ddbstream.cli.ui import ConsoleUI
from ddbstream.errors import Cancelled, TerraformError
from ddbstream.plan import event_bus as plan_bus
from ddbstream.plan import http_api as plan_api
from ddbstream.plan.desired import MAPPING, QUEUE, TABLE, resource
from ddbstream.plan.diff import diff
from ddbstream.plan.local import losses
from ddbstream.plan.model import UNKNOWN, Plan, as_json, render
from ddbstream.plan.terraform import from_show_json
from ddbstream.provision import http_api
from ddbstream.provision.function import code_sha256, package
from ddbstream.spec import load_spec

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:users_api"


def table(name="employees", keys="employeeid (S, HASH)", view="NEW_AND_OLD_IMAGES"):
    return resource(TABLE, "table", name, {"TableName": name, "KeySchema": keys, "StreamViewType": view})


def queue(name="employees-dlq", retention="345600"):
    return resource(QUEUE, "queue", name, {"QueueName": name, "MessageRetentionPeriod": retention}, ident=f"u/{name}")


def mapping(batch=100, source="arn:stream/1", function="f"):
    settings = {"EventSourceArn": source, "FunctionName": function, "BatchSize": batch}
    return resource(MAPPING, "event source mapping", f"employees to {function}", settings, ident="uuid-1")


def by_address(*resources):
    return {r.address: r for r in resources}


def actions(changes):
    return {c.address: c.action for c in changes}


def test_each_kind_of_change():
    desired = by_address(table(), mapping(batch=10))
    deployed = by_address(table(), mapping(batch=7), queue())
    changes = diff(desired, deployed)
    assert actions(changes) == {TABLE: "no-op", MAPPING: "update", QUEUE: "destroy"}
    [update] = [c for c in changes if c.action == "update"]
    assert [(a.name, a.before, a.after, a.forces_replacement) for a in update.attributes] == [
        ("BatchSize", 7, 10, False)
    ]
    assert [c.address for c in changes] == [TABLE, QUEUE, MAPPING]  # apply order: what others name first
    assert actions(diff(by_address(queue()), {})) == {QUEUE: "create"}


def test_what_cannot_change_in_place_is_a_replacement():
    [change] = diff(by_address(table(keys="other (S, HASH)")), by_address(table()))
    assert change.action == "replace"
    assert [(a.name, a.forces_replacement) for a in change.attributes] == [("KeySchema", True)]
    assert change.deletes_data and not change.leaves_definition  # same name: --keep-old cannot keep it
    assert change.line() == "replaced table employees (KeySchema cannot change in place)"

    [renamed] = diff(by_address(table("users")), by_address(table()))
    assert renamed.action == "replace" and renamed.leaves_definition
    assert renamed.name == "employees -> users"


def test_a_value_known_only_after_apply_counts_as_a_change():
    [change] = diff(by_address(mapping(source=UNKNOWN)), by_address(mapping()))
    assert change.action == "replace"
    assert change.attributes[0].after == UNKNOWN


def test_plan_reads_like_terraform():
    plan = Plan(diff(by_address(table("users"), mapping(batch=10)), by_address(table(), mapping(batch=7), queue())))
    assert plan.counts() == (1, 1, 2)
    assert render(plan) == [
        "-/+ module.dynamodb_table.aws_dynamodb_table.this (table employees -> users) must be replaced",
        '    ~ TableName: "employees" -> "users"  # forces replacement',
        "- module.dlq[0].aws_sqs_queue.this (queue employees-dlq) will be destroyed",
        "~ module.event_mapping.aws_lambda_event_source_mapping.this (event source mapping employees to f) "
        "will be updated in place",
        "    ~ BatchSize: 7 -> 10",
        "",
        "Plan: 1 to add, 1 to change, 2 to destroy.",
    ]
    assert [c.address for c in plan.data_loss()] == [TABLE, QUEUE]
    assert losses(plan, keep_old=True) == []  # both left the definition: kept, nothing deleted
    document = as_json(plan)
    assert document["summary"] == {"add": 1, "change": 1, "destroy": 2}
    assert [c["actions"] for c in document["resource_changes"]] == [["delete", "create"], ["delete"], ["update"]]


def test_nothing_to_do_says_so():
    plan = Plan(diff(by_address(table()), by_address(table())))
    assert plan.pending == [] and plan.counts() == (0, 0, 0)
    assert render(plan) == ["No changes. The deployed pipeline matches the configuration."]


def test_a_terraform_json_plan_reads_into_the_same_model():
    document = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "module.dynamodb_table.aws_dynamodb_table.this",
                "mode": "managed",
                "type": "aws_dynamodb_table",
                "change": {
                    "actions": ["delete", "create"],
                    "before": {"name": "users", "hash_key": "id"},
                    "after": {"name": "employees", "hash_key": "id"},
                    "after_unknown": {"arn": True},
                    "replace_paths": [["name"]],
                },
            },
            {
                "address": "module.event_mapping.aws_lambda_event_source_mapping.this",
                "type": "aws_lambda_event_source_mapping",
                "change": {"actions": ["update"], "before": {"batch_size": 7}, "after": {"batch_size": 100}},
            },
            {"address": "data.aws_partition.current", "mode": "data", "change": {"actions": ["read"]}},
            {"address": "module.dlq[0].aws_sqs_queue.this", "type": "aws_sqs_queue", "change": {"actions": ["no-op"]}},
        ],
    }
    plan = from_show_json(document)
    assert [(c.action, c.kind) for c in plan.changes] == [
        ("replace", "table"),
        ("update", "event source mapping"),
        ("no-op", "queue"),
    ]
    table_change = plan.changes[0]
    assert table_change.name == "users -> employees"
    assert [(a.name, a.after, a.forces_replacement) for a in table_change.attributes] == [
        ("arn", UNKNOWN, False),
        ("name", "employees", True),
    ]
    assert plan.summary() == "Plan: 1 to add, 1 to change, 1 to destroy."
    with pytest.raises(TerraformError, match="format 2.0"):
        from_show_json({"format_version": "2.0"})


# ---------------------------------------------------------------- the HTTP API and the event bus

API_TFVARS = REPO / "infra" / "examples" / "crud_api.tfvars"
ROUTE_GET = plan_api.ROUTE.format("GET /dynamo")


@pytest.fixture(scope="module")
def crud_spec(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("plan-api") / "project")
    return load_spec(project / "infra", var_files=[str(API_TFVARS)], overrides=["enable_event_bus_queue=true"])


def test_the_api_and_the_bus_are_planned_at_infra_addresses(crud_spec):
    wanted = {**plan_bus.wanted(crud_spec, {}), **plan_api.wanted(crud_spec, {})}
    module = "module.http_api[0]"
    assert set(wanted) == {
        f"{module}.aws_lambda_function.this",
        f"{module}.aws_cloudwatch_log_group.function",
        f"{module}.aws_apigatewayv2_api.this",
        f"{module}.aws_apigatewayv2_integration.this",
        *(f'{module}.aws_apigatewayv2_route.this["{m} /dynamo"]' for m in ("GET", "POST", "PATCH", "DELETE")),
        f"{module}.aws_cloudwatch_log_group.this",
        f"{module}.aws_apigatewayv2_stage.this",
        f"{module}.aws_lambda_permission.this",
        "module.event_bus[0].aws_cloudwatch_event_bus.this[0]",
        "module.event_bus[0].aws_cloudwatch_event_rule.this[0]",
        "module.event_bus[0].aws_cloudwatch_log_group.this[0]",
        "module.event_bus[0].aws_sqs_queue.this[0]",
        "module.event_bus[0].aws_cloudwatch_event_target.this[0]",
        "module.event_bus[0].aws_cloudwatch_event_target.queue[0]",
    }
    # Built by provisioning's own builders: the values `up` applies.
    stage = wanted[plan_api.STAGE].attributes
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 50, "ThrottlingRateLimit": 20.0}
    assert stage["AccessLogSettings"] == {"DestinationArn": UNKNOWN, "Format": http_api.access_log_format()}
    rule = wanted[plan_bus.RULE].attributes
    assert json.loads(rule["EventPattern"]) == {"source": ["crud.api"], "detail-type": ["ItemCreated"]}
    function = wanted[plan_api.FUNCTION].attributes
    assert function["Environment"]["Variables"]["EVENT_BUS_NAME"] == "users-bus"
    assert function["CodeSha256"] == code_sha256(package(crud_spec.project_dir / "lambda" / "api"))
    # Nothing made yet: the ids the parts name are known after apply.
    assert wanted[ROUTE_GET].attributes["Target"] == UNKNOWN
    assert wanted[plan_api.PERMISSION].attributes["SourceArn"] == UNKNOWN
    off = load_spec(crud_spec.infra_dir, var_files=[str(API_TFVARS)], overrides=["enable_api=false"])
    assert plan_api.wanted(off, {}) == {}


def test_a_kept_api_gives_its_parts_their_ids_and_a_renamed_one_replaces_them(crud_spec):
    first = plan_api.wanted(crud_spec, {})
    deployed = {
        plan_api.FUNCTION: replace(first[plan_api.FUNCTION], outputs={"function_arn": FUNCTION_ARN}),
        plan_api.API: replace(first[plan_api.API], ident="a1", outputs={"api_id": "a1"}),
    }
    integration = plan_api.wanted(crud_spec, deployed)[plan_api.INTEGRATION]
    deployed[plan_api.INTEGRATION] = replace(integration, ident="a1/i1", outputs={"integration_id": "i1"})
    wanted = plan_api.wanted(crud_spec, deployed)
    assert wanted[ROUTE_GET].attributes["Target"] == "integrations/i1"
    assert wanted[ROUTE_GET].attributes["ApiId"] == "a1"
    assert wanted[plan_api.PERMISSION].attributes["SourceArn"] == (
        "arn:aws:execute-api:us-east-1:123456789012:a1/*/*/dynamo"
    )
    assert wanted[plan_api.INTEGRATION].attributes["IntegrationUri"] == FUNCTION_ARN

    # A route pointed elsewhere by hand: one update naming the attribute.
    route = replace(wanted[ROUTE_GET], attributes={**wanted[ROUTE_GET].attributes, "Target": "integrations/x"})
    [change] = diff(by_address(wanted[ROUTE_GET]), by_address(route))
    assert change.line() == 'updated route users-api GET /dynamo: Target "integrations/x" -> "integrations/i1"'

    # Another API name (a new table_name): the API and every part of it are replaced, never updated.
    renamed = {**deployed, plan_api.API: replace(deployed[plan_api.API], attributes={"Name": "old-api"})}
    wanted = plan_api.wanted(crud_spec, renamed)
    assert wanted[ROUTE_GET].attributes["ApiId"] == UNKNOWN
    [change] = diff(by_address(wanted[ROUTE_GET]), by_address(route))
    assert change.action == "replace"


def test_turning_the_api_and_the_bus_off_destroys_parts_before_what_holds_them(crud_spec):
    deployed = {**plan_bus.wanted(crud_spec, {}), **plan_api.wanted(crud_spec, {})}
    plan = Plan(diff({}, deployed))
    assert {c.action for c in plan.changes} == {"destroy"} and plan.counts() == (0, 0, len(deployed))
    deletion_order = [c.kind for c in reversed(plan.pending)]  # apply_plan deletes in reverse apply order
    for first, then in [
        ("target", "rule"),
        ("rule", "event bus"),
        ("target", "queue"),
        ("route", "HTTP API"),
        ("stage", "HTTP API"),
        ("permission", "function"),
        ("HTTP API", "function"),
    ]:
        assert deletion_order.index(first) < deletion_order.index(then), (first, then)
    assert [c.kind for c in plan.data_loss()] == ["queue"]  # the bus's queue: `up` asks first


def test_no_answer_prints_the_plan_on_stdout_and_one_error_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal, nothing to read
    with pytest.raises(Cancelled, match="no answer to 'Apply\\?' \\(stdin is closed\\)"):
        ConsoleUI().confirm("Apply?", ["- module.x (queue q) will be destroyed", "", "Plan: 0 to add."])
    out, err = capsys.readouterr()
    assert out.splitlines() == ["- module.x (queue q) will be destroyed", "", "Plan: 0 to add."]
    assert err == ""

    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))  # an answer: the plan and the question on stderr
    assert ConsoleUI().confirm("Apply?", ["Plan: 0 to add."]) is False
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == ["Plan: 0 to add.", "Apply? [y/N]: n"]


def test_terraform_names_the_api_and_bus_kinds_as_the_local_plan_does():
    route = {
        "address": 'module.http_api[0].aws_apigatewayv2_route.this["GET /dynamo"]',
        "type": "aws_apigatewayv2_route",
        "change": {"actions": ["update"], "before": {"route_key": "GET /dynamo", "target": "integrations/x"}},
    }
    route["change"]["after"] = {**route["change"]["before"], "target": "integrations/y"}
    rule = {"address": plan_bus.RULE, "type": "aws_cloudwatch_event_rule", "change": {"actions": ["delete"]}}
    rule["change"]["before"] = {"name": "users-item-created"}
    plan = from_show_json({"format_version": "1.2", "resource_changes": [route, rule]})
    assert [(c.kind, c.name, c.action) for c in plan.changes] == [
        ("route", "GET /dynamo", "update"),
        ("rule", "users-item-created", "destroy"),
    ]
