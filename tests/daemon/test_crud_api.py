"""Seed 003 end to end: lambda/api/ (Powertools) behind the daemon's HTTP API, with real HTTP;
the table's stream and the EventBridge bus see exactly what each request wrote."""

from __future__ import annotations

import http.client
import io
import json
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from esm_support import InThreadDaemon, handler_zip

from ddbstream.daemon import daemon_get

API_DIR = Path(__file__).resolve().parents[2] / "lambda" / "api"
CREATED = {"source": ["crud.api"], "detail-type": ["ItemCreated"]}

PLAIN_HANDLER = """
import json
def handler(event, context):
    who = (event.get("queryStringParameters") or {}).get("user_id", "nobody")
    return {"statusCode": 200, "body": json.dumps({"hello": who})}
"""


def api_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in API_DIR.glob("*.py"):
            archive.write(path, path.name)
    return buffer.getvalue()


class Stack:
    """Table (with a stream), bus with a matching and a non-matching rule, function, HTTP API."""

    def __init__(self, daemon: InThreadDaemon):
        self.daemon = daemon
        suffix = uuid.uuid4().hex[:8]
        self.table = f"users-{suffix}"
        self.stream_arn = daemon.client("dynamodb").create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        self.bus = f"crud-{suffix}"
        daemon.client("events").create_event_bus(Name=self.bus)
        self.created_queue = self.rule("created", CREATED)
        self.deleted_queue = self.rule("deleted", {"source": ["crud.api"], "detail-type": ["ItemDeleted"]})
        environment = {"TABLE_NAME": self.table, "EVENT_BUS_NAME": self.bus}
        crud = self.function(f"crud-{suffix}", api_zip(), "app.lambda_handler", environment)
        plain = self.function(f"plain-{suffix}", handler_zip(PLAIN_HANDLER), "h.handler", {})
        self.url = self.http_api(f"crud-{suffix}", crud, {"GET /plain": plain})

    def rule(self, name: str, pattern: dict) -> str:
        url, arn = self.daemon.queue()
        events = self.daemon.client("events")
        events.put_rule(Name=name, EventBusName=self.bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, EventBusName=self.bus, Targets=[{"Id": "q", "Arn": arn}])
        return url

    def function(self, name: str, code: bytes, handler: str, environment: dict) -> str:
        lam = self.daemon.client("lambda")
        return lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.daemon.role,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=15,
            Environment={"Variables": environment},
        )["FunctionArn"]

    def http_api(self, name: str, crud_arn: str, extra_routes: dict[str, str]) -> str:
        gw = self.daemon.client("apigatewayv2")
        api_id = gw.create_api(Name=name, ProtocolType="HTTP")["ApiId"]

        def integration(arn: str) -> str:
            return gw.create_integration(
                ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
            )["IntegrationId"]

        crud = integration(crud_arn)
        for method in ("GET", "POST", "PATCH", "DELETE"):
            gw.create_route(ApiId=api_id, RouteKey=f"{method} /dynamo", Target=f"integrations/{crud}")
        for key, arn in extra_routes.items():
            gw.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration(arn)}")
        gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        apis = daemon_get(self.daemon.endpoint, "testing", "/_ddbstream/apis")["apis"]
        return next(a["url"] for a in apis if a["apiId"] == api_id)

    def call(self, method: str, path: str, body: bytes | dict | None = None) -> tuple[int, object]:
        """Real HTTP; returns (status, the body parsed as JSON)."""
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {"Content-Type": "application/json"} if data is not None else {}
        connection.request(method, address.path + path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        return response.status, json.loads(raw) if raw else None

    def stream_records(self) -> list[dict]:
        streams = self.daemon.client("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return streams.get_records(ShardIterator=iterator)["Records"]

    def queued(self, url: str) -> list[dict]:
        sqs = self.daemon.client("sqs")
        found = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found


@pytest.fixture(scope="module")
def stack():
    daemon = InThreadDaemon()
    yield Stack(daemon)
    daemon.stop()


def new_id() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def test_one_post_gives_201_one_bus_event_and_one_stream_record(stack):
    stack.queued(stack.created_queue)
    user = new_id()
    before = len(stack.stream_records())
    status, body = stack.call("POST", "/dynamo", {"user_id": user, "name": "Ana", "age": 41, "score": 9.5})
    assert (status, body) == (201, {"user_id": user, "name": "Ana", "age": 41, "score": 9.5})
    (event,) = stack.daemon.messages(stack.created_queue, 1)
    assert event["source"] == "crud.api" and event["detail-type"] == "ItemCreated"
    assert event["detail"] == {"user_id": user, "name": "Ana", "age": 41, "score": 9.5}
    records = stack.stream_records()[before:]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["user_id"]["S"]) for r in records] == [("INSERT", user)]
    assert stack.queued(stack.created_queue) == []  # exactly one
    assert stack.queued(stack.deleted_queue) == []  # the rule that does not match delivered nothing


def test_get_reads_the_item_and_404s_when_absent(stack):
    user = new_id()
    stack.call("POST", "/dynamo", {"user_id": user, "name": "Bo"})
    assert stack.call("GET", f"/dynamo?user_id={user}") == (200, {"user_id": user, "name": "Bo"})
    status, body = stack.call("GET", "/dynamo?user_id=nobody-here")
    assert status == 404 and "nobody-here" in body["message"]


def test_create_of_an_existing_id_is_409_and_puts_no_event(stack):
    user = new_id()
    assert stack.call("POST", "/dynamo", {"user_id": user, "name": "first"})[0] == 201
    stack.daemon.messages(stack.created_queue, 1)
    status, body = stack.call("POST", "/dynamo", {"user_id": user, "name": "second"})
    assert status == 409 and "already exists" in body["message"]
    assert stack.call("GET", f"/dynamo?user_id={user}")[1]["name"] == "first"
    assert stack.queued(stack.created_queue) == []


def test_patch_sets_one_attribute_and_404s_when_absent(stack):
    user = new_id()
    stack.call("POST", "/dynamo", {"user_id": user, "name": "Cy"})
    status, body = stack.call("PATCH", "/dynamo", {"user_id": user, "updatedKey": "name", "updatedValue": "Cyd"})
    assert (status, body) == (200, {"user_id": user, "name": "Cyd"})
    status, _ = stack.call("PATCH", "/dynamo", {"user_id": new_id(), "updatedKey": "name", "updatedValue": "x"})
    assert status == 404


def test_delete_removes_the_item_and_404s_when_absent(stack):
    user = new_id()
    stack.call("POST", "/dynamo", {"user_id": user, "name": "Di"})
    assert stack.call("DELETE", f"/dynamo?user_id={user}") == (200, {"user_id": user, "name": "Di"})
    assert stack.call("GET", f"/dynamo?user_id={user}")[0] == 404
    assert stack.call("DELETE", f"/dynamo?user_id={user}")[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("GET", "/dynamo", None, "user_id"),
        ("DELETE", "/dynamo", None, "user_id"),
        ("POST", "/dynamo", b"{not json", "not JSON"),
        ("POST", "/dynamo", b"[1, 2]", "JSON object"),
        ("POST", "/dynamo", {"name": "no key"}, "user_id"),
        ("PATCH", "/dynamo", b"nope", "not JSON"),
        ("PATCH", "/dynamo", {"updatedKey": "name", "updatedValue": "x"}, "user_id"),
        ("PATCH", "/dynamo", {"user_id": "a", "updatedValue": "x"}, "updatedKey"),
        ("PATCH", "/dynamo", {"user_id": "a", "updatedKey": "user_id", "updatedValue": "b"}, "must not be the key"),
        ("PATCH", "/dynamo", {"user_id": "a", "updatedKey": "name"}, "updatedValue"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(stack, method, path, body, problem):
    status, answer = stack.call(method, path, body)
    assert status == 400 and problem in answer["message"]


def test_bad_input_writes_nothing(stack):
    before = len(stack.stream_records())
    stack.call("POST", "/dynamo", {"name": "no key"})
    stack.call("PATCH", "/dynamo", {"user_id": "a", "updatedKey": "user_id", "updatedValue": "b"})
    assert len(stack.stream_records()) == before


def test_an_unknown_route_is_404(stack):
    assert stack.call("PUT", "/dynamo", {"user_id": "x"}) == (404, {"message": "Not Found"})


def test_a_plain_handler_works_too(stack):
    assert stack.call("GET", "/plain?user_id=zed") == (200, {"hello": "zed"})
