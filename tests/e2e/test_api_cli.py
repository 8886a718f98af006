"""`ddbstream api` (httpie-style requests to the stack's HTTP API) and `ddbstream tail --bus`,
run through the real CLI against a local stack."""

from __future__ import annotations

import json

import pytest
from esm_support import handler_zip
from support import run_cli, stack_client, stack_state

from ddbstream.errors import InvalidInput
from ddbstream.http_api import build_request

ECHO = """
import json
def handler(event, context):
    if event["rawPath"] == "/text":
        return {"statusCode": 418, "headers": {"x-tea": "pot"}, "body": "short and stout\\x1b[2J"}
    return {"statusCode": 200, "body": json.dumps({
        "method": event["requestContext"]["http"]["method"],
        "query": event.get("queryStringParameters"),
        "header": event["headers"].get("x-mine"),
        "body": json.loads(event["body"]) if event.get("body") else None,
    })}
"""


def test_items_are_parsed_as_httpie_parses_them(tmp_path):
    request = build_request("post", "/dynamo", ["user_id=u1", "age:=41", "tags:=[1,2]", "page==2", "X-Mine:yes"])
    assert (request.method, request.path) == ("POST", "/dynamo")
    assert json.loads(request.body) == {"user_id": "u1", "age": 41, "tags": [1, 2]}
    assert request.query == [("page", "2")]
    assert ("X-Mine", "yes") in request.headers and ("Content-Type", "application/json") in request.headers
    body = tmp_path / "b.json"
    body.write_text('{"a": 1}')
    assert build_request("PUT", "/x", [f"@{body}"]).body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("method", "path", "items", "message"),
    [
        ("FETCH", "/x", [], "unknown method"),
        ("GET", "x", [], "must start with '/'"),
        ("GET", "/x", ["bare"], "is not name=value"),
        ("POST", "/x", ["n:={bad"], "not JSON"),
        ("POST", "/x", ["@/nonexistent/file.json"], "cannot read"),
    ],
)
def test_bad_request_items_are_refused(method, path, items, message):
    with pytest.raises(InvalidInput, match=message):
        build_request(method, path, items)


@pytest.fixture(scope="module")
def api_stack(tmp_path_factory):
    from support import make_project

    project = make_project(tmp_path_factory.mktemp("api") / "project")
    result = run_cli("up", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    lam, gw = stack_client(project, "lambda"), stack_client(project, "apigatewayv2")
    role = stack_client(project, "iam").create_role(RoleName="api-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = lam.create_function(
        FunctionName="echo", Runtime="python3.12", Role=role, Handler="h.handler", Code={"ZipFile": handler_zip(ECHO)}
    )["FunctionArn"]
    api_id = gw.create_api(Name="echo", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    gw.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration}")
    gw.create_stage(ApiId=api_id, StageName="$default")
    yield project
    if (project / ".ddbstream" / "state.json").exists():
        run_cli("down", cwd=project)


def test_api_sends_fields_query_and_headers_and_prints_the_json_body(api_stack):
    result = run_cli("api", "POST", "/dynamo", "user_id=u1", "age:=41", "page==2", "X-Mine:yes", cwd=api_stack)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "method": "POST",
        "query": {"page": "2"},
        "header": "yes",
        "body": {"user_id": "u1", "age": 41},
    }
    assert result.stderr.startswith("HTTP 200 OK")


def test_api_prints_headers_on_request_and_text_bodies_as_they_came(api_stack):
    result = run_cli("api", "GET", "/text", "--headers", cwd=api_stack)
    assert result.returncode == 0, result.stderr
    assert "HTTP 418" in result.stderr and "x-tea: pot" in result.stderr
    assert result.stdout == "short and stout\x1b[2J"  # piped: the bytes as sent


def test_api_bad_input_is_one_line_and_no_traceback(api_stack):
    result = run_cli("api", "FETCH", "/x", cwd=api_stack)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "unknown method" in result.stderr
    result = run_cli("api", "GET", "/x", "--api", "nosuch", cwd=api_stack)
    assert result.returncode != 0 and "no HTTP API 'nosuch'" in result.stderr


def test_tail_bus_lists_what_the_bus_delivered(api_stack):
    sqs, events = stack_client(api_stack, "sqs"), stack_client(api_stack, "events")
    url = sqs.create_queue(QueueName="bus-tail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="crud")
    events.put_rule(Name="created", EventBusName="crud", EventPattern='{"source": ["crud.api"]}')
    events.put_targets(Rule="created", EventBusName="crud", Targets=[{"Id": "q", "Arn": queue_arn}])
    detail = json.dumps({"user_id": "\x1b]0;owned\x07u7"})
    events.put_events(
        Entries=[{"EventBusName": "crud", "Source": "crud.api", "DetailType": "Created", "Detail": detail}]
    )
    result = run_cli("tail", "--bus", "--since", "5m", cwd=api_stack)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "created -> bus-tail" in line]
    assert "delivered: crud.api Created" in line and "\x1b" not in line
    as_json = run_cli("tail", "--bus", "--since", "5m", "--format", "json", cwd=api_stack)
    (delivery,) = [json.loads(x) for x in as_json.stdout.splitlines() if '"bus-tail"' in x or "bus-tail" in x]
    assert delivery["ok"] is True and delivery["event"]["detail"] == json.loads(detail)
    assert stack_state(api_stack)["endpoint"]


def test_status_shows_the_api_and_the_bus_rules(api_stack):
    events = stack_client(api_stack, "events")
    events.create_event_bus(Name="status-bus")
    gone = "arn:aws:sqs:us-east-1:123456789012:no-such-queue"
    events.put_rule(Name="broken", EventBusName="status-bus", EventPattern='{"source": ["s"]}')
    events.put_targets(Rule="broken", EventBusName="status-bus", Targets=[{"Id": "q", "Arn": gone}])
    entry = {"EventBusName": "status-bus", "Source": "s", "DetailType": "d", "Detail": "{}"}
    events.put_events(Entries=[entry])
    run_cli("api", "GET", "/anything", cwd=api_stack)
    result = run_cli("status", "--json", cwd=api_stack)
    report = json.loads(result.stdout)
    (api,) = [a for a in report["apis"] if a["name"] == "echo"]
    assert api["routes"] == ["$default"] and api["requests"] >= 1 and api["url"].startswith("http://127.0.0.1:")
    (rule,) = [r for r in report["bus"] if r["rule"].endswith("rule/status-bus/broken")]
    assert (rule["matched"], rule["delivered"], rule["failed"]) == (1, 0, 1)
    assert any(p.startswith("bus rule ") and "1 failed deliveries" in p for p in report["problems"])
    shown = run_cli("status", cwd=api_stack)
    assert "http api echo" in shown.stdout and "1 matched, 0 delivered, 1 failed" in shown.stdout
