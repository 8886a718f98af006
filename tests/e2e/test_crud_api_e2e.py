"""Seed 003 through the real CLI: `up` with infra/examples/crud_api.tfvars, real HTTP to the
URL it prints, the bus's delivery and the consumer's stream record, the demo tour, a second `up`.

One project and one daemon for the module: each test reads what the ones before it left.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import uuid
from urllib.parse import urlsplit

import pytest
from support import REPO, make_project, run_cli, stack_client, wait_until

EXAMPLE = "infra/examples/crud_api.tfvars"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("crud") / "project")
    shutil.copy(REPO / EXAMPLE, project / EXAMPLE)  # make_project leaves *.tfvars out
    yield project
    if (project / ".ddbstream" / "state.json").exists():
        run_cli("down", cwd=project)


@pytest.fixture(scope="module")
def api_url(project) -> str:
    result = run_cli("up", "--var-file", EXAMPLE, cwd=project)
    assert result.returncode == 0, result.stderr
    printed = re.search(r"^\s+api\s+(http://127\.0\.0\.1:\d+/\w+)\s*$", result.stdout, re.MULTILINE)
    assert printed, result.stdout
    return printed.group(1)


def request(url: str, method: str, body: dict | None = None, query: str = "") -> tuple[int, dict]:
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    connection.request(method, f"{address.path}/dynamo{query}", body=data, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.status, json.loads(response.read() or b"null")
    connection.close()
    return answer


def consumer_lines(project, user_id: str) -> list[dict]:
    events = stack_client(project, "logs").filter_log_events(logGroupName="/aws/lambda/users_stream_consumer")
    lines = []
    for event in events["events"]:
        try:
            line = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("keys") == {"user_id": user_id}:
            lines.append(line)
    return lines


def test_a_post_is_one_bus_event_and_one_stream_record(project, api_url):
    user_id = f"u-{uuid.uuid4().hex[:8]}"
    status, body = request(api_url, "POST", {"user_id": user_id, "name": "Ana", "age": 41})
    assert (status, body) == (201, {"user_id": user_id, "name": "Ana", "age": 41})

    def delivered() -> list[dict]:
        result = run_cli("tail", "--bus", "--since", "5m", "--format", "json", cwd=project)
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        return [d for d in lines if d["event"]["detail"].get("user_id") == user_id]

    [delivery] = wait_until(delivered, timeout=20, message="the bus's delivery")
    assert delivery["ok"] and delivery["rule"].endswith(":rule/users-bus/users-item-created")
    assert (delivery["event"]["source"], delivery["event"]["detail-type"]) == ("crud.api", "ItemCreated")
    assert delivery["target"].endswith(":log-group:/aws/events/users-item-created")

    [record] = wait_until(lambda: consumer_lines(project, user_id), timeout=20, message="the consumer's line")
    assert record["eventName"] == "INSERT" and record["new"] == {"user_id": user_id, "name": "Ana", "age": 41}
    # Still exactly one of each once the pipeline had time to repeat anything.
    assert len(delivered()) == 1 and len(consumer_lines(project, user_id)) == 1

    api = run_cli("api", "GET", "/dynamo", f"user_id=={user_id}", cwd=project)
    assert api.returncode == 0 and json.loads(api.stdout)["name"] == "Ana"

    # status reports the API and the rule `up` recorded.
    status = run_cli("status", "--json", cwd=project)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    [api_report] = report["apis"]
    assert (api_report["name"], api_report["url"]) == ("users-api", api_url)
    [rule] = report["bus"]
    assert rule["rule"].endswith(":rule/users-bus/users-item-created") and rule["delivered"] >= 1


def test_a_second_up_changes_nothing_and_carries_the_url(project, api_url):
    before = stack_client(project, "apigatewayv2").get_apis()["Items"]
    result = run_cli("up", "--var-file", EXAMPLE, "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "drift" not in result.stderr and "creating" not in result.stderr
    resources = json.loads(result.stdout)["resources"]
    assert resources["api_url"] == api_url
    assert {k: resources[k] for k in ("api_function_name", "event_bus_name", "event_rule_name")} == {
        "api_function_name": "users_api",
        "event_bus_name": "users-bus",
        "event_rule_name": "users-item-created",
    }
    assert stack_client(project, "apigatewayv2").get_apis()["Items"] == before
    rules = stack_client(project, "events").list_rules(EventBusName="users-bus")["Rules"]
    assert [r["Name"] for r in rules] == ["users-item-created"]


def test_the_demo_tours_the_api_to_the_end(project, api_url):
    result = run_cli("demo", "--example", "crud-api", cwd=project, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    for answer in ("-> 201", "-> 409", "-> 400", "-> 404"):
        assert answer in result.stdout
    assert "event crud.api ItemCreated" in result.stdout
    assert "the consumer logged the INSERT of ada-" in result.stdout
    assert "http api users-api" in result.stdout and "healthy" in result.stdout


def test_an_unknown_example_is_one_line(project):
    result = run_cli("demo", "--example", "nope", cwd=project)
    assert result.returncode == 3 and result.stderr.strip() == "error: unknown example 'nope': use one of crud-api"
