"""The Lambda runtime end to end: a real daemon, functions created and invoked with boto3 and the aws CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from support import wait_until

from ddbstream.clients import local_client
from ddbstream.daemon import ping, start_daemon, stop_daemon
from ddbstream.stack_secret import SECRET_ACCESS_KEY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "functions"
# The same cases for each language: (fixtures directory, runtime). Node.js fixtures are ok.js, ...
LANGUAGES = {
    "python": (FIXTURES, "python3.12"),
    "node": (FIXTURES.parent / "functions_node", "nodejs20.x"),
}
# What differs between the languages' runtimes (error documents, messages), per language.
EXPECTED = {
    "python": {
        "trace_key": "stackTrace",
        "error_line": "[ERROR] PoisonRecord: cannot process k1\nTraceback (most recent call last):",
        "import_error": "Unable to import module 'import_error': No module named 'ddbstream_no_such_module'",
        "import_error_line": "[ERROR] Runtime.ImportModuleError: Unable to import module 'import_error'",
        "marshal_error": "not JSON serializable",
        "path_variable": "PYTHONPATH",
    },
    "node": {
        "trace_key": "trace",
        "error_line": 'Invoke Error \t{"errorType":"PoisonRecord","errorMessage":"cannot process k1"',
        "import_error": "Error: Cannot find module 'ddbstream_no_such_module'\nRequire stack:\n- ",
        "import_error_line": 'Uncaught Exception \t{"errorType":"Runtime.ImportModuleError"',
        "marshal_error": "Unable to stringify response body",
        "path_variable": "NODE_PATH",
    },
}
BOTH_LANGUAGES = pytest.mark.parametrize("language", ["python", "node"], indirect=True)
# A Node.js console line: "<timestamp>\t<request id>\t<LEVEL>\t<message>".
CONSOLE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t\S+\t(?:INFO|WARN|ERROR|DEBUG|TRACE)\t(.*)$", re.S)
REGION = "us-east-1"
STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms"
    r"\tMemory Size: (?P<memory>\d+) MB\tMax Memory Used: \d+ MB(?P<init>\tInit Duration: \d+\.\d\d ms)?"
    r"(?P<status>\tStatus: .*)?$"
)


def fixture_zip(replace: dict[str, str] | None = None, language: str = "python") -> bytes:
    """The fixture handlers zipped (optionally with some modules' source replaced)."""
    directory = LANGUAGES[language][0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix != ".md"):
            name = path.relative_to(directory).as_posix()
            archive.writestr(name, (replace or {}).get(name, path.read_text()))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """A real daemon whose own environment holds a real-looking secret and an unrelated variable."""
    directory = tmp_path_factory.mktemp("daemon")
    saved = {k: os.environ.get(k) for k in ("AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "DDBSTREAM_UNRELATED")}
    os.environ.update(AWS_SECRET_ACCESS_KEY="realsecret", AWS_PROFILE="realprofile", DDBSTREAM_UNRELATED="leak")
    try:
        started = start_daemon(directory, REGION)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    yield started
    stop_daemon(started)


@pytest.fixture(scope="module")
def clients(daemon):
    return {name: local_client(name, daemon.endpoint, REGION, daemon.secret) for name in ("lambda", "logs", "iam")}


@pytest.fixture(scope="module")
def role(clients):
    return clients["iam"].create_role(RoleName="runtime-tests", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


_counter = iter(range(1_000_000))


@pytest.fixture
def language(request) -> str:
    """The language of the fixtures make_function uses: "python" unless a test runs BOTH_LANGUAGES."""
    return getattr(request, "param", "python")


def printed(line: str) -> str:
    """What a handler printed: a Node.js console line without its timestamp, request id and level."""
    console = CONSOLE.match(line)
    return console.group(1) if console else line


@pytest.fixture
def make_function(clients, role, language):
    """Create a function from the fixtures: make_function("ok", Timeout=1, ...) -> its name."""

    def make(module: str, code: bytes | None = None, **config) -> str:
        name = f"{module}-{next(_counter)}"
        args = dict(
            FunctionName=name,
            Runtime=LANGUAGES[language][1],
            Role=role,
            Handler=f"{module}.handler",
            Code={"ZipFile": code or fixture_zip(language=language)},
            Timeout=3,
            MemorySize=128,
        )
        args.update(config)
        clients["lambda"].create_function(**args)
        return name

    return make


def invoke(clients, name: str, event=None, **kwargs) -> tuple[dict, object]:
    response = clients["lambda"].invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail", **kwargs)
    body = response["Payload"].read()
    return response, (json.loads(body) if body else None)


def tail(response) -> list[str]:
    return base64.b64decode(response["LogResult"]).decode().split("\n")


def log_messages(clients, name: str, request_id: str | None = None, until: str | None = None) -> list[dict]:
    """The function's log events (waiting until ``until`` or the END of ``request_id`` is there)."""
    group = f"/aws/lambda/{name}"
    marker = until or f"END RequestId: {request_id}"

    def fetch():
        events, token = [], None
        while True:
            kwargs = {"logGroupName": group, **({"nextToken": token} if token else {})}
            try:
                page = clients["logs"].filter_log_events(**kwargs)
            except clients["logs"].exceptions.ResourceNotFoundException:
                return None  # the worker creates the group as it starts (an Event invoke returns before)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        return events if any(marker in e["message"] for e in events) else None

    return wait_until(fetch, timeout=10, message=f"{marker!r} in {group}")


def invocation_lines(events: list[dict], request_id: str) -> list[str]:
    """Messages from START to REPORT of one request (all in one stream)."""
    messages = [e["message"] for e in events]
    start = messages.index(f"START RequestId: {request_id} Version: $LATEST")
    end = next(i for i, m in enumerate(messages) if m.startswith(f"REPORT RequestId: {request_id}"))
    return messages[start : end + 1]


@BOTH_LANGUAGES
def test_request_response_payload_context_and_logs(clients, make_function, daemon):
    name = make_function("ok", Timeout=5, MemorySize=256)
    first, payload = invoke(
        clients,
        name,
        {"id": 1},
        ClientContext=base64.b64encode(json.dumps({"custom": {"from": "test"}}).encode()).decode(),
    )
    request_id = first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert first["StatusCode"] == 200 and "FunctionError" not in first
    assert first["ExecutedVersion"] == "$LATEST"
    assert payload["event"] == {"id": 1}
    assert payload["request_id"] == request_id
    assert payload["function_arn"] == f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
    assert payload["memory_limit_in_mb"] == "256"
    assert 0 < payload["remaining_ms"] <= 5000  # from Lambda-Runtime-Deadline-Ms
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", payload["trace_id"])
    assert payload["client_context_custom"] == {"from": "test"}
    assert STREAM_NAME.match(payload["log_stream_name"])

    lines = tail(first)
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert printed(lines[1]) == 'ok: handling {"id":1}'
    assert lines[2] == f"END RequestId: {request_id}"
    cold = REPORT.match(lines[3])
    assert cold and cold["id"] == request_id and cold["memory"] == "256" and cold["init"]

    second, payload2 = invoke(clients, name, {"id": 2})
    warm = REPORT.match(tail(second)[-1])
    assert warm and not warm["init"], "a warm invocation has no Init Duration"
    assert payload2["pid"] == payload["pid"], "the worker is kept warm between invocations"

    events = log_messages(clients, name, payload2["request_id"])
    assert {e["logStreamName"] for e in events} == {payload["log_stream_name"]}
    messages = [printed(e["message"]) for e in events]
    assert messages.index("ok: module imported") < messages.index(f"START RequestId: {request_id} Version: $LATEST")
    assert invocation_lines(events, request_id) == lines[:4]
    assert printed(invocation_lines(events, payload2["request_id"])[1]) == 'ok: handling {"id":2}'
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)


@BOTH_LANGUAGES
def test_event_and_dry_run(clients, make_function):
    name = make_function("ok")
    response = clients["lambda"].invoke(FunctionName=name, InvocationType="Event", Payload=b'{"marker": "async-1"}')
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    log_messages(clients, name, until='ok: handling {"marker":"async-1"}')
    events = log_messages(clients, name, until="REPORT RequestId:")
    messages = [printed(e["message"]) for e in events]
    assert messages.index('ok: handling {"marker":"async-1"}') < next(
        i for i, m in enumerate(messages) if m.startswith("REPORT RequestId:")
    )

    dry = clients["lambda"].invoke(FunctionName=name, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    assert dry["Payload"].read() == b""


def test_unknown_function_and_bad_payload(clients, make_function):
    lam = clients["lambda"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as info:
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert info.value.response["Error"]["Message"] == (
        f"Function not found: arn:aws:lambda:{REGION}:123456789012:function:no-such-function"
    )
    name = make_function("ok")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=name, Payload=b"{not json")


def test_invoke_by_arn_and_qualifier(clients, make_function):
    name = make_function("ok")
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
    response, payload = invoke(clients, arn, {"by": "arn"})
    assert payload["event"] == {"by": "arn"}
    response, payload = invoke(clients, name, {"by": "qualifier"}, Qualifier="$LATEST")
    assert response["ExecutedVersion"] == "$LATEST" and payload["event"] == {"by": "qualifier"}


@BOTH_LANGUAGES
def test_function_error_is_unhandled_with_the_runtime_error_body(clients, make_function, language):
    expected = EXPECTED[language]
    name = make_function("raise_error")
    response, payload = invoke(clients, name, {"id": "k1"})
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "PoisonRecord"
    assert payload["errorMessage"] == "cannot process k1"
    assert any("PoisonRecord" in frame for frame in payload[expected["trace_key"]])
    events = log_messages(clients, name, request_id)
    lines = invocation_lines(events, request_id)
    assert printed(lines[1]) == "raise_error: about to fail"
    assert printed(lines[2]).startswith(expected["error_line"])


FAILURES = [
    # (module, config, event, errorType, errorMessage after "RequestId: <id> Error: ", next event)
    ("sleep", {"Timeout": 1}, {}, "Sandbox.Timedout", "Task timed out after 1.00 seconds", {"seconds": 0}),
    (
        "exit",
        {},
        {"how": "sys.exit", "code": 1},
        "Runtime.ExitError",
        "Runtime exited with error: exit status 1",
        {"how": "none"},
    ),
    ("exit", {}, {"how": "abort"}, "Runtime.ExitError", "Runtime exited with error: signal: aborted", {"how": "none"}),
    (
        "exit",
        {},
        {"how": "segfault"},
        "Runtime.ExitError",
        "Runtime exited with error: signal: segmentation fault",
        {"how": "none"},
    ),
    (
        "memory",
        {"MemorySize": 128},
        {"mb": 400},
        "Runtime.OutOfMemory",
        "Runtime exited with error: signal: killed",
        {"mb": 1},
    ),
]


@pytest.mark.parametrize(
    "module,config,event,error_type,message,next_event",
    FAILURES,
    ids=["timeout", "sys.exit", "abort", "segfault", "out-of-memory"],
)
@BOTH_LANGUAGES
def test_failures_end_the_worker_and_the_next_invoke_works(
    clients, make_function, daemon, module, config, event, error_type, message, next_event
):
    name = make_function(module, **config)
    response, payload = invoke(clients, name, event)
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload == {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {message}"}
    lines = tail(response)
    report = REPORT.match(lines[-1])
    assert report and report["id"] == request_id
    if error_type == "Sandbox.Timedout":
        assert re.fullmatch(
            rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {request_id} Task timed out after 1\.00 seconds", lines[-3]
        )
        assert report["status"] == "\tStatus: timeout"
    else:
        assert lines[-4:-2] == [f"RequestId: {request_id} Error: {message}", error_type]
        assert report["status"] == f"\tStatus: error\tError Type: {error_type}"

    assert ping(daemon.endpoint, daemon.secret) is not None, "the daemon keeps serving"
    again, payload = invoke(clients, name, next_event)
    assert "FunctionError" not in again, payload
    assert REPORT.match(tail(again)[-1])["init"], "the next invocation gets a fresh (cold) worker"


@BOTH_LANGUAGES
def test_init_error_is_reported_and_retried_on_the_next_invoke(clients, make_function, language):
    expected = EXPECTED[language]
    name = make_function("import_error")
    for _ in range(2):
        response, payload = invoke(clients, name)
        assert response["FunctionError"] == "Unhandled"
        assert payload["errorType"] == "Runtime.ImportModuleError"
        assert payload["errorMessage"].startswith(expected["import_error"])
        lines = tail(response)
        assert lines[-1].endswith("\tStatus: error\tError Type: Runtime.ImportModuleError")
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    events = log_messages(clients, name, request_id)
    messages = [e["message"] for e in events]
    assert any(printed(m).startswith(expected["import_error_line"]) for m in messages)
    assert any(
        m.startswith("INIT_REPORT Init Duration:")
        and m.endswith("Phase: init\tStatus: error\tError Type: Runtime.ImportModuleError")
        for m in messages
    )


@BOTH_LANGUAGES
def test_non_json_return_is_a_marshal_error(clients, make_function, language):
    name = make_function("non_json")
    response, payload = invoke(clients, name)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.MarshalError"
    assert EXPECTED[language]["marshal_error"] in payload["errorMessage"]


@BOTH_LANGUAGES
def test_ten_megabytes_printed_at_once(clients, make_function, daemon):
    name = make_function("big_print", Timeout=30)
    response, payload = invoke(clients, name, {"mb": 10})
    assert payload == 10 * 1024 * 1024
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert [printed(line) for line in tail(response)[-3:-1]] == ["big_print: done", f"END RequestId: {request_id}"]
    response, payload = invoke(clients, name, {"mb": 1, "one_line": True})
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    events = log_messages(clients, name, request_id)
    lines = invocation_lines(events, request_id)
    pieces = [m for m in lines if m.startswith("y")]
    assert len(pieces) == 5 and all(len(p.encode()) <= 262_144 - 26 for p in pieces)
    assert sum(len(p) for p in pieces) == 1024 * 1024
    assert ping(daemon.endpoint, daemon.secret) is not None


@BOTH_LANGUAGES
def test_concurrent_invocations_use_separate_workers(clients, make_function):
    name = make_function("ok")
    results: list[dict] = []

    def call(index: int) -> None:
        results.append(invoke(clients, name, {"sleep": 0.5, "index": index})[1])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r["event"]["index"] for r in results) == [0, 1, 2]
    assert len({r["pid"] for r in results}) == 3
    assert len({r["log_stream_name"] for r in results}) == 3


def test_code_and_configuration_updates_retire_warm_workers(clients, make_function):
    lam = clients["lambda"]
    name = make_function("env", Environment={"Variables": {"STAGE": "one"}})
    _, first = invoke(clients, name)
    assert first["STAGE"] == "one"
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "two"}})
    _, second = invoke(clients, name)
    assert second["STAGE"] == "two"
    lam.update_function_code(
        FunctionName=name, ZipFile=fixture_zip({"env.py": "def handler(event, context):\n    return {'code': 'new'}\n"})
    )
    _, third = invoke(clients, name)
    assert third == {"code": "new"}
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name, Payload=b"{}")


@BOTH_LANGUAGES
def test_worker_environment_is_isolated(clients, make_function, daemon, language):
    name = make_function("env", Environment={"Variables": {"TABLE_NAME": "employees", "AWS_REGION": "eu-west-9"}})
    _, env = invoke(clients, name)
    assert env["TABLE_NAME"] == "employees"
    assert env["AWS_REGION"] == REGION, "reserved variables cannot be overridden"
    assert env["AWS_ACCESS_KEY_ID"] == daemon.secret, "functions sign with the stack secret"
    assert env["AWS_SECRET_ACCESS_KEY"] == SECRET_ACCESS_KEY
    assert env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"] == daemon.endpoint
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert STREAM_NAME.match(env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["_HANDLER"] == "env.handler" and env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{LANGUAGES[language][1]}"
    assert "realsecret" not in json.dumps(env)
    assert "AWS_PROFILE" not in env and "DDBSTREAM_UNRELATED" not in env
    allowed = {
        "PATH",
        "LANG",
        "TZ",
        EXPECTED[language]["path_variable"],  # PYTHONPATH or NODE_PATH
        "AWS_ENDPOINT_URL",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "_HANDLER",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TABLE_NAME",
        "_X_AMZN_TRACE_ID",  # set by the runtime client from Lambda-Runtime-Trace-Id
        "LC_CTYPE",  # Python's UTF-8 coercion may add it
    }
    assert set(env) <= allowed, set(env) - allowed


def test_aws_cli_invoke(clients, make_function, daemon, tmp_path):
    aws = shutil.which("aws", path=str(Path(sys.executable).parent))
    assert aws, "awscli is installed in the venv"
    name = make_function("ok")
    out = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=daemon.secret, AWS_SECRET_ACCESS_KEY="any", AWS_DEFAULT_REGION=REGION)
    result = subprocess.run(
        [
            aws,
            "lambda",
            "invoke",
            "--endpoint-url",
            daemon.endpoint,
            "--function-name",
            name,
            "--payload",
            '{"via": "cli"}',
            str(out),
        ],  # awscli v1: a blob argument is sent as given
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text())["event"] == {"via": "cli"}


def test_stopping_the_daemon_stops_its_workers(tmp_path):
    from ddbstream.daemon import pid_running

    started = start_daemon(tmp_path / "own", REGION)
    endpoint, secret = started.endpoint, started.secret
    try:
        lam = local_client("lambda", endpoint, REGION, secret)
        role_arn = local_client("iam", endpoint, REGION, secret).create_role(
            RoleName="own", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        lam.create_function(
            FunctionName="ok",
            Runtime="python3.12",
            Role=role_arn,
            Handler="ok.handler",
            Code={"ZipFile": fixture_zip()},
        )
        worker_pid = json.loads(lam.invoke(FunctionName="ok", Payload=b"{}")["Payload"].read())["pid"]
        assert pid_running(worker_pid)
    finally:
        assert stop_daemon(started)
    assert not pid_running(worker_pid), "no worker outlives the daemon"
