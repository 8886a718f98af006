"""The Node.js language of the Lambda runtime: real node workers behind the in-process runtime over moto.

What every language shares (errors, timeouts, memory, crashes, logs) is in tests/test_runtime_e2e.py,
parametrised over Python and Node.js; this module holds what is Node's own: the handler forms
(CommonJS, ES modules, callbacks), the context object, console lines, uncaught errors, bad
handlers, heap limits, finding node, and a handler written for AWS's runtime running unchanged.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from support import fake_node, wait_until

from ddbstream.emulator.runtime import InvokeError, LambdaRuntime
from ddbstream.emulator.runtime.languages import NODE_BOOTSTRAP, Interpreter, NodeLanguage, language_for
from ddbstream.errors import RuntimeUnavailable
from ddbstream.events import make_stream_record
from ddbstream.interpreters import local_interpreter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "functions_node"
NODE = shutil.which("node")
pytestmark = pytest.mark.usefixtures("node_installed")
CONSOLE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\t(\S+)\t(INFO|WARN|ERROR|DEBUG|TRACE)\t(.*)$", re.S)


def node_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(FIXTURES.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(FIXTURES).as_posix())
    return buffer.getvalue()


# ---------------------------------------------------------------- the language


@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "nodejs26.x"])
def test_every_nodejs_major_is_a_node_runtime(runtime):
    assert isinstance(language_for("fn", runtime), NodeLanguage)


@pytest.mark.parametrize("runtime", ["nodejs", "nodejs20", "nodejs20.x-beta", "node20.x", "python3.12"])
def test_other_names_are_not(runtime):
    assert not NodeLanguage().accepts(runtime)


def test_the_heap_limits_come_from_the_memory_size():
    command = NodeLanguage().command(Interpreter("/opt/node", "/opt/rt"), "index.handler", 256)
    assert command == [
        "/opt/node",
        "--max-semi-space-size=5",
        "--max-old-space-size=246",
        str(NODE_BOOTSTRAP),
        "index.handler",
    ]
    assert NODE_BOOTSTRAP.is_file()


def test_no_node_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("DDBSTREAM_NODE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InvokeError) as info:
        NodeLanguage().interpreter("nodejs20.x")
    assert info.value.message == (
        "runtime nodejs20.x needs Node.js, but there is no node on PATH; install Node.js or set DDBSTREAM_NODE"
    )
    assert (info.value.code, info.value.status) == ("InvalidRuntimeException", 502)

    monkeypatch.setenv("DDBSTREAM_NODE", str(tmp_path / "no-node"))
    with pytest.raises(RuntimeUnavailable) as unavailable:
        local_interpreter("nodejs20.x")
    assert unavailable.value.message == (
        f"runtime nodejs20.x needs Node.js, but DDBSTREAM_NODE={tmp_path / 'no-node'} is not an executable"
    )


def test_another_major_runs_on_the_local_node_with_a_notice(monkeypatch, tmp_path):
    monkeypatch.setenv("DDBSTREAM_NODE", str(fake_node(tmp_path, "v18.20.4")))
    notice = local_interpreter("nodejs22.x").warning
    assert notice == f"ddbstream: WARNING nodejs22.x runs on the local Node.js v18.20.4 ({tmp_path / 'node'})"
    assert local_interpreter("nodejs18.x").warning is None, "the same major needs no notice"


# ---------------------------------------------------------------- invocations (real node, moto in-process)


@pytest.fixture
def node_functions(aws_credentials, tmp_path):
    """make(handler, **config) -> a function name; invoke(name, event) -> (result, payload, tail lines)."""
    with mock_aws():
        lam = boto3.client("lambda", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = node_zip()
        runtime = LambdaRuntime("us-east-1", "123456789012", endpoint="http://127.0.0.1:9", work_dir=tmp_path / "w")
        names = iter(range(1000))

        def make(handler: str, **config) -> str:
            name = f"node-{next(names)}"
            args = dict(Runtime="nodejs20.x", Role=role, Handler=handler, Code={"ZipFile": code}, Timeout=5)
            lam.create_function(FunctionName=name, **{**args, **config})
            return name

        def invoke(name: str, event=None):
            result = runtime.invoke(name, json.dumps(event or {}).encode(), log_type="Tail")
            lines = base64.b64decode(result.log_result).decode().split("\n")
            return result, json.loads(result.payload), lines

        yield make, invoke
        runtime.shutdown(timeout=5)


def log_events(function: str, until: str) -> list[str]:
    """The function's log messages in moto, once one contains ``until``."""
    from moto.logs.models import logs_backends

    def messages():
        group = logs_backends["123456789012"]["us-east-1"].groups.get(f"/aws/lambda/{function}")
        found = [e.message for s in (group.streams.values() if group else []) for e in s.events]
        return found if any(until in m for m in found) else None

    return wait_until(messages, timeout=10, message=f"{until!r} in the log of {function}")


def test_context_and_console_lines(node_functions):
    make, invoke = node_functions
    name = make("ok.handler", MemorySize=256, Timeout=7)
    result, payload, lines = invoke(name, {"id": 1})
    assert result.function_error is None
    assert payload["request_id"] == result.request_id
    assert payload["function_name"] == name and payload["function_version"] == "$LATEST"
    assert payload["function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert payload["memory_limit_in_mb"] == "256"
    assert payload["log_group_name"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", payload["log_stream_name"])
    assert 0 < payload["remaining_ms"] <= 7000
    assert payload["waits_for_empty_loop"] is True
    assert payload["trace_id"].startswith("Root=1-")

    console = CONSOLE.match(lines[1])
    assert console and console.group(2, 3, 4) == (result.request_id, "INFO", 'ok: handling {"id":1}')
    messages = log_events(name, f"END RequestId: {result.request_id}")
    init_line = CONSOLE.match(next(m for m in messages if m.endswith("ok: module imported")))
    assert init_line and init_line.group(2) == "undefined", "console lines at init have no request id"
    assert messages[0].startswith("INIT_START Runtime Version: nodejs:20.x.local\t")


@pytest.mark.parametrize(
    "handler,kind",
    [("esm.handler", "esm"), ("esm_package/index.handler", "esm-js"), ("cjs_module.handler", "cjs")],
    ids=[".mjs", "type-module .js", ".cjs"],
)
def test_es_modules_and_commonjs(node_functions, handler, kind):
    make, invoke = node_functions
    result, payload, _ = invoke(make(handler), {"n": 1})
    assert result.function_error is None, payload
    assert payload["kind"] == kind


def test_callback_handlers(node_functions):
    make, invoke = node_functions
    name = make("callback.handler")
    result, payload, lines = invoke(name, {"wait": True})
    assert payload == {"timerFiredAtCallback": False, "waits": True}
    fired = lines.index(next(line for line in lines if line.endswith("\tINFO\tcallback: timer fired")))
    assert fired < lines.index(f"END RequestId: {result.request_id}"), "the response waited for the empty loop"

    result, payload, lines = invoke(name, {"wait": False})
    assert payload == {"timerFiredAtCallback": True, "waits": False}  # the first event's timer fired meanwhile
    assert not any(line.endswith("callback: timer fired") for line in lines), "answered without waiting"

    assert invoke(make("callback.succeed"))[1] == {"via": "succeed"}
    assert invoke(make("callback.done"))[1] == {"via": "done"}
    assert invoke(make("callback.nested.deeper.handler"))[1] == "nested"
    result, payload, _ = invoke(make("callback.nothing"))
    assert (result.function_error, payload) == (None, None), "no promise, no callback: null once the loop is empty"
    result, payload, _ = invoke(make("callback.fails"))
    assert result.function_error == "Unhandled"
    assert (payload["errorType"], payload["errorMessage"]) == ("TypeError", "callback failed")
    assert payload["trace"][0] == "TypeError: callback failed"
    result, payload, _ = invoke(make("callback.fail"))
    assert (payload["errorType"], payload["errorMessage"]) == ("Error", "via fail")


def test_nodejs24_refuses_callback_handlers(node_functions):
    make, invoke = node_functions
    result, payload, _ = invoke(make("callback.handler", Runtime="nodejs24.x"))
    assert result.function_error == "Unhandled"
    assert payload["errorType"] == "Runtime.CallbackHandlerDeprecated"
    _, payload, _ = invoke(make("ok.handler", Runtime="nodejs24.x"), {"id": 24})
    assert payload["event"] == {"id": 24}, "async handlers run on nodejs24.x"


def test_a_thrown_error_is_logged_as_the_node_runtime_logs_it(node_functions):
    make, invoke = node_functions
    result, payload, lines = invoke(make("raise_error.handler"), {"id": "k1"})
    assert set(payload) == {"errorType", "errorMessage", "trace"}
    assert (payload["errorType"], payload["errorMessage"]) == ("PoisonRecord", "cannot process k1")
    error = CONSOLE.match(next(line for line in lines if "\tERROR\t" in line))
    assert error and error.group(2) == result.request_id
    title, document = error.group(4).split(" \t", 1)
    assert title == "Invoke Error"
    assert json.loads(document)["stack"][0] == "PoisonRecord: cannot process k1"
    _, payload, _ = invoke(make("uncaught.string"))
    assert payload == {"errorType": "string", "errorMessage": "just a string", "trace": []}


@pytest.mark.parametrize(
    "handler,error_type,message",
    [
        ("uncaught.thrown", "RangeError", "thrown from a timer"),
        ("uncaught.rejected", "Runtime.UnhandledPromiseRejection", "Error: nobody catches this"),
    ],
    ids=["uncaught-exception", "unhandled-rejection"],
)
def test_uncaught_errors_fail_the_invocation_and_end_the_process(node_functions, handler, error_type, message):
    make, invoke = node_functions
    name = make(handler)
    result, payload, lines = invoke(name)
    assert result.function_error == "Unhandled"
    assert (payload["errorType"], payload["errorMessage"]) == (error_type, message)
    title = "Uncaught Exception" if error_type == "RangeError" else "Unhandled Promise Rejection"
    assert any(f"\tERROR\t{title} \t" in line for line in lines)
    again, payload, lines = invoke(name, {"ok": True})
    assert again.function_error is None and "fine" in payload, "the next event is not lost to the dying process"
    assert "Init Duration" in lines[-1], "it runs in a fresh process"


@pytest.mark.parametrize(
    "handler,error_type,message",
    [
        ("missing.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'missing'\nRequire stack:\n- "),
        (
            "import_error.handler",
            "Runtime.ImportModuleError",
            "Error: Cannot find module 'ddbstream_no_such_module'\nRequire stack:\n- ",
        ),
        ("ok.nope", "Runtime.HandlerNotFound", "ok.nope is undefined or not exported"),
        ("callback.notAFunction", "Runtime.HandlerNotFound", "callback.notAFunction is not a function"),
        ("nodots", "Runtime.MalformedHandlerName", "Bad handler"),
        ("syntax_error.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected end of input"),
        ("init_throws.handler", "TypeError", "bad configuration at load"),
    ],
)
def test_bad_handlers_are_init_errors(node_functions, handler, error_type, message):
    make, invoke = node_functions
    name = make(handler)
    for _ in range(2):  # reported again by the next invocation's fresh process
        result, payload, lines = invoke(name)
        assert result.function_error == "Unhandled"
        assert payload["errorType"] == error_type
        assert payload["errorMessage"].startswith(message), payload["errorMessage"]
        assert lines[-1].endswith(f"\tStatus: error\tError Type: {error_type}")
    messages = log_events(name, "INIT_REPORT")
    assert any(f'\tundefined\tERROR\tUncaught Exception \t{{"errorType":"{error_type}"' in m for m in messages)


def test_memory_size_sets_the_heap_limit_and_the_environment_is_lambdas(node_functions):
    make, invoke = node_functions
    _, payload, _ = invoke(make("introspect.handler", MemorySize=512))
    assert "--max-old-space-size=492" in payload["execArgv"]
    assert 480 <= payload["heapLimitMb"] <= 600
    assert payload["cwd"] == payload["taskRoot"]
    assert payload["nodePath"].split(":")[-1] == payload["taskRoot"]
    assert payload["timezoneOffset"] == 0


def test_a_handler_written_for_aws_runs_unchanged(node_functions):
    """stream_docs.mjs is shaped like the AWS docs' DynamoDB stream example (ESM, console.log with %j)."""
    make, invoke = node_functions
    records = [
        make_stream_record("INSERT", {"id": "d1", "timestamp": 1}, {"id": "d1", "timestamp": 1, "v": 7}),
        make_stream_record("REMOVE", {"id": "d1", "timestamp": 1}, old_image={"id": "d1", "timestamp": 1}),
    ]
    result, payload, lines = invoke(make("stream_docs.handler"), {"Records": records})
    assert result.function_error is None
    assert payload == "Successfully processed 2 records."
    messages = [CONSOLE.match(line).group(4) for line in lines if CONSOLE.match(line)]
    assert messages[0] == "Received 2 records"
    assert messages[1:3] == [records[0]["eventID"], "INSERT"]
    assert json.loads(messages[3].removeprefix("DynamoDB Record: ")) == records[0]["dynamodb"]
    assert messages[4:6] == [records[1]["eventID"], "REMOVE"]
