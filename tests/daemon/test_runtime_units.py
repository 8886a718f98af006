"""Units of the Lambda runtime: log splitting and pumping, interpreters, the in-process Python API."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from support import wait_until

from ddbstream.emulator.runtime import FunctionNotFound, InvokeError, LambdaRuntime, interpreter_for, languages
from ddbstream.emulator.runtime.languages import Interpreter, Language, PythonLanguage, language_for
from ddbstream.emulator.runtime.logs import MAX_EVENT_BYTES, LogPump, LogStreamWriter, split_message, stream_name
from ddbstream.stack_secret import SECRET_ACCESS_KEY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "functions"


class FakeLogs:
    """The three calls LogStreamWriter makes on moto's logs backend."""

    def __init__(self):
        self.events: list[dict] = []

    def ensure_log_group(self, group):
        pass

    def ensure_log_stream(self, group, stream):
        pass

    def put_log_events(self, group, stream, events):
        assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
        self.events += events

    @property
    def messages(self) -> list[str]:
        return [e["message"] for e in self.events]


def test_split_message_keeps_every_character_within_the_event_limit():
    for text in ("a" * (MAX_EVENT_BYTES * 2 + 10), "é" * MAX_EVENT_BYTES, "short"):
        pieces = split_message(text)
        assert "".join(pieces) == text
        assert all(len(p.encode()) <= MAX_EVENT_BYTES for p in pieces)
    assert len(split_message("a" * (MAX_EVENT_BYTES * 2 + 10))) == 3


def test_stream_name_is_shaped_like_lambdas():
    assert re.fullmatch(r"2024/02/29/\[\$LATEST\][0-9a-f]{32}", stream_name("$LATEST", 1709210000.0))
    assert stream_name("3", 1709210000.0).startswith("2024/02/29/[3]")


@pytest.fixture
def pump():
    backend = FakeLogs()
    writer = LogStreamWriter(lambda: backend, "/aws/lambda/f", "s")
    read_fd, write_fd = os.pipe()
    pump = LogPump(read_fd, writer)
    yield backend, writer, pump, write_fd
    try:
        os.close(write_fd)
    except OSError:
        pass
    pump.close()


def test_pump_ships_lines_as_they_arrive(pump):
    backend, _, _, write_fd = pump
    os.write(write_fd, b"first\nsecond\n")
    wait_until(lambda: backend.messages == ["first", "second"], timeout=5, message="shipped lines")


def test_drain_attributes_everything_already_written(pump):
    backend, writer, pump, write_fd = pump
    writer.start_capture()
    os.write(write_fd, b"line one\n[ERROR] Boom\rTraceback (most recent call last):\r  File x\nno newline")
    os.write(write_fd, b" \xc3")  # half of a UTF-8 character...
    os.write(write_fd, b"\xa9")  # ...and its other half
    pump.drain()
    writer.write(["END"])
    assert writer.stop_capture() == [
        "line one",
        "[ERROR] Boom\nTraceback (most recent call last):\n  File x",
        "no newline é",
        "END",
    ]
    assert backend.messages[-1] == "END"


def test_long_line_without_newline_becomes_full_size_events(pump):
    backend, _, pump, write_fd = pump
    total = MAX_EVENT_BYTES * 2 + 5

    def write():
        os.write(write_fd, b"y" * total)
        os.close(write_fd)

    writer_thread = threading.Thread(target=write)
    writer_thread.start()  # more than a pipe holds: the pump must keep reading
    writer_thread.join(10)
    pump.close()
    assert [len(m) for m in backend.messages] == [MAX_EVENT_BYTES, MAX_EVENT_BYTES, 5]


def test_interpreter_falls_back_with_a_warning():
    chosen = interpreter_for("python3.99")
    assert "python3.99 is not on PATH" in chosen.warning
    assert os.path.basename(chosen.executable).startswith("python")
    assert Path(chosen.runtime_dir, "awslambdaric").is_dir()


def test_an_unknown_runtime_is_refused_with_lambdas_error():
    with pytest.raises(InvokeError) as info:
        language_for("fn", "java21")
    assert (
        info.value.message
        == "fn: runtime java21 is not supported by the local daemon (python3.x, nodejs<major>.x only)"
    )
    assert (info.value.code, info.value.status) == ("InvalidRuntimeException", 502)
    with pytest.raises(InvokeError, match="runtime None is not supported"):
        language_for("fn", None)


def test_the_python_language_runs_python3_runtimes_with_awslambdaric(tmp_path):
    language = language_for("fn", "python3.12")
    assert isinstance(language, PythonLanguage)
    interpreter = language.interpreter("python3.12")
    assert interpreter is language.interpreter("python3.12"), "found once per runtime"
    assert Path(interpreter.runtime_dir, "awslambdaric").is_dir()
    assert language.command(interpreter, "app.handler", 128) == [
        interpreter.executable,
        "-m",
        "awslambdaric",
        "app.handler",
    ]
    assert language.environment(interpreter, tmp_path) == {"PYTHONPATH": str(tmp_path)}
    assert language.version_label("python3.12") == "python:3.12"


def test_another_language_is_one_class_in_the_registry(monkeypatch):
    class FakeDeno(Language):
        runtimes_label = "deno2.x"

        def accepts(self, runtime: str) -> bool:
            return runtime == "deno2.x"

        def find_interpreter(self, runtime: str) -> Interpreter:
            return Interpreter("/usr/bin/deno", "/opt/bootstrap")

        def command(self, interpreter: Interpreter, handler: str, memory_mb: int) -> list[str]:
            return [interpreter.executable, "run", "bootstrap.ts", handler]

    deno = FakeDeno()
    monkeypatch.setattr(languages, "LANGUAGES", (*languages.LANGUAGES, deno))
    assert language_for("fn", "deno2.x") is deno
    assert deno.version_label("deno2.x") == "deno:2.x"
    with pytest.raises(InvokeError, match=r"\(python3\.x, nodejs<major>\.x, deno2\.x only\)"):
        language_for("fn", "java21")


# ---------------------------------------------------------------- in-process runtime over moto


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in FIXTURES.glob("*.py"):
            archive.write(path, path.name)
    return buffer.getvalue()


@pytest.fixture
def runtime(aws_credentials, tmp_path):
    with mock_aws():
        lam = boto3.client("lambda", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        code = _zip()
        for module in ("ok", "env"):
            lam.create_function(
                FunctionName=module,
                Runtime="python3.12",
                Role=role,
                Handler=f"{module}.handler",
                Code={"ZipFile": code},
                Timeout=5,
                Environment={"Variables": {"FROM_FUNCTION": "1"}},
            )
        runtime = LambdaRuntime("us-east-1", "123456789012", endpoint="http://127.0.0.1:9", work_dir=tmp_path / "work")
        yield runtime
        runtime.shutdown(timeout=5)


def test_python_api_result_and_log_tail(runtime):
    result = runtime.invoke("ok", b'{"n": 1}', log_type="Tail")
    assert (result.status_code, result.function_error, result.executed_version) == (200, None, "$LATEST")
    assert json.loads(result.payload)["request_id"] == result.request_id
    assert f"END RequestId: {result.request_id}" in base64.b64decode(result.log_result).decode()
    assert runtime.invoke("ok", b"{}").log_result is None
    assert runtime.invoke("ok", b"{}", invocation_type="DryRun").status_code == 204
    with pytest.raises(FunctionNotFound):
        runtime.invoke("missing", b"{}")
    with pytest.raises(InvokeError) as info:
        runtime.invoke("ok", b"{}", invocation_type="Sometimes")
    assert info.value.code == "ValidationException"


def test_worker_never_sees_the_daemons_credentials_or_environment(runtime, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "realsecret")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("UNRELATED_SETTING", "leak")
    env = json.loads(runtime.invoke("env", b"{}").payload)
    assert env["FROM_FUNCTION"] == "1"
    assert env["AWS_ACCESS_KEY_ID"] == runtime.access_key, "functions sign with the stack secret"
    assert env["AWS_SECRET_ACCESS_KEY"] == SECRET_ACCESS_KEY
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert "AWS_PROFILE" not in env and "UNRELATED_SETTING" not in env
    assert "realsecret" not in json.dumps(env)


def wait_for_end(function: str, request_id: str) -> None:
    """Wait until the END line of ``request_id`` is in the function's log group (moto in-process)."""
    from moto.logs.models import logs_backends

    def ended():
        group = logs_backends["123456789012"]["us-east-1"].groups.get(f"/aws/lambda/{function}")
        messages = [e.message for s in (group.streams.values() if group else []) for e in s.events]
        return f"END RequestId: {request_id}" in messages

    wait_until(ended, timeout=10, message=f"the END line of {request_id}")


def test_event_invocations_run_in_the_background(runtime):
    result = runtime.invoke("ok", b'{"marker": "bg"}', invocation_type="Event")
    assert (result.status_code, result.payload) == (202, b"")
    wait_for_end("ok", result.request_id)


def test_shutdown_lets_in_flight_invocations_finish(runtime):
    results = []
    caller = threading.Thread(target=lambda: results.append(runtime.invoke("ok", b'{"sleep": 0.5}')))
    caller.start()
    wait_until(lambda: runtime.workers() == 1, timeout=10, message="a busy worker")
    runtime.shutdown(timeout=10)
    caller.join(10)
    assert results and results[0].function_error is None
    with pytest.raises(InvokeError) as info:
        runtime.invoke("ok", b"{}")
    assert info.value.status == 503
    assert runtime.workers() == 0
    assert not runtime.work_dir.exists()


def test_runtime_api_sends_every_header_lambda_sends(runtime):
    """A stand-in awslambdaric (tests/fixtures/raw_runtime) reports the raw /next response."""
    import time

    buffer = io.BytesIO()
    raw = FIXTURES.parent / "raw_runtime"
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in raw.rglob("*.py"):
            archive.write(path, path.relative_to(raw).as_posix())
    lam = boto3.client("lambda", region_name="us-east-1")
    role = boto3.client("iam", region_name="us-east-1").get_role(RoleName="r")["Role"]["Arn"]
    lam.create_function(
        FunctionName="raw",
        Runtime="python3.12",
        Role=role,
        Handler="any.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=7,
    )
    before_ms = time.time() * 1000
    result = runtime.invoke("raw", b'{"a": 1}', client_context='{"custom": {"k": "v"}}')
    seen = json.loads(result.payload)
    headers = seen["headers"]
    assert seen["status"] == 200 and seen["event"] == {"a": 1}
    assert headers["Lambda-Runtime-Aws-Request-Id"] == result.request_id
    assert before_ms + 7000 <= int(headers["Lambda-Runtime-Deadline-Ms"]) <= time.time() * 1000 + 7000
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:aws:lambda:us-east-1:123456789012:function:raw"
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", headers["Lambda-Runtime-Trace-Id"]
    )
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {"k": "v"}}'
    assert headers["Content-Type"] == "application/json"
    again = json.loads(runtime.invoke("raw", b"{}").payload)
    assert again["second_answer_status"] == 400, "a request is answered once"
    assert again["headers"]["Lambda-Runtime-Aws-Request-Id"] != result.request_id

    failed = runtime.invoke("raw", b'{"fail": "Custom.Failure"}')
    assert failed.function_error == "Unhandled"
    assert json.loads(failed.payload) == {"errorType": "Custom.Failure", "errorMessage": "raw failure"}


def test_reserved_concurrency_throttles(runtime):
    from ddbstream.emulator.runtime import Throttled

    lam = boto3.client("lambda", region_name="us-east-1")
    lam.put_function_concurrency(FunctionName="ok", ReservedConcurrentExecutions=0)
    with pytest.raises(Throttled) as info:
        runtime.invoke("ok", b"{}")
    assert (info.value.code, info.value.status) == ("TooManyRequestsException", 429)

    lam.put_function_concurrency(FunctionName="ok", ReservedConcurrentExecutions=1)
    results = []
    caller = threading.Thread(target=lambda: results.append(runtime.invoke("ok", b'{"sleep": 1}')))
    caller.start()
    wait_until(lambda: runtime.workers() == 1, timeout=10, message="a busy worker")
    with pytest.raises(Throttled):
        runtime.invoke("ok", b"{}")
    queued = runtime.invoke("ok", b'{"marker": "queued"}', invocation_type="Event")
    assert queued.status_code == 202, "an Event invocation waits for a free slot instead"
    caller.join(10)
    assert results[0].function_error is None
    wait_for_end("ok", queued.request_id)
    lam.delete_function_concurrency(FunctionName="ok")
    assert runtime.invoke("ok", b"{}").function_error is None


def test_invoke_refuses_a_function_whose_runtime_no_language_runs(runtime):
    lam = boto3.client("lambda", region_name="us-east-1")
    role = boto3.client("iam", region_name="us-east-1").get_role(RoleName="r")["Role"]["Arn"]
    lam.create_function(
        FunctionName="jvm", Runtime="java21", Role=role, Handler="example.Handler", Code={"ZipFile": _zip()}
    )
    with pytest.raises(InvokeError) as info:
        runtime.invoke("jvm", b"{}")
    assert info.value.message == (
        "jvm: runtime java21 is not supported by the local daemon (python3.x, nodejs<major>.x only)"
    )
    assert runtime.workers() == 0
