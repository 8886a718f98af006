"""The daemon as API Gateway (emulator/apigw/): an HTTP API made through moto's apigatewayv2 API
answers real HTTP on its loopback listener; the handler sees payload 2.0 events as API Gateway
builds them and its answers are mapped as API Gateway maps them."""

from __future__ import annotations

import base64
import http.client
import json
import re
import uuid
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from esm_support import InThreadDaemon, handler_zip, wait_until

from ddbstream.daemon import daemon_get

HANDLER = """
import base64, json, time

def handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode", "echo")
    if mode == "echo":
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
    if mode == "bare":
        return {"hello": "world"}
    if mode == "cookies":
        return {"statusCode": 201, "headers": {"x-one": 1}, "multiValueHeaders": {"x-many": ["a", "b"]},
                "cookies": ["a=1", "b=2; Path=/"], "body": "made"}
    if mode == "binary":
        return {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"\\x00\\xff").decode()}
    if mode == "fail":
        raise RuntimeError("boom")
    if mode == "malformed":
        return {"statusCode": "abc"}
    if mode == "slow":
        time.sleep(3)
    return {}
"""

# The payload 2.0 sample of "Create AWS Lambda proxy integrations for HTTP APIs" (API Gateway
# developer guide), without what only an authorizer, a client certificate or stage variables add.
DOC_SAMPLE = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1", "cookie2"],
    "headers": {"header1": "value1", "header2": "value1,value2"},
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from Lambda",
    "pathParameters": {"parameter1": "value1"},
    "isBase64Encoded": False,
}


def shape(value):
    """A JSON value's structure: the keys of objects (recursively) and the types of leaves."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


class Api:
    """An HTTP API in the daemon with the test handler behind every route."""

    def __init__(self, daemon, routes=("GET /dynamo",), cors=None, access_log_group=None):
        self.daemon = daemon
        gw = daemon.client("apigatewayv2")
        lam = daemon.client("lambda")
        name = f"api-{uuid.uuid4().hex[:8]}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=daemon.role,
            Handler="h.handler",
            Code={"ZipFile": handler_zip(HANDLER)},
            Timeout=10,
        )
        self.function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        extra = {"CorsConfiguration": cors} if cors else {}
        self.api_id = gw.create_api(Name=name, ProtocolType="HTTP", **extra)["ApiId"]
        main = self.integration()
        slow = self.integration(TimeoutInMillis=1000)
        for key in routes:
            gw.create_route(ApiId=self.api_id, RouteKey=key, Target=f"integrations/{main}")
        gw.create_route(ApiId=self.api_id, RouteKey="GET /slow", Target=f"integrations/{slow}")
        stage = {"StageName": "$default", "AutoDeploy": True}
        if access_log_group:
            arn = f"arn:aws:logs:us-east-1:{daemon.emulator.account}:log-group:{access_log_group}"
            stage["AccessLogSettings"] = {
                "DestinationArn": arn,
                "Format": "$context.requestId $context.httpMethod $context.routeKey $context.status $context.nothing",
            }
        gw.create_stage(ApiId=self.api_id, **stage)
        apis = daemon_get(daemon.endpoint, "testing", "/_ddbstream/apis")
        self.url = next(a["url"] for a in apis["apis"] if a["apiId"] == self.api_id)

    def integration(self, **extra) -> str:
        return self.daemon.client("apigatewayv2").create_integration(
            ApiId=self.api_id,
            IntegrationType="AWS_PROXY",
            IntegrationUri=self.function_arn,
            PayloadFormatVersion="2.0",
            **extra,
        )["IntegrationId"]

    def request(self, method, path, body=None, headers=(), host=None, api_path=True):
        """Real HTTP to the listener; returns (status, headers as (name, value) pairs, body bytes)."""
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        target = (address.path if api_path else "") + path
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or address.netloc)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, response.getheaders(), data

    def event(self, method="GET", path="/dynamo?mode=echo", **kwargs) -> dict:
        status, _, data = self.request(method, path, **kwargs)
        assert status == 200, data
        return json.loads(data)


@pytest.fixture(scope="module")
def api(daemon):
    routes = ("GET /dynamo", "POST /my/path", "GET /items/{id}", "ANY /files/{proxy+}")
    return Api(daemon, routes, access_log_group=f"/aws/apigw/{uuid.uuid4().hex[:8]}")


def test_the_event_has_the_fields_and_shape_of_the_documented_sample(api):
    headers = [("header1", "value1"), ("header2", "value1"), ("header2", "value2"), ("Cookie", "cookie1; cookie2")]
    headers.append(("Content-Type", "text/plain"))
    query = "parameter1=value1&parameter1=value2&parameter2=value&mode=echo"
    event = api.event("POST", f"/my/path?{query}", body=b"Hello from Lambda", headers=headers)
    expected = shape(DOC_SAMPLE)
    del expected["pathParameters"]  # the route has no path variables: API Gateway leaves the field out
    got = shape(event)
    assert {k: v for k, v in got.items() if k not in ("headers", "queryStringParameters")} == {
        k: v for k, v in expected.items() if k not in ("headers", "queryStringParameters")
    }
    assert event["routeKey"] == "POST /my/path" == event["requestContext"]["routeKey"]
    assert event["rawPath"] == "/my/path" == event["requestContext"]["http"]["path"]
    assert event["rawQueryString"] == query
    assert event["cookies"] == ["cookie1", "cookie2"]
    assert event["headers"]["header1"] == "value1" and event["headers"]["header2"] == "value1,value2"
    assert "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value", "mode": "echo"}
    assert event["body"] == "Hello from Lambda" and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["apiId"] == api.api_id and context["accountId"] == api.daemon.emulator.account
    assert context["stage"] == "$default" and context["http"]["method"] == "POST"
    assert context["http"]["sourceIp"] == "127.0.0.1" and context["http"]["protocol"] == "HTTP/1.1"
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert isinstance(context["timeEpoch"], int) and len(context["requestId"]) == 16


def test_header_names_are_lower_cased(api):
    event = api.event(headers=[("X-Custom-Thing", "A")])
    assert event["headers"]["x-custom-thing"] == "A"
    assert all(name == name.lower() for name in event["headers"])


def test_path_parameters_and_greedy_paths(api):
    assert api.event(path="/items/42?mode=echo")["pathParameters"] == {"id": "42"}
    event = api.event("DELETE", "/files/a/b/c.txt?mode=echo")
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"} and event["routeKey"] == "ANY /files/{proxy+}"


def test_a_binary_body_is_base64_encoded(api):
    event = api.event(
        "POST", "/my/path?mode=echo", body=b"\x00\xffbin", headers=[("Content-Type", "application/octet-stream")]
    )
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xffbin"


def test_a_bare_object_is_a_200_json_response(api):
    status, headers, body = api.request("GET", "/dynamo?mode=bare")
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert dict((k.lower(), v) for k, v in headers)["content-type"] == "application/json"


def test_status_headers_multi_value_headers_and_cookies_are_mapped(api):
    status, headers, body = api.request("GET", "/dynamo?mode=cookies")
    assert status == 201 and body == b"made"
    lowered = [(k.lower(), v) for k, v in headers]
    assert ("x-one", "1") in lowered
    assert [v for k, v in lowered if k == "x-many"] == ["a", "b"]
    assert [v for k, v in lowered if k == "set-cookie"] == ["a=1", "b=2; Path=/"]
    assert any(k == "apigw-requestid" for k, _ in lowered)


def test_a_base64_response_is_decoded(api):
    status, _, body = api.request("GET", "/dynamo?mode=binary")
    assert status == 200 and body == b"\x00\xff"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/dynamo?mode=fail", 500, "Internal Server Error"),
        ("/dynamo?mode=malformed", 502, "Internal Server Error"),
        ("/slow?mode=slow", 503, "Service Unavailable"),
        ("/nowhere", 404, "Not Found"),
        ("/dynamo/extra", 404, "Not Found"),
    ],
)
def test_errors_answer_as_api_gateway_does(api, path, status, message):
    got, _, body = api.request("GET", path)
    assert (got, json.loads(body)) == (status, {"message": message})


def test_an_unknown_api_is_not_found(api):
    status, _, body = api.request("GET", "/nosuchapi/dynamo", api_path=False)
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_no_secret_is_needed_but_the_host_must_be_loopback(api):
    port = urlsplit(api.url).port
    assert api.request("GET", "/dynamo?mode=bare", host=f"localhost:{port}")[0] == 200
    status, _, body = api.request("GET", "/dynamo?mode=bare", host=f"attacker.example:{port}")
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})


def test_a_foreign_origin_is_refused_without_cors(api):
    status, _, _ = api.request("GET", "/dynamo?mode=bare", headers=[("Origin", "https://evil.example")])
    assert status == 403


def test_cors_configuration_allows_its_origins(daemon):
    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 300}
    api = Api(daemon, cors=cors)
    status, headers, _ = api.request("GET", "/dynamo?mode=bare", headers=[("Origin", "https://app.example")])
    assert status == 200 and ("access-control-allow-origin", "https://app.example") in [
        (k.lower(), v) for k, v in headers
    ]
    preflight = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]
    status, headers, _ = api.request("OPTIONS", "/dynamo", headers=preflight)
    lowered = dict((k.lower(), v) for k, v in headers)
    assert status == 204 and lowered["access-control-allow-methods"] == "GET,POST"
    assert lowered["access-control-max-age"] == "300"
    assert api.request("GET", "/dynamo", headers=[("Origin", "https://evil.example")])[0] == 403


def test_access_log_lines_go_to_the_stage_log_group(api):
    status, headers, _ = api.request("GET", "/dynamo?mode=bare")
    rid = dict((k.lower(), v) for k, v in headers)["apigw-requestid"]
    group = api.daemon.client("apigatewayv2").get_stage(ApiId=api.api_id, StageName="$default")
    group_name = group["AccessLogSettings"]["DestinationArn"].split(":log-group:")[1]

    def line():
        try:
            found = api.daemon.client("logs").filter_log_events(logGroupName=group_name)["events"]
        except ClientError:
            return None
        return next((e["message"] for e in found if e["message"].startswith(rid)), None)

    assert wait_until(line, message="the access log line") == f"{rid} GET GET /dynamo 200 -"


def test_the_daemon_lists_the_api_with_its_routes_and_last_5xx(api):
    api.request("GET", "/dynamo?mode=fail")
    listed = daemon_get(api.daemon.endpoint, "testing", "/_ddbstream/apis")
    mine = next(a for a in listed["apis"] if a["apiId"] == api.api_id)
    assert mine["url"] == f"{listed['base_url']}/{api.api_id}"
    assert "GET /dynamo" in mine["routes"] and mine["requests"] >= 1
    assert mine["last_5xx"]["status"] == 500 and mine["last_5xx"]["route"] == "GET /dynamo"


def test_an_api_answers_again_after_a_restart(tmp_path):
    from ddbstream.clients import local_client
    from ddbstream.daemon import start_daemon, stop_daemon

    def call(started, api_id: str) -> tuple[int, dict]:
        apis = daemon_get(started.endpoint, started.secret, "/_ddbstream/apis")["apis"]
        address = urlsplit(next(a["url"] for a in apis if a["apiId"] == api_id))
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        connection.request("GET", f"{address.path}/dynamo?mode=bare")
        response = connection.getresponse()
        return response.status, json.loads(response.read())

    started = start_daemon(tmp_path, "us-east-1")
    try:
        client = lambda service: local_client(service, started.endpoint, "us-east-1", started.secret)  # noqa: E731
        role = client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn = client("lambda").create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role,
            Handler="h.handler",
            Code={"ZipFile": handler_zip(HANDLER)},
        )["FunctionArn"]
        gw = client("apigatewayv2")
        api_id = gw.create_api(Name="kept", ProtocolType="HTTP")["ApiId"]
        integration = gw.create_integration(
            ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
        )["IntegrationId"]
        gw.create_route(ApiId=api_id, RouteKey="GET /dynamo", Target=f"integrations/{integration}")
        gw.create_stage(ApiId=api_id, StageName="$default")
        assert call(started, api_id) == (200, {"hello": "world"})
    finally:
        stop_daemon(started, tmp_path)
    again = start_daemon(tmp_path, "us-east-1")
    try:
        assert call(again, api_id) == (200, {"hello": "world"})
    finally:
        stop_daemon(again, tmp_path)
