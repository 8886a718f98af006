"""Debug mode of the Lambda runtime: a worker waits for a debugger, the timeout is suspended while
one holds it, and a mapping waits (no retries) with one worker at a time.

The debugger is a DAP client (tests/dap_support.py) speaking to debugpy as VS Code does; for
Node.js, the inspector's /json/list and a WebSocket session that says "run".
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from dap_support import DapClient, close_inspector_sessions, inspector_run, inspector_targets, listening
from esm_support import InThreadDaemon, handler_zip
from support import wait_until

from ddbstream.emulator.runtime import worker as worker_module
from ddbstream.stack_secret import authorization_for

# Line 5 (the return) is where the test's breakpoint goes.
SLOW_HANDLER = """import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"done": event.get("n"), "records": len(event.get("Records", []))}
"""
BREAK_LINE = 5


@pytest.fixture(scope="module")
def daemon():
    started = InThreadDaemon()
    yield started
    started.stop()


@pytest.fixture
def short_init(monkeypatch):
    """Lambda's 10 s init limit cut short: a worker waiting for its debugger would outlive it at once."""
    monkeypatch.setattr(worker_module, "INIT_TIMEOUT", 0.3)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def debug_route(daemon: InThreadDaemon, method: str, function: str, body: dict | None = None) -> tuple[int, dict]:
    host, port = daemon.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(
        method,
        f"/_ddbstream/functions/{function}/debug",
        json.dumps(body) if body is not None else None,
        {"Authorization": authorization_for("testing")},
    )
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def function_in_debug(daemon: InThreadDaemon, timeout: int = 1, **extra) -> tuple[str, int]:
    name = daemon.function(SLOW_HANDLER, Timeout=timeout, **extra)
    port = free_port()
    assert debug_route(daemon, "PUT", name, {"port": port}) == (200, {"function": name, "port": port})
    return name, port


def invoke_later(daemon: InThreadDaemon, name: str, event: dict) -> Future:
    client = daemon.client("lambda", read_timeout=120)
    pool = ThreadPoolExecutor(1)
    future = pool.submit(lambda: client.invoke(FunctionName=name, Payload=json.dumps(event).encode()))
    pool.shutdown(wait=False)
    return future


def log_messages(daemon: InThreadDaemon, name: str) -> list[str]:
    logs = daemon.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in events]


def workers_of(runtime, name: str) -> int:
    """How many worker processes the function has (busy and idle)."""
    with runtime._lock:
        workers = list(runtime._busy) + [w for ws in runtime._idle.values() for w in ws]
    return sum(1 for w in workers if w.config.name == name)


def test_the_worker_waits_for_a_debugger_and_is_not_timed_out_while_it_holds_it(daemon, short_init, tmp_path):
    name, port = function_in_debug(daemon, timeout=1)
    started = time.monotonic()
    future = invoke_later(daemon, name, {"n": 1, "sleep": 1.5})
    wait_until(lambda: listening(port), 20, message="debugpy listening")
    wait_until(
        lambda: f"ddbstream: waiting for a debugger on 127.0.0.1:{port}" in "".join(log_messages(daemon, name)),
        10,
        message="the waiting line in the function's log",
    )
    # Past the init limit plus the timeout (1.3 s here) the runtime would have given up on a normal worker.
    wait_until(lambda: time.monotonic() - started > 2.0, 5, message="the deadline a normal worker would miss")
    assert not future.done()

    debugger = DapClient(port)
    try:
        # As the README's VS Code configuration: the project's lambda/ is the worker's working directory.
        local = tmp_path / "project" / "lambda"
        debugger.attach(
            breakpoints={str(local / "h.py"): [BREAK_LINE]}, pathMappings=[{"localRoot": str(local), "remoteRoot": "."}]
        )
        stopped = debugger.wait(event="stopped")  # the handler slept 1.5 s (> Timeout) and stopped at the breakpoint
        assert stopped["body"]["reason"] == "breakpoint"
        trace = debugger.request("stackTrace", threadId=stopped["body"]["threadId"])
        top = debugger.wait(response_to=trace)["body"]["stackFrames"][0]
        assert (top["source"]["path"], top["line"]) == (str(local / "h.py"), BREAK_LINE)
        assert not future.done()
        debugger.request("continue", threadId=stopped["body"]["threadId"])
        response = future.result(timeout=30)
    finally:
        debugger.close()
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"done": 1, "records": 0}
    assert time.monotonic() - started > 1.5
    runtime = daemon.engine.invoker.runtime
    assert (runtime.work_dir / "debug" / name / "h.py").is_file()  # one path per function, whatever the code


def test_a_mapping_waits_for_the_debugger_with_one_worker_and_no_retries(daemon, short_init):
    name, port = function_in_debug(daemon, timeout=1)
    table, stream_arn = daemon.table()
    mapping = daemon.mapping(name, stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=1, MaximumRetryAttempts=0)
    daemon.put(table, "a")
    daemon.put(table, "b")
    wait_until(lambda: listening(port), 20, message="debugpy listening")
    # A second caller in the meantime waits for the same worker (no second worker grabs the port).
    direct = invoke_later(daemon, name, {"n": 2})
    runtime = daemon.engine.invoker.runtime
    started = time.monotonic()
    wait_until(lambda: time.monotonic() - started > 1.5, 5, message="past the timeout and the init limit")
    assert workers_of(runtime, name) == 1 and not direct.done()
    assert daemon.metrics(mapping["UUID"])["InFlight"]

    debugger = DapClient(port)
    try:
        debugger.attach()
        assert json.loads(direct.result(timeout=30)["Payload"].read()) == {"done": 2, "records": 0}
        wait_until(
            lambda: (
                daemon.metrics(mapping["UUID"])["RecordsDelivered"] == 2
                and not daemon.metrics(mapping["UUID"])["InFlight"]
            ),
            20,
            message="both records delivered",
        )
    finally:
        debugger.close()
    metrics = daemon.metrics(mapping["UUID"])
    assert (metrics["Invocations"], metrics["FailedInvocations"]) == (2, 0), metrics  # nothing retried
    messages = log_messages(daemon, name)
    assert len([m for m in messages if m.startswith("START RequestId")]) == 3
    assert not any("Task timed out" in m for m in messages)
    assert workers_of(runtime, name) == 1


def test_debug_mode_off_again_restores_the_timeout(daemon):
    name, port = function_in_debug(daemon, timeout=1)
    assert debug_route(daemon, "GET", name) == (200, {"function": name, "port": port})
    assert debug_route(daemon, "DELETE", name) == (200, {"function": name, "port": None})
    response = daemon.client("lambda", read_timeout=60).invoke(FunctionName=name, Payload=b'{"sleep": 2}')
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in response["Payload"].read().decode()


def test_debug_mode_off_lets_go_of_a_worker_no_debugger_attached_to(daemon):
    name, port = function_in_debug(daemon, timeout=1)
    future = invoke_later(daemon, name, {"n": 3})
    wait_until(lambda: listening(port), 20, message="debugpy listening")
    assert debug_route(daemon, "DELETE", name) == (200, {"function": name, "port": None})
    response = future.result(timeout=20)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.ExitError"
    wait_until(lambda: not listening(port), 10, message="the port free again")


def test_the_route_refuses_bad_ports_and_unknown_functions(daemon):
    name = daemon.function(SLOW_HANDLER)
    status, body = debug_route(daemon, "PUT", name, {"port": "x"})
    assert status == 400 and body["message"] == 'the body must be {"port": N} with N from 1 to 65535'
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        status, body = debug_route(daemon, "PUT", name, {"port": busy})
    assert status == 409
    assert body["message"] == f"port {busy} is in use on 127.0.0.1: choose another with --debug-port"
    status, _ = debug_route(daemon, "PUT", "no-such-function", {"port": free_port()})
    assert status == 404


NODE_HANDLER = """exports.handler = async (event) => ({ done: event.n });
"""


def test_a_nodejs_worker_waits_in_the_inspector_until_a_debugger_says_run(daemon, short_init):
    name = f"node-{free_port()}"
    daemon.client("lambda").create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=daemon.role,
        Handler="index.handler",
        Code={"ZipFile": handler_zip(NODE_HANDLER, "index.js")},
        Timeout=1,
    )
    port = free_port()
    assert debug_route(daemon, "PUT", name, {"port": port})[0] == 200
    future = invoke_later(daemon, name, {"n": 7})
    targets = wait_until(lambda: inspector_targets(port), 20, message="the inspector's target")
    wait_until(
        lambda: f"ddbstream: waiting for a debugger on 127.0.0.1:{port}" in "".join(log_messages(daemon, name)),
        10,
        message="the waiting line",
    )
    started = time.monotonic()
    wait_until(lambda: time.monotonic() - started > 1.5, 5, message="past the timeout and the init limit")
    assert not future.done()
    try:
        inspector_run(targets[0]["webSocketDebuggerUrl"])
        response = future.result(timeout=30)
    finally:
        close_inspector_sessions()
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"done": 7}


def test_debug_command_lines_listen_on_loopback_only():
    from ddbstream.emulator.runtime.languages import NODE_BOOTSTRAP, Interpreter, NodeLanguage, PythonLanguage

    python = PythonLanguage().command(Interpreter("/py", "/rt"), "app.handler", 128, debug_port=5678)
    assert python[:4] == ["/py", "-X", "frozen_modules=off", "-c"] and python[5:] == ["5678", "app.handler"]
    assert 'debugpy.listen(("127.0.0.1", port), in_process_debug_adapter=True)' in python[4]
    node = NodeLanguage().command(Interpreter("/node", "/rt"), "index.handler", 128, debug_port=9229)
    assert node[-3:] == ["--inspect=127.0.0.1:9229", str(NODE_BOOTSTRAP), "index.handler"]
