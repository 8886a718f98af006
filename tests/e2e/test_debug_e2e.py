"""`up --debug` and `invoke --debug`: the real CLI, a real daemon, a DAP client as the debugger."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from dap_support import DapClient, listening
from support import cli_env, make_project, run_cli, stack_client, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def consumer_lines(project, function: str) -> list[str]:
    logs = stack_client(project, "logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in events]


def test_up_debug_holds_the_mappings_worker_and_invoke_debug_one_event(tmp_path):
    project = make_project(tmp_path / "project")
    mapping_port, invoke_port = free_port(), free_port()
    up = run_cli("up", "--debug", "--debug-port", str(mapping_port), "--json", cwd=project)
    assert up.returncode == 0, up.stderr
    try:
        function = json.loads(up.stdout)["resources"]["function_name"]
        assert f"waiting for a debugger on 127.0.0.1:{mapping_port}" in up.stderr

        # The mapping's batch waits in a worker until a debugger attaches; then the handler runs.
        assert run_cli("put", "--item", '{"employeeid": "E-debug", "name": "Dee"}', cwd=project).returncode == 0
        wait_until(lambda: listening(mapping_port), 30, message="debugpy on the mapping's port")
        wait_until(
            lambda: any(
                f"waiting for a debugger on 127.0.0.1:{mapping_port}" in m for m in consumer_lines(project, function)
            ),
            15,
            message="the waiting line in the consumer's log",
        )
        assert not any("E-debug" in m for m in consumer_lines(project, function))
        debugger = DapClient(mapping_port)
        try:
            debugger.attach()
            wait_until(lambda: any("E-debug" in m for m in consumer_lines(project, function)), 30, message="the record")
        finally:
            debugger.close()

        # invoke --debug: one event, on its own port; debug mode is as it was afterwards.
        invoke = subprocess.Popen(
            [sys.executable, "-m", "ddbstream", "invoke", "--debug-port", str(invoke_port)],
            cwd=project,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until(lambda: listening(invoke_port), 30, message="debugpy on the invoke's port")
            debugger = DapClient(invoke_port)
            debugger.attach()
            out, err = invoke.communicate(timeout=60)
            debugger.close()
        finally:
            invoke.kill()
        assert invoke.returncode == 0, err
        assert f"{function}: waiting for a debugger on 127.0.0.1:{invoke_port} (Ctrl-C gives up)" in err
        assert json.loads(out) == {"batchItemFailures": []}
        assert _debug_port(project, function) == mapping_port

        # A plain `up` turns debug mode off.
        assert run_cli("up", cwd=project).returncode == 0
        assert _debug_port(project, function) is None
    finally:
        run_cli("down", cwd=project)


def _debug_port(project, function: str):
    from support import stack_state

    from ddbstream.daemon import daemon_get

    state = stack_state(project)
    return daemon_get(state["endpoint"], state["secret"], f"/_ddbstream/functions/{function}/debug")["port"]


def test_debug_on_aws_is_refused_before_anything_runs(tmp_path):
    project = make_project(tmp_path / "project")
    result = run_cli("up", "--target", "aws", "--debug", cwd=project)
    assert result.returncode == ExitCode.INVALID_INPUT
    assert result.stderr.strip().splitlines() == [
        "error: --debug works on the local target only (a debugger cannot attach to AWS Lambda)"
    ]
    assert not (project / ".ddbstream" / "state.json").exists()
