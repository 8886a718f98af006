"""`plan` and a planning `up` with the CRUD API and the event bus (infra/examples/crud_api.tfvars):
nothing to do after `up`, a route changed by hand planned and put back in one line, the API
destroyed when enable_api goes off.

One project and one daemon for the module: each test reads what the ones before it left.
"""

from __future__ import annotations

import shutil

import pytest
from support import REPO, make_project, run_cli, stack_client

pytestmark = pytest.mark.e2e

EXAMPLE = "infra/examples/crud_api.tfvars"
NO_CHANGES = "No changes. The deployed pipeline matches the configuration."
ROUTE = 'module.http_api[0].aws_apigatewayv2_route.this["GET /dynamo"]'


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("plan-api") / "project")
    shutil.copy(REPO / EXAMPLE, project / EXAMPLE)  # make_project leaves *.tfvars out
    up = run_cli("up", "--var-file", EXAMPLE, cwd=project)
    assert up.returncode == 0, up.stderr
    yield project
    run_cli("down", cwd=project)


def plan(project, *args: str):
    result = run_cli("plan", "--var-file", EXAMPLE, "--detailed-exitcode", *args, cwd=project)
    assert "Traceback" not in result.stderr
    return result


def routes(project) -> dict[str, str]:
    gateway = stack_client(project, "apigatewayv2")
    [api] = gateway.get_apis()["Items"]
    return {r["RouteKey"]: r["Target"] for r in gateway.get_routes(ApiId=api["ApiId"])["Items"]}


def test_up_then_plan_has_nothing_to_do(project):
    result = plan(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [NO_CHANGES]
    assert result.stderr == ""  # no "not in the plan yet" note: the API and the bus are compared


def test_a_route_changed_by_hand_is_an_update_put_back_in_one_line(project):
    gateway = stack_client(project, "apigatewayv2")
    [api] = gateway.get_apis()["Items"]
    ours = routes(project)["GET /dynamo"]
    other = gateway.create_integration(
        ApiId=api["ApiId"], IntegrationType="HTTP_PROXY", IntegrationMethod="GET", IntegrationUri="https://example.com"
    )
    [route] = [r for r in gateway.get_routes(ApiId=api["ApiId"])["Items"] if r["RouteKey"] == "GET /dynamo"]
    elsewhere = f"integrations/{other['IntegrationId']}"
    gateway.update_route(ApiId=api["ApiId"], RouteId=route["RouteId"], Target=elsewhere)

    result = plan(project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"~ {ROUTE} (route users-api GET /dynamo) will be updated in place",
        f'    ~ Target: "{elsewhere}" -> "{ours}"',
        "",
        "Plan: 0 to add, 1 to change, 0 to destroy.",
    ]

    up = run_cli("up", "--var-file", EXAMPLE, cwd=project, input="")
    assert up.returncode == 0, up.stderr
    said = [line for line in up.stderr.splitlines() if not line.startswith("WARNING ")]  # a stand-in python, maybe
    assert said == [f'updated route users-api GET /dynamo: Target "{elsewhere}" -> "{ours}"']
    assert routes(project)["GET /dynamo"] == ours
    assert plan(project).returncode == 0


def test_enable_api_off_destroys_the_api(project):
    off = ("--var", "enable_api=false")
    result = plan(project, *off)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    destroyed = [line for line in lines if line.startswith("- module.http_api[0].")]
    assert len(destroyed) == 11, lines  # function, 2 log groups, API, integration, 4 routes, stage, permission
    assert "- module.http_api[0].aws_apigatewayv2_api.this (HTTP API users-api) will be destroyed" in lines
    assert not any(line.startswith(("+", "~", "-/+")) for line in lines), lines
    assert lines[-1] == "Plan: 0 to add, 0 to change, 11 to destroy."

    up = run_cli("up", "--var-file", EXAMPLE, *off, "--yes", cwd=project)
    assert up.returncode == 0, up.stderr
    assert "destroyed HTTP API users-api" in up.stderr.splitlines()
    assert "destroyed function users_api" in up.stderr.splitlines()
    assert stack_client(project, "apigatewayv2").get_apis()["Items"] == []
    functions = [f["FunctionName"] for f in stack_client(project, "lambda").list_functions()["Functions"]]
    assert functions == ["users_stream_consumer"]
    assert plan(project, *off).stdout.splitlines() == [NO_CHANGES]
    # The bus stays (enable_event_bus): only what enable_api made went.
    assert stack_client(project, "events").list_rules(EventBusName="users-bus")["Rules"]
