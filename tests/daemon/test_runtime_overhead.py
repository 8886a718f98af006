"""The runtime's cheap invocation path (issue 20): one log append an invocation, the Runtime API's
own HTTP/1.1, the peak-memory read, and that none of it changes what a user sees."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from support import wait_until

from ddbstream.emulator.runtime import LambdaRuntime, logs
from ddbstream.emulator.runtime.handoff import Handoff
from ddbstream.emulator.runtime.memory import PeakMemory
from ddbstream.emulator.runtime.model import FunctionConfig, FunctionNotFound, Invocation
from ddbstream.emulator.runtime.runtime_api import RUNTIME_API, RuntimeApiServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "functions"
ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def runtime(aws_credentials, tmp_path):
    with mock_aws():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.write(FIXTURES / "ok.py", "ok.py")
        role = boto3.client("iam", region_name=REGION).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="ok",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="ok.handler",
            Code={"ZipFile": buffer.getvalue()},
            Timeout=10,
        )
        runtime = LambdaRuntime(REGION, ACCOUNT, endpoint="http://127.0.0.1:9", work_dir=tmp_path / "work")
        yield runtime
        runtime.shutdown(timeout=5)


def _messages() -> list[str]:
    from moto.logs.models import logs_backends

    group = logs_backends[ACCOUNT][REGION].groups.get("/aws/lambda/ok")
    return [event.message for stream in (group.streams.values() if group else []) for event in stream.events]


def test_an_invocations_start_lines_end_and_report_are_one_append(runtime, monkeypatch):
    runtime.invoke("ok", b'{"n": 0}')  # cold: INIT_START and the module's line come first
    appends: list[list[str]] = []
    original = logs.put_events

    def counting(backend, group, stream, events):
        appends.append([event["message"] for event in events])
        original(backend, group, stream, events)

    monkeypatch.setattr(logs, "put_events", counting)
    result = runtime.invoke("ok", b'{"n": 1}')
    assert len(appends) == 1, appends
    start, line, end, report = appends[0]
    assert start == f"START RequestId: {result.request_id} Version: $LATEST"
    assert line == 'ok: handling {"n":1}'
    assert end == f"END RequestId: {result.request_id}"
    assert report.startswith(f"REPORT RequestId: {result.request_id}\tDuration: ")
    assert _messages()[-4:] == appends[0]


def test_report_keeps_lambdas_fields_with_the_peak_memory(runtime):
    result = runtime.invoke("ok", b"{}")
    report = next(m for m in _messages() if m.startswith(f"REPORT RequestId: {result.request_id}"))
    fields = dict(part.split(": ", 1) for part in report.split("\t")[1:])
    assert list(fields) == ["Duration", "Billed Duration", "Memory Size", "Max Memory Used", "Init Duration"]
    assert fields["Memory Size"] == "128 MB"
    assert 10 <= int(fields["Max Memory Used"].removesuffix(" MB")) <= 128


def test_a_long_invocations_lines_reach_the_log_while_it_runs(runtime):
    results = []
    caller = threading.Thread(target=lambda: results.append(runtime.invoke("ok", b'{"sleep": 3}')))
    caller.start()
    try:
        wait_until(
            lambda: 'ok: handling {"sleep":3}' in _messages(),
            timeout=2.5,
            message="the handler's line before the invocation ends",
        )
        assert not results, "seen while the invocation still ran"
        assert not any(m.startswith("END RequestId") for m in _messages())
    finally:
        caller.join(10)
    assert results and results[0].function_error is None


def test_a_functions_config_is_kept_until_what_it_is_made_of_changes(runtime):
    from moto.awslambda.models import lambda_backends

    lam = boto3.client("lambda", region_name=REGION)
    first, _ = runtime.resolve("ok")
    assert runtime.resolve(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ok")[0] is first  # kept
    lam.update_function_configuration(FunctionName="ok", Environment={"Variables": {"A": "1"}})
    assert runtime.resolve("ok")[0].environment == (("A", "1"),)
    lambda_backends[ACCOUNT][REGION].get_function("ok", None).environment_vars["A"] = "2"  # changed in place
    assert runtime.resolve("ok")[0].environment == (("A", "2"),)
    lam.put_function_concurrency(FunctionName="ok", ReservedConcurrentExecutions=3)
    assert runtime.resolve("ok")[0].reserved_concurrency == 3
    lam.delete_function(FunctionName="ok")
    with pytest.raises(FunctionNotFound):
        runtime.resolve("ok")


class _Logs:
    """A logs backend that keeps what it is given."""

    def __init__(self):
        self.events: list[dict] = []

    def ensure_log_group(self, group: str) -> None:
        pass

    def ensure_log_stream(self, group: str, stream: str) -> None:
        pass

    def put_log_events(self, group: str, stream: str, events: list[dict]) -> None:
        self.events += events


def test_a_handler_printing_fast_is_not_held_up_by_the_pumps_pause(monkeypatch):
    # A pause between the pump's reads while an invocation ran (tried for issue 20) held a handler
    # printing megabytes on the full pipe at each pause (10 MB ran past a 3 s timeout).
    monkeypatch.setattr(logs, "HOLD_SECONDS", 20.0)  # one pause would hold the writer for 10 s
    backend = _Logs()
    writer = logs.LogStreamWriter(lambda: backend, "/aws/lambda/f", "s")
    read_end, write_end = os.pipe()
    writer.start_capture()
    pump = logs.LogPump(read_end, writer)
    done = threading.Event()
    line = b"x" * 59_999 + b"\n"

    def print_fast() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as out:
            for _ in range(40):  # 2.4 MB in 60 KB writes: the pipe holds 64 KiB
                out.write(line)
        done.set()

    threading.Thread(target=print_fast, daemon=True).start()
    try:
        wait_until(done.is_set, 8, 0.05, "the handler's 2.4 MB through the pipe")
    finally:
        pump.close()
        writer.stop_capture()
    assert sum(len(e["message"]) for e in backend.events) == 40 * 59_999


# ---------------------------------------------------------------- the Runtime API's HTTP


class OneEvent:
    """A RuntimeApiBackend holding one invocation; records what was posted."""

    def __init__(self):
        config = FunctionConfig(
            "f", "arn:aws:lambda:us-east-1:1:function:f", "$LATEST", "python3.12", "h", 128, 3.0, (), "d", REGION, "1"
        )
        self.invocation = Invocation("req-1", b'{"a":1}', config, "Root=1-0-0;Parent=0;Sampled=0")
        self.posted: list[tuple[str, str, bytes]] = []
        self.handed = False

    def next_invocation(self, reply):
        handed, self.handed = self.handed, True
        reply(None if handed else self.invocation)

    def post_result(self, request_id, kind, body):
        self.posted.append((request_id, kind, body))
        return request_id == "req-1" and len(self.posted) == 1

    def post_init_error(self, body):
        self.posted.append(("init", "error", body))


@pytest.fixture
def api():
    backend = OneEvent()
    server = RuntimeApiServer(backend)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.address.split(":")
    yield backend, (host, int(port))
    server.shutdown()
    server.server_close()


def _read_response(reader) -> tuple[int, dict[str, str], bytes]:
    status = int(reader.readline().split()[1])
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    return status, headers, reader.read(int(headers.get("content-length", 0)))


def test_one_connection_carries_next_and_the_response_with_100_continue_and_chunks(api):
    backend, address = api
    with socket.create_connection(address, timeout=5) as connection:
        reader = connection.makefile("rb")
        connection.sendall(f"GET {RUNTIME_API}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        status, headers, body = _read_response(reader)
        assert (status, body, headers["lambda-runtime-aws-request-id"]) == (200, b'{"a":1}', "req-1")
        assert headers["content-type"] == "application/json" and "connection" not in headers
        connection.sendall(
            f"POST {RUNTIME_API}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
            "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n" and reader.readline() == b"\r\n"
        connection.sendall(b'3\r\n{"o\r\n4;ext=1\r\nk":1\r\n1\r\n}\r\n0\r\n\r\n')
        assert _read_response(reader)[0] == 202
        connection.sendall(
            f"POST {RUNTIME_API}/invocation/req-1/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}".encode()
        )
        status, _, body = _read_response(reader)
        assert (status, json.loads(body)["errorType"]) == (400, "InvalidRequestID")
    assert backend.posted[0] == ("req-1", "response", b'{"ok":1}')


def test_a_request_it_cannot_read_is_answered_400_and_the_connection_closed(api):
    _, address = api
    with socket.create_connection(address, timeout=5) as connection:
        connection.sendall(b"nonsense\r\n\r\n")
        reader = connection.makefile("rb")
        status, headers, body = _read_response(reader)
        assert (status, headers["connection"], json.loads(body)["errorType"]) == (400, "close", "InvalidRequest")
        assert reader.read() == b""


def test_an_error_without_a_body_is_named_by_its_header_and_unknown_paths_are_404(api):
    backend, address = api
    with socket.create_connection(address, timeout=5) as connection:
        reader = connection.makefile("rb")
        connection.sendall(
            f"POST {RUNTIME_API}/init/error HTTP/1.1\r\nLambda-Runtime-Function-Error-Type: Runtime.X\r\n"
            "Content-Length: 0\r\n\r\n".encode()
        )
        assert _read_response(reader)[0] == 202
        connection.sendall(b"GET /elsewhere HTTP/1.1\r\n\r\n")
        assert _read_response(reader)[0] == 404
    assert json.loads(backend.posted[0][2])["errorType"] == "Runtime.X"


def test_peak_memory_is_read_from_the_open_status_file_and_kept_after_exit():
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; b = bytearray(40 << 20); sys.stdin.read()"], stdin=subprocess.PIPE
    )
    memory = PeakMemory(child.pid)
    try:
        wait_until(lambda: memory.read() > 40 * 1024, timeout=10, message="the child's 40 MiB")
        peak = memory.read()
    finally:
        child.communicate(b"")
    assert memory.read() == peak, "the last peak stays once the process is gone"
    memory.close()
    assert memory.read() == peak


def test_the_second_of_event_and_next_request_hands_the_event_over():
    handed: list[tuple[str, object]] = []
    handoff = Handoff(lambda invocation, reply: handed.append((invocation.request_id, reply)))
    first, second = OneEvent().invocation, OneEvent().invocation
    replies: list[object] = []
    handoff.request(replies.append)  # parked: nothing yet
    assert handed == [] and replies == []
    handoff.offer(first)  # the invoking thread answers the parked request itself
    assert handed == [("req-1", replies.append)]
    handoff.offer(second)  # no request yet: the event waits for the next one
    assert len(handed) == 1
    handoff.request(replies.append)
    assert len(handed) == 2
    handoff.request(replies.append)
    handoff.close()  # a parked request is answered None, and every later one
    handoff.request(replies.append)
    assert replies == [None, None]


def test_a_parked_next_is_answered_later_from_another_thread(api):
    backend, address = api
    parked = []
    backend.next_invocation = parked.append  # park every /next
    with socket.create_connection(address, timeout=5) as connection:
        reader = connection.makefile("rb")
        connection.sendall(f"GET {RUNTIME_API}/invocation/next HTTP/1.1\r\n\r\n".encode())
        wait_until(lambda: parked, timeout=5, message="the parked /next")
        threading.Thread(target=parked[0], args=(backend.invocation,)).start()
        status, headers, body = _read_response(reader)
        assert (status, body, headers["lambda-runtime-aws-request-id"]) == (200, b'{"a":1}', "req-1")
        connection.sendall(f"GET {RUNTIME_API}/invocation/next HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
        wait_until(lambda: len(parked) == 2, timeout=5, message="the second /next")
        parked[1](None)  # stopping: a 500, then the connection closes
        status, headers, body = _read_response(reader)
        assert (status, headers["connection"], json.loads(body)["errorType"]) == (500, "close", "Runtime.Stopped")
        assert reader.read() == b""
