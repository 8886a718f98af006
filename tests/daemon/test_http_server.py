"""The daemon's HTTP/1.1 server (emulator/http_server.py) and its dispatch to moto (emulator/dispatch.py):
persistent connections, request bodies by length or chunked, streamed answers, the stop, and
answers the same as moto's own dispatcher gives."""

from __future__ import annotations

import http.client
import io
import json
import socket
import uuid

import pytest
from flask import Response as FlaskResponse
from moto.core.request import normalize_request
from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Response

from ddbstream.daemon import start_daemon, stop_daemon
from ddbstream.emulator.dispatch import _answer, _raw_url
from ddbstream.emulator.http import request_body
from ddbstream.emulator.server import DaemonServer, Emulator

SECRET = "testing"


def signed(service: str, target: str | None = None, secret: str = SECRET) -> dict[str, str]:
    """Headers of a request signed with the stack secret (moto checks no signature; the guard checks the key)."""
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={secret}/20260101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0",
        "Content-Type": "application/x-amz-json-1.0",
    }
    if target:
        headers["X-Amz-Target"] = target
    return headers


def streamed(request, match):
    return Response((f"part {n}\n".encode() for n in range(3)), mimetype="text/plain")


def echoed_headers(request, match):
    return Response(json.dumps({k: v for k, v in request.environ.items() if k.startswith("HTTP_X")}))


@pytest.fixture(scope="module")
def server():
    emulator = Emulator(secret=SECRET)
    emulator.add_route("GET", r"/_ddbstream/test-stream", streamed)
    emulator.add_route("GET", r"/_ddbstream/test-headers", echoed_headers)
    served = DaemonServer(emulator)
    served.start_in_thread()
    yield served
    served.stop()


def connect(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def dynamodb(connection, operation: str, params: dict, body: bytes | None = None, **headers) -> tuple[int, dict]:
    payload = json.dumps(params).encode() if body is None else body
    connection.request("POST", "/", payload, {**signed("dynamodb", f"DynamoDB_20120810.{operation}"), **headers})
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def test_one_connection_carries_many_requests(server):
    connection = connect(server)
    status, _ = dynamodb(connection, "ListTables", {})
    assert status == 200
    first = connection.sock
    assert first is not None  # werkzeug's development server closed it after each answer
    for _ in range(5):
        assert dynamodb(connection, "ListTables", {})[0] == 200
        assert connection.sock is first


def create_table_chunked(port: int, secret: str = SECRET) -> tuple[socket.socket, http.client.HTTPResponse, str]:
    """A CreateTable whose body is sent in two chunks (Transfer-Encoding: chunked); its answer read."""
    table = f"t-{uuid.uuid4().hex[:8]}"
    params = {
        "TableName": table,
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    body = json.dumps(params).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "".join(f"{k}: {v}\r\n" for k, v in signed("dynamodb", "DynamoDB_20120810.CreateTable", secret).items())
    sock.sendall(
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode() + chunks
    )
    response = http.client.HTTPResponse(sock, method="POST")
    response.begin()
    return sock, response, table


def test_a_chunked_request_body_is_read_whole_and_the_next_request_follows(server):
    sock, response, table = create_table_chunked(server.port)
    with sock:
        assert response.status == 200, response.read()
        assert json.loads(response.read())["TableDescription"]["TableName"] == table
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        connection.sock = sock
        assert dynamodb(connection, "DescribeTable", {"TableName": table})[0] == 200  # same socket


def test_a_chunked_write_reaches_moto_through_the_durable_store(tmp_path):
    # The journal reads the body before moto; werkzeug then read none while the request still said "chunked".
    started = start_daemon(tmp_path / "daemon", "us-east-1")
    try:
        sock, response, table = create_table_chunked(int(started.endpoint.rpartition(":")[2]), started.secret)
        with sock:
            assert response.status == 200, response.read()
            assert json.loads(response.read())["TableDescription"]["TableName"] == table
    finally:
        stop_daemon(started, tmp_path / "daemon")


def test_a_streamed_answer_is_chunked_and_keeps_the_connection(server):
    connection = connect(server)
    connection.request("GET", "/_ddbstream/test-stream", headers=signed("lambda"))
    response = connection.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read() == b"part 0\npart 1\npart 2\n"
    assert dynamodb(connection, "ListTables", {})[0] == 200


def test_expect_100_continue_is_answered_before_the_body(server):
    body = b"{}"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in signed("dynamodb", "DynamoDB_20120810.ListTables").items())
        sock.sendall(
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: {len(body)}\r\n"
            f"Expect: 100-continue\r\n{head}\r\n".encode()
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(body)
        response = http.client.HTTPResponse(sock, method="POST")
        response.begin()
        assert response.status == 200 and "TableNames" in json.loads(response.read())


def test_the_guard_still_refuses_a_foreign_host_and_an_absolute_uri_naming_one(server):
    connection = connect(server)
    connection.request("POST", "/", b"{}", {**signed("dynamodb", "DynamoDB_20120810.ListTables"), "Host": "evil.test"})
    assert connection.getresponse().status == 403
    connection = connect(server)
    connection.request("POST", "http://evil.test/", b"{}", signed("dynamodb", "DynamoDB_20120810.ListTables"))
    assert connection.getresponse().status == 403
    connection.close()
    connection = connect(server)
    headers = signed("dynamodb", "DynamoDB_20120810.ListTables")
    headers["Authorization"] = headers["Authorization"].replace(SECRET, "someone-else")
    connection.request("POST", "/", b"{}", headers)
    response = connection.getresponse()
    assert response.status == 403 and b"UnrecognizedClientException" in response.read()
    assert dynamodb(connection, "ListTables", {})[0] == 200  # a refusal keeps the connection usable


@pytest.mark.parametrize("host", ["127.0.0.1:4566", "LOCALHOST:9", "[::1]:1234", "127.0.0.1:80"])
@pytest.mark.parametrize("query", ["", "a=b%20c"])
def test_the_direct_dispatch_gives_moto_the_url_moto_would_build(host, query):
    environ = EnvironBuilder(path="/", method="POST", headers={"Host": host}, query_string=query).get_environ()
    request = normalize_request(BackendRequest(environ))
    assert _raw_url(request, environ) == request.raw_url


@pytest.mark.parametrize(
    ("status", "headers", "content"),
    [
        (200, {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": 7}, "{}"),
        (400, {"X-Amzn-ErrorType": "ValidationException", "status": "400"}, b'{"m": "\xc3\xa9"}'),
        (500, {}, "caf\u00e9"),
        (200, {"Location": "/x"}, "moved"),  # answers Flask adjusts go through Flask's Response
        (204, {}, ""),
    ],
)
def test_a_direct_answer_is_the_one_flasks_response_sends(status, headers, content):
    def sent(answer):
        started = []
        body = b"".join(answer(lambda status, headers, exc_info=None: started.append((status, sorted(headers)))))
        return started, body

    environ = EnvironBuilder(path="/", method="POST", headers={"Host": "127.0.0.1:4566"}).get_environ()
    ours = sent(lambda start: _answer(lambda *_: (status, dict(headers), content), environ, start))
    flasks = sent(lambda start: FlaskResponse(response=content, status=status, headers=dict(headers))(environ, start))
    assert ours == flasks


@pytest.mark.parametrize("buffered", [True, False])
def test_a_request_body_is_read_for_the_journal_and_left_for_moto(buffered):
    environ = EnvironBuilder(path="/", method="POST", data=b'{"TableName": "t"}').get_environ()
    if not buffered:  # a stream that is not the server's buffer is read once and replaced
        environ["wsgi.input"] = io.BufferedReader(io.BytesIO(b'{"TableName": "t"}'))  # type: ignore[arg-type]
    assert request_body(environ) == request_body(environ) == b'{"TableName": "t"}'
    assert environ["wsgi.input"].read() == b'{"TableName": "t"}'


def raw_exchange(server, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request`` on a new connection; the answer's head and whatever follows until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def test_header_lines_reach_the_application_as_werkzeug_parsed_them(server):
    lines = [
        "GET /_ddbstream/test-headers HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Authorization: {signed('dynamodb')['Authorization']}",
        "x-repeated: one",
        "X-Repeated: two",
        "X-Folded: first",
        "  second",
        "X-Spaced:   padded  ",
        "X-Amz-Meta-Under_Score: kept",
        "Connection: close",
    ]
    head, body = raw_exchange(server, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body) == {
        "HTTP_X_REPEATED": "one,two",
        "HTTP_X_FOLDED": "first second",
        "HTTP_X_SPACED": "padded",
        "HTTP_X_AMZ_META_UNDER_SCORE": "kept",  # moto's handler keeps underscored names (S3 metadata)
    }


@pytest.mark.parametrize(
    ("header_lines", "status"),
    [(["no colon here"], b"400"), ([": no name"], b"400"), ([f"X-H{n}: v" for n in range(101)], b"431")],
)
def test_bad_header_lines_are_refused_and_end_the_connection(server, header_lines, status):
    request = "\r\n".join(["GET /_ddbstream/health HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *header_lines])
    head, _ = raw_exchange(server, (request + "\r\n\r\n").encode())  # returns: the server closed it
    assert head.split(b" ")[1] == status


def test_an_http_1_0_request_closes_the_connection_unless_kept_alive(server):
    authorization = signed("dynamodb")["Authorization"]
    request = f"GET /_ddbstream/test-headers HTTP/1.0\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: {authorization}\r\n\r\n"
    head, body = raw_exchange(server, request.encode())
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body) == {}
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        request = request.replace("\r\n\r\n", "\r\nConnection: keep-alive\r\n\r\n")
        for _ in range(2):  # the same connection answers twice
            sock.sendall(request.encode())
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200"), answer


def test_a_stopping_server_takes_no_new_request_on_an_open_connection():
    emulator = Emulator(secret=SECRET)
    served = DaemonServer(emulator)
    served.start_in_thread()
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    assert dynamodb(connection, "ListTables", {})[0] == 200
    drained = []
    emulator.on_shutdown(lambda: drained.append(True))
    served.stop()
    assert drained == [True]
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        dynamodb(connection, "ListTables", {})


@pytest.mark.parametrize(
    ("service", "target", "params"),
    [
        ("dynamodb", "DynamoDB_20120810.ListTables", {}),
        ("dynamodb", "DynamoDB_20120810.DescribeTable", {"TableName": "missing"}),
        ("dynamodb", "DynamoDB_20120810.PutItem", {"TableName": "missing", "Item": {"k": {"S": "1"}}}),
        ("dynamodb", "DynamoDBStreams_20120810.ListStreams", {}),
        (
            "dynamodb",
            "DynamoDBStreams_20120810.DescribeStream",
            {"StreamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/missing/stream/x"},
        ),
        ("logs", "Logs_20140328.DescribeLogGroups", {}),
    ],
)
def test_the_dispatch_answers_as_motos_dispatcher_does(service, target, params):
    ours = Client(Emulator(secret=SECRET).moto_app)
    motos = Client(DomainDispatcherApplication(create_backend_app))
    answers = []
    for client in (ours, motos):
        response = client.post("/", data=json.dumps(params), headers=signed(service, target))
        # (the guard drops moto's CORS headers; the request id is new each time)
        headers = {
            k.lower(): v
            for k, v in response.headers
            if k.lower() not in ("x-amzn-requestid", "date") and not k.lower().startswith("access-control-")
        }
        answers.append((response.status_code, headers, response.get_data()))
    assert answers[0] == answers[1]
