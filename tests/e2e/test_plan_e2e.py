"""`plan` and a planning `up` on the local target: each kind of change planned, asked about when it
deletes data, applied with one line per change, and one pipeline deployed at a time."""

from __future__ import annotations

import json

import pytest
from support import run_cli, stack_client, wait_until

from ddbstream.errors import ExitCode
from ddbstream.provision.function import code_sha256, package

pytestmark = pytest.mark.e2e

FUNCTION = "employees_stream_consumer"
MAPPING_NAME = f"employees to {FUNCTION}"


def _errors(result) -> list[str]:
    assert "Traceback" not in result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def _deployed(project) -> dict[str, list[str]]:
    """Every table, function, queue and mapping the daemon runs."""
    lam = stack_client(project, "lambda")
    return {
        "tables": stack_client(project, "dynamodb").list_tables()["TableNames"],
        "functions": sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]),
        "queues": [u.rsplit("/", 1)[-1] for u in stack_client(project, "sqs").list_queues().get("QueueUrls", [])],
        "mappings": [
            m["EventSourceArn"].split("/")[1] for m in lam.list_event_source_mappings()["EventSourceMappings"]
        ],
    }


def _status(project) -> dict:
    result = run_cli("status", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_table_name_changed_then_back_ends_with_one_pipeline(project):
    try:
        assert run_cli("up", "--var", "table_name=users", cwd=project).returncode == 0
        refused = run_cli("up", cwd=project, input="")
        assert refused.returncode == ExitCode.CANCELLED
        # No answer: the plan on stdout, the refusal one line on stderr (no question asked into the void).
        assert (
            _errors(refused)
            == refused.stderr.splitlines()
            == [
                "error: no answer to 'This deletes table users, queue users-dlq with all they hold. Apply?' "
                "(stdin is closed): pass --yes to go ahead without asking"
            ]
        )
        shown = refused.stdout.splitlines()
        assert "-/+ module.dynamodb_table.aws_dynamodb_table.this (table users -> employees) must be replaced" in shown
        assert shown[-1].startswith("Plan: ") and shown[-1].endswith(" to destroy.")
        assert _deployed(project)["tables"] == ["users"]  # nothing applied

        up = run_cli("up", "--yes", cwd=project)
        assert up.returncode == 0, up.stderr
        for line in (
            "replaced table users -> employees (TableName cannot change in place)",
            "replaced queue users-dlq -> employees-dlq (QueueName cannot change in place)",
            f"replaced function users_stream_consumer -> {FUNCTION} (FunctionName cannot change in place)",
            f"replaced event source mapping users to users_stream_consumer -> {MAPPING_NAME} "
            "(EventSourceArn, FunctionName cannot change in place)",
        ):
            assert line in up.stderr.splitlines(), up.stderr
        assert _deployed(project) == {
            "tables": ["employees"],
            "functions": [FUNCTION],
            "queues": ["employees-dlq"],
            "mappings": ["employees"],
        }
        status = _status(project)
        assert status["table"]["name"] == "employees" and status["function"]["name"] == FUNCTION
        assert status["others"] == {}
        dlq = run_cli("dlq", "list", cwd=project)
        assert dlq.returncode == 0, dlq.stderr
        assert run_cli("put", "--item", '{"employeeid": "E101"}', cwd=project).returncode == 0
        wait_until(
            lambda: "E101" in run_cli("tail", "--since", "5m", cwd=project).stdout, 60, 0.5, "the consumer's log line"
        )
    finally:
        run_cli("down", cwd=project)


def test_keep_old_leaves_the_old_pipeline_running_and_status_lists_it(project):
    try:
        assert run_cli("up", "--var", "table_name=users", cwd=project).returncode == 0
        up = run_cli("up", "--keep-old", cwd=project, input="")  # nothing is deleted: nothing to ask
        assert up.returncode == 0, up.stderr
        assert (
            "replaced table users -> employees (TableName cannot change in place); users left running (--keep-old)"
            in (up.stderr)
        )
        assert _status(project)["others"] == {
            "tables": ["users"],
            "functions": ["users_stream_consumer"],
            "queues": ["users-dlq"],
            "mappings": [f"{_deployed_uuid(project, 'users')} (users to users_stream_consumer)"],
        }
        shown = run_cli("status", cwd=project)
        assert "also deployed (not part of the pipeline)" in shown.stdout
        assert sorted(_deployed(project)["tables"]) == ["employees", "users"]
    finally:
        run_cli("down", cwd=project)


def _deployed_uuid(project, table: str) -> str:
    mappings = stack_client(project, "lambda").list_event_source_mappings()["EventSourceMappings"]
    return next(m["UUID"] for m in mappings if f":table/{table}/" in m["EventSourceArn"])


def test_drift_code_and_variables_are_planned_then_applied_one_line_each(stack):
    project, info = stack
    lam = stack_client(project, "lambda")
    lam.update_event_source_mapping(UUID=info["resources"]["mapping_uuid"], BatchSize=7)
    lam.update_function_configuration(FunctionName=FUNCTION, MemorySize=512)
    before = lam.get_function_configuration(FunctionName=FUNCTION)
    handler = project / "lambda" / "handler.py"
    handler.write_text(handler.read_text() + "\n# version 2\n")

    plan = run_cli("plan", "--detailed-exitcode", cwd=project)
    assert plan.returncode == 2, plan.stderr
    lines = plan.stdout.splitlines()
    assert f"~ module.lambda_consumer.aws_lambda_function.this (function {FUNCTION}) will be updated in place" in lines
    assert "    ~ MemorySize: 512 -> 128" in lines
    assert any(line.startswith('    ~ CodeSha256: "') for line in lines)
    assert "    ~ BatchSize: 7 -> 100" in lines
    assert lines[-1] == "Plan: 0 to add, 2 to change, 0 to destroy."

    up = run_cli("up", cwd=project, input="")
    assert up.returncode == 0, up.stderr
    assert f"updated function {FUNCTION}: MemorySize 512 -> 128, new code" in up.stderr.splitlines()
    assert f"updated event source mapping {MAPPING_NAME}: BatchSize 7 -> 100" in up.stderr.splitlines()
    after = lam.get_function_configuration(FunctionName=FUNCTION)
    assert after["MemorySize"] == 128
    assert after["CodeSha256"] == code_sha256(package(project / "lambda")) != before["CodeSha256"]
    assert after["LastModified"] > before["LastModified"]
    assert lam.get_event_source_mapping(UUID=info["resources"]["mapping_uuid"])["BatchSize"] == 100

    again = run_cli("up", cwd=project)
    assert "No changes. The deployed pipeline matches the configuration." in again.stderr.splitlines()
    assert run_cli("plan", "--detailed-exitcode", cwd=project).returncode == 0

    variable = run_cli("up", "--var", "batch_size=10", cwd=project)
    assert variable.returncode == 0, variable.stderr
    assert f"updated event source mapping {MAPPING_NAME}: BatchSize 100 -> 10" in variable.stderr.splitlines()


def test_key_schema_change_asks_then_replaces_and_a_removed_queue_is_destroyed(stack):
    project, _ = stack
    assert run_cli("put", "--item", '{"employeeid": "E1"}', cwd=project).returncode == 0
    dynamodb = stack_client(project, "dynamodb")

    refused = run_cli("up", "--var", "hash_key=other", cwd=project, input="n\n")
    assert refused.returncode == ExitCode.CANCELLED
    assert _errors(refused) == ["error: cancelled: nothing was applied (table employees would have been deleted)"]
    assert '    ~ KeySchema: "employeeid (S, HASH)" -> "other (S, HASH)"  # forces replacement' in refused.stderr
    assert dynamodb.describe_table(TableName="employees")["Table"]["KeySchema"][0]["AttributeName"] == "employeeid"
    assert dynamodb.scan(TableName="employees")["Count"] == 1

    replaced = run_cli("up", "--var", "hash_key=other", "--yes", cwd=project)
    assert replaced.returncode == 0, replaced.stderr
    assert "replaced table employees (KeySchema cannot change in place)" in replaced.stderr.splitlines()
    assert f"replaced event source mapping {MAPPING_NAME} (EventSourceArn cannot change in place)" in (
        replaced.stderr.splitlines()
    )
    assert dynamodb.describe_table(TableName="employees")["Table"]["KeySchema"][0]["AttributeName"] == "other"
    assert dynamodb.scan(TableName="employees")["Count"] == 0
    assert len(_deployed(project)["mappings"]) == 1

    removed = run_cli("up", "--var", "hash_key=other", "--var", "enable_dlq=false", cwd=project, input="y\n")
    assert removed.returncode == 0, removed.stderr
    assert "destroyed queue employees-dlq" in removed.stderr.splitlines()
    assert _deployed(project)["queues"] == []
    environment = stack_client(project, "lambda").get_function_configuration(FunctionName=FUNCTION)["Environment"]
    assert "DLQ_URL" not in environment["Variables"]
    plan = run_cli("plan", "--json", "--var", "hash_key=other", "--var", "enable_dlq=false", cwd=project)
    assert {c["actions"][0] for c in json.loads(plan.stdout)["resource_changes"]} == {"no-op"}
