"""The lean local DynamoDB client sends what botocore sends and answers as botocore answers.

Each test puts botocore's client (clients.local_client, as the item commands used it) and
LocalDynamoDB side by side against the same stub server: the same request on the wire, the
same parsed answer, the same exception with the same message, the same retries.
"""

from __future__ import annotations

import datetime
import http.server
import json
import socket
import threading
import time
from binascii import crc32
from collections.abc import Iterator
from typing import Any

import pytest

from ddbstream import clients, local_dynamodb
from ddbstream.errors import AwsError, ExitCode
from ddbstream.local_dynamodb import LocalDynamoDB, sign
from ddbstream.stack_secret import SECRET_ACCESS_KEY
from ddbstream.table import ItemStore

REQUEST_ID = "R3QU35T"


class Stub:
    """A loopback HTTP server answering each POST with the next canned (status, body, headers)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, bytes, dict[str, str]]] = []
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.requests.append((self.path, dict(self.headers.items()), body))
                status, payload, headers = stub.answers.pop(0) if stub.answers else (200, b"{}", {})
                self.send_response(status)
                for name, value in {"x-amzn-RequestId": REQUEST_ID, **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

            def version_string(self) -> str:
                return "stub"

            def date_time_string(self, timestamp: float | None = None) -> str:
                return "Sun, 29 Nov 2026 00:00:00 GMT"  # the same headers for both clients

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def answer(self, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> None:
        for status, body, *headers in answers:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.answers.append((status, payload, headers[0] if headers else {}))


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Backoff delays asked of time.sleep by either client (none is slept)."""
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


def both(endpoint: str) -> tuple[Any, LocalDynamoDB]:
    clients._session.cache_clear()
    return clients.local_client("dynamodb", endpoint, "eu-west-1", "SECRET"), LocalDynamoDB(
        endpoint, "eu-west-1", "SECRET", SECRET_ACCESS_KEY
    )


def outcome(call: Any, **params: Any) -> tuple[str, Any]:
    """What call(**params) gave: ("ok", answer) or ("error", (exception class name, message, response))."""
    try:
        return "ok", call(**params)
    except Exception as exc:  # noqa: BLE001 - the exception itself is what is compared
        return "error", (type(exc).__name__, str(exc), getattr(exc, "response", None))


ITEM = {
    "k": {"S": "é\u2603"},
    "blob": {"B": b"\x00\xff"},
    "blobs": {"BS": [b"a", b"b"]},
    "nested": {"M": {"list": {"L": [{"B": b"q"}, {"N": "1.50"}, {"NULL": True}, {"BOOL": False}]}}},
    "set": {"SS": ["x", "y"]},
}
WIRE_ITEM = {
    "k": {"S": "é\u2603"},
    "blob": {"B": "AP8="},
    "blobs": {"BS": ["YQ==", "Yg=="]},
    "nested": {"M": {"list": {"L": [{"B": "cQ=="}, {"N": "1.50"}, {"NULL": True}, {"BOOL": False}]}}},
    "set": {"SS": ["x", "y"]},
}


def test_the_signature_is_botocores(monkeypatch):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b'{"TableName": "t", "Key": {"k": {"S": "x"}}}'
    headers = {"X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/x-amz-json-1.0"}
    now = datetime.datetime(2026, 11, 29, 23, 5, 7)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: now)
    request = AWSRequest(method="POST", url="http://127.0.0.1:4566/", data=body, headers=dict(headers))
    SigV4Auth(Credentials("SECRET", SECRET_ACCESS_KEY), "dynamodb", "eu-west-1").add_auth(request)
    ours = sign("eu-west-1", "SECRET", SECRET_ACCESS_KEY, "127.0.0.1:4566", headers, body, now.timetuple())
    assert ours == {"X-Amz-Date": "20261129T230507Z", "Authorization": request.headers["Authorization"]}


def test_the_request_is_botocores(stub, monkeypatch):
    botocore_client, lean = both(stub.endpoint)
    params = {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(#k)"}
    params["ExpressionAttributeNames"] = {"#k": "k"}
    botocore_client.put_item(**params)
    lean.put_item(**params)
    (path_a, theirs, body_a), (path_b, ours, body_b) = stub.requests
    assert path_a == path_b == "/"
    assert body_a == body_b and json.loads(body_b)["Item"] == WIRE_ITEM
    for name in ("Host", "Content-Type", "X-Amz-Target", "Content-Length", "Accept-Encoding"):
        assert ours[name] == theirs[name], name
    assert ours["amz-sdk-request"] == theirs["amz-sdk-request"] == "attempt=1; max=3"
    # Same credential, scope and signed headers; the signature is over each one's own X-Amz-Date.
    assert ours["Authorization"].split("Signature=")[0] == theirs["Authorization"].split("Signature=")[0]
    for headers, body in ((theirs, body_a), (ours, body_b)):
        stamp = time.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        expected = sign("eu-west-1", "SECRET", SECRET_ACCESS_KEY, headers["Host"], headers, body, stamp)
        assert headers["Authorization"] == expected["Authorization"]


def _crc(body: Any) -> dict[str, str]:
    return {"x-amz-crc32": str(crc32(json.dumps(body).encode()) & 0xFFFFFFFF)}


GET = ("get_item", {"TableName": "t", "Key": {"k": {"S": "x"}}})
SCAN = ("scan", {"TableName": "t"})
ANSWERS = {
    "item with binary values": (GET, 200, {"Item": WIRE_ITEM}),
    "no item": (GET, 200, {}),
    "empty body": (GET, 200, b""),
    "scan page": (
        SCAN,
        200,
        {"Items": [WIRE_ITEM, {"k": {"S": "2"}}], "Count": 2, "LastEvaluatedKey": {"k": {"B": "AQ=="}}},
    ),
    "with crc32": (GET, 200, {"Item": {"k": {"S": "x"}}}, _crc({"Item": {"k": {"S": "x"}}})),
    "condition failed, old item": (
        GET,
        400,
        {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "Item": WIRE_ITEM},
    ),
    "not found": (
        GET,
        400,
        {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "gone"},
    ),
    "validation": (GET, 400, {"__type": "com.amazon.coral.validate#ValidationException", "message": "bad key"}),
    "unmodeled, Message": (GET, 403, {"__type": "UnrecognizedClientException", "Message": "The security token..."}),
    "no type": (GET, 400, {"message": "what"}),
    "not json": (GET, 400, b"<oops/>"),
    "html 5xx": (GET, 500, b"<html><body>down</body></html>"),
    "type with a colon": (SCAN, 400, {"__type": "ThrottlingDetail:http://internal", "message": "slow"}),
}


@pytest.mark.parametrize("case", ANSWERS.values(), ids=ANSWERS.keys())
def test_answers_and_errors_are_botocores(stub, sleeps, case):
    (operation, params), *answer = case
    botocore_client, lean = both(stub.endpoint)
    results = []
    for client in (botocore_client, lean):
        stub.answer(*[tuple(answer)] * 3)  # enough for every retry a transient error gets
        results.append(outcome(getattr(client, operation), **params))
        stub.answers.clear()
    assert results[1] == results[0]


def test_throttling_is_retried_as_botocore_retries_it(stub, sleeps, monkeypatch):
    """Two retries, backing off up to 1 s then 2 s; the last refusal names the retries."""
    botocore_client, lean = both(stub.endpoint)
    throttled = (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow down"})
    for client in (botocore_client, lean):
        stub.answer(throttled, (200, {"Item": {"k": {"S": "x"}}}))
        assert outcome(client.get_item, **GET[1])[1]["Item"] == {"k": {"S": "x"}}
    assert len(stub.requests) == 4 and len(sleeps) == 2 and all(0 <= delay <= 1 for delay in sleeps)

    monkeypatch.setattr(local_dynamodb.random, "random", lambda: 1.0)  # the largest delays
    del sleeps[:]
    stub.answer(throttled, throttled, throttled)
    kind, (name, message, _) = outcome(lean.get_item, **GET[1])
    assert kind == "error" and name == "ThrottlingException"
    assert (
        message
        == "An error occurred (ThrottlingException) when calling the GetItem operation (reached max retries: 2): slow down"
    )
    assert sleeps == [1.0, 2.0]


def test_transient_errors_and_bad_checksums_are_retried_briefly(stub, sleeps, monkeypatch):
    monkeypatch.setattr(local_dynamodb.random, "random", lambda: 1.0)
    _, lean = both(stub.endpoint)
    good = {"Item": {"k": {"S": "x"}}}
    stub.answer((503, b""), (200, good, {"x-amz-crc32": "1"}), (200, good, _crc(good)))
    answer = lean.get_item(TableName="t", Key={"k": {"S": "x"}})
    assert answer["Item"] == good["Item"] and answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert sleeps == [0.025, 0.05]
    stub.answer((400, {"__type": "ValidationException", "message": "no"}))
    with pytest.raises(Exception, match="ValidationException"):
        lean.get_item(TableName="t", Key={"k": {"S": "x"}})
    assert len(stub.requests) == 4  # a refusal is not retried


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_daemon_is_botocores_connection_error(sleeps):
    botocore_client, lean = both(f"http://127.0.0.1:{_closed_port()}")
    theirs = outcome(botocore_client.get_item, **GET[1])
    ours = outcome(lean.get_item, **GET[1])
    assert ours[:2] == theirs[:2] and ours[1][0] == "EndpointConnectionError"
    assert len(sleeps) == 4  # two retries each
    with pytest.raises(AwsError) as error:  # what `put` prints, exit 8, as with botocore's client
        ItemStore(lean, "t", [("k", "S")]).put({"k": {"S": "x"}})
    assert error.value.message == f"put_item failed: {theirs[1][1]}" and error.value.exit_code == ExitCode.AWS


@pytest.mark.parametrize("behaviour", ["close", "silence"])
def test_a_daemon_that_drops_or_stalls_the_request(sleeps, behaviour):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        accepted: list[socket.socket] = []

        def serve() -> None:
            while len(accepted) < 3:
                connection, _ = listener.accept()
                connection.recv(65536)
                accepted.append(connection)
                if behaviour == "close":
                    connection.close()

        threading.Thread(target=serve, daemon=True).start()
        lean = LocalDynamoDB(f"http://127.0.0.1:{port}", "us-east-1", "SECRET", SECRET_ACCESS_KEY, read_timeout=0.2)
        kind, (name, message, _) = outcome(lean.get_item, **GET[1])
        for connection in accepted:
            connection.close()
    url = f'"http://127.0.0.1:{port}/"'
    if behaviour == "close":
        assert (name, message) == (
            "ConnectionClosedError",
            f"Connection was closed before we received a valid response from endpoint URL: {url}.",
        )
    else:
        assert (name, message) == ("ReadTimeoutError", f"Read timeout on endpoint URL: {url}")
    assert len(accepted) == 3


def test_only_http_endpoints():
    with pytest.raises(ValueError, match="not an http endpoint"):
        LocalDynamoDB("https://127.0.0.1:1", "us-east-1", "SECRET", SECRET_ACCESS_KEY)
    assert type(clients.local_table_client("https://127.0.0.1:1", "us-east-1", "SECRET")).__name__ == "DynamoDB"
    assert isinstance(clients.local_table_client("http://127.0.0.1:1", "us-east-1", "SECRET"), LocalDynamoDB)
