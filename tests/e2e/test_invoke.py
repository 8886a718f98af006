"""`ddbstream invoke`: the consumer run once through the daemon's Lambda Invoke API."""

from __future__ import annotations

import json
import re

import pytest
from support import make_project, run_cli

from ddbstream.errors import ExitCode
from ddbstream.invoke import InvokeResult, read_event

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One local stack for the module's tests (they only invoke; none changes the stack)."""
    project = make_project(tmp_path_factory.mktemp("invoke") / "project")
    result = run_cli("up", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    yield project, json.loads(result.stdout)
    run_cli("down", cwd=project)


START = re.compile(r"^START RequestId: (\S+) Version: \$LATEST$")
REPORT = re.compile(r"^REPORT RequestId: (\S+)\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\t")


def _log_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("error:")]


def test_invoke_sample_event_prints_payload_and_log(stack):
    project, info = stack
    result = run_cli("invoke", cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"batchItemFailures": []}
    lines = _log_of(result.stderr)
    assert START.match(lines[0]) and REPORT.match(lines[-1])
    request_id = START.match(lines[0]).group(1)
    assert lines[-2] == f"END RequestId: {request_id}"
    change = json.loads(lines[1])
    assert change["eventName"] == "INSERT"
    assert change["keys"] == {"employeeid": "E101"}
    assert change["old"] is None
    assert change["new"] == {
        "employeeid": "E101",
        "name": "Alice Martin",
        "department": "Engineering",
        "salary": 85000,
        "skills": ["dynamodb", "python"],
        "address": {"city": "Lisbon", "country": "PT"},
        "active": True,
    }


def test_event_piped_into_invoke_with_a_failing_record(project):
    """fail_attribute makes one record fail: reported in batchItemFailures, exit 0, logs show why."""
    up = run_cli("up", "--var", "fail_attribute=poison", cwd=project)
    assert up.returncode == 0, up.stderr
    try:
        event = run_cli("event", "modify", "--item", '{"employeeid": "E9", "poison": true, "n": 0.10}', cwd=project)
        assert event.returncode == 0, event.stderr
        sequence = json.loads(event.stdout)["Records"][0]["dynamodb"]["SequenceNumber"]
        result = run_cli("invoke", "--event", "-", cwd=project, input=event.stdout)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"batchItemFailures": [{"itemIdentifier": sequence}]}
        lines = _log_of(result.stderr)
        logged = [json.loads(line) for line in lines if line.startswith("{")]
        assert logged[0]["new"] == {"employeeid": "E9", "poison": True, "n": 0.10}
        assert logged[1]["level"] == "ERROR" and logged[1]["step"] == "process"
        assert "InjectedFailure" in logged[1]["error"]
        assert result.stderr.rstrip().endswith(f"1 record(s) reported as failed: {sequence}")
    finally:
        run_cli("down", cwd=project)


def test_function_error_prints_the_log_then_one_error_line(stack, tmp_path):
    project, _ = stack
    bad = tmp_path / "bad.json"
    bad.write_text('{"Records": 5}')
    result = run_cli("invoke", "--event", str(bad), cwd=project)
    assert result.returncode == ExitCode.ERROR
    assert result.stdout == ""
    lines = result.stderr.rstrip("\n").splitlines()
    assert START.match(lines[0])
    assert any(line.startswith("[ERROR] TypeError: ") for line in lines)
    assert REPORT.match(lines[-2])
    assert lines[-1] == ("error: employees_stream_consumer failed (Unhandled): TypeError: 'int' object is not iterable")


def test_json_output_and_inline_event(stack):
    project, _ = stack
    result = run_cli("invoke", "--json", "--event", '{"Records": []}', cwd=project)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["functionName"] == "employees_stream_consumer"
    assert document["statusCode"] == 200
    assert document["functionError"] is None
    assert document["payload"] == {"batchItemFailures": []}
    assert START.match(document["log"][0]) and REPORT.match(document["log"][-1])


def test_unknown_function_and_bad_event(stack):
    project, _ = stack
    missing = run_cli("invoke", "--function", "nope", cwd=project)
    assert (missing.returncode, missing.stderr) == (ExitCode.NOT_FOUND, "error: function nope does not exist\n")
    no_file = run_cli("invoke", "--event", "missing.json", cwd=project)
    assert (no_file.returncode, no_file.stderr) == (
        ExitCode.INVALID_INPUT,
        "error: --event missing.json: no such file\n",
    )
    broken = run_cli("invoke", "--event", "-", cwd=project, input="{oops")
    assert broken.returncode == ExitCode.INVALID_INPUT
    assert broken.stderr.startswith("error: invalid JSON in the event (stdin): ")


def test_invoke_without_a_stack(project):
    result = run_cli("invoke", cwd=project)
    assert (result.returncode, result.stdout) == (ExitCode.NO_STACK, "")
    assert result.stderr == "error: no local stack is running: run 'ddbstream up'\n"


def test_log_tail_cut_is_detected():
    full = InvokeResult("f", 200, None, log="START RequestId: x Version: $LATEST\nhello\n")
    assert not full.log_truncated
    cut = InvokeResult("f", 200, None, log="y" * 5000 + "\nEND RequestId: x\n")
    assert cut.log_truncated
    assert cut.batch_item_failures() == []
    failed = InvokeResult("f", 200, {"errorType": "ValueError", "errorMessage": "bad"}, function_error="Unhandled")
    assert failed.error_summary() == "ValueError: bad"


def test_read_event_sources(tmp_path, monkeypatch):
    path = tmp_path / "e.json"
    path.write_text('{"Records": [], "n": 1.10}')
    assert read_event(str(path)) == read_event(f"@{path}") == read_event('{"Records": [], "n": 1.10}')
    assert str(read_event(str(path))["n"]) == "1.10"
