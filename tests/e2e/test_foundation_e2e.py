"""End to end: the real CLI in a subprocess against a real local daemon."""

import json
import os
import signal
import stat
from urllib.parse import urlparse

import pytest
from support import run_cli, stack_client, wait_until

from ddbstream.daemon import pid_running
from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e


def _state(project):
    return json.loads((project / ".ddbstream" / "state.json").read_text())


def _one_error_line(result, expected_code, fragment):
    assert result.returncode == int(expected_code), (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_item_lifecycle_and_down(stack):
    project, info = stack
    assert info["resources"]["table_name"] == "employees"
    assert info["resources"]["stream_arn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/employees/stream/")

    put = run_cli(
        "put", "--item", '{"employeeid": "E101", "name": "Alice", "pay": 12345678901234567890.25}', cwd=project
    )
    assert put.returncode == 0, put.stderr
    assert put.stderr.strip() == 'put employeeid="E101" into employees'

    got = run_cli("get", "E101", cwd=project)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == '{"employeeid": "E101", "name": "Alice", "pay": 12345678901234567890.25}'

    updated = run_cli("update", "E101", "--set", "dept=Finance", "--add", "visits=2", "--remove", "name", cwd=project)
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout) == {
        "employeeid": "E101",
        "pay": 12345678901234567890.25,
        "dept": "Finance",
        "visits": 2,
    }

    ddb = run_cli("get", "--key", '{"employeeid": {"S": "E101"}}', "--ddb-json", cwd=project)
    assert json.loads(ddb.stdout)["visits"] == {"N": "2"}

    deleted = run_cli("delete", "E101", "--return", "old", cwd=project)
    assert deleted.returncode == 0 and json.loads(deleted.stdout)["dept"] == "Finance"
    _one_error_line(run_cli("get", "E101", cwd=project), ExitCode.NOT_FOUND, 'no item with key employeeid="E101"')

    pid = _state(project)["pid"]
    down = run_cli("down", cwd=project)
    assert down.returncode == 0 and down.stderr.strip().startswith("local stack stopped")
    wait_until(lambda: not pid_running(pid), 10, message="daemon exit")
    assert not (project / ".ddbstream" / "state.json").exists()
    _one_error_line(
        run_cli("get", "E101", cwd=project), ExitCode.NO_STACK, "no local stack is running: run 'ddbstream up'"
    )


def test_state_file_is_private_and_endpoint_is_loopback(stack):
    # Every listening socket is checked in tests/test_security.py.
    project, info = stack
    mode = stat.S_IMODE((project / ".ddbstream" / "state.json").stat().st_mode)
    assert mode == 0o600
    assert urlparse(info["endpoint"]).hostname == "127.0.0.1"


def test_second_up_reconciles_and_reports_drift(stack):
    project, info = stack
    again = run_cli("up", "--json", cwd=project)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["endpoint"] == info["endpoint"]
    assert "drift" not in again.stderr

    # What cannot change in place is planned as a replacement, which deletes the table: asked first.
    drift = run_cli("up", "--var", "hash_key=other", "--var", "stream_view_type=KEYS_ONLY", cwd=project, input="")
    assert drift.returncode == int(ExitCode.CANCELLED), drift.stderr
    # No answer on stdin: the plan on stdout, the refusal one line on stderr.
    assert '    ~ KeySchema: "employeeid (S, HASH)" -> "other (S, HASH)"  # forces replacement' in drift.stdout
    assert '    ~ StreamViewType: "NEW_AND_OLD_IMAGES" -> "KEYS_ONLY"' in drift.stdout
    assert drift.stderr.count("\n") == 1 and drift.stderr.startswith("error: no answer to"), drift.stderr


def test_killed_daemon_is_detected_and_replaced(stack):
    project, info = stack
    old_pid = _state(project)["pid"]
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: not pid_running(old_pid), 10, message="daemon death")
    _one_error_line(run_cli("scan", cwd=project), ExitCode.NO_STACK, "no local stack is running: run 'ddbstream up'")
    again = run_cli("up", "--json", cwd=project)
    assert again.returncode == 0, again.stderr
    assert _state(project)["pid"] != old_pid
    assert run_cli("put", "--item", '{"employeeid": "E1"}', cwd=project).returncode == 0


def test_composite_keys_from_a_var_file(project):
    (project / "infra" / "terraform.tfvars").write_text(
        'table_name = "UserActivities"\nhash_key = "UserId"\nrange_key = "ts"\nrange_key_type = "N"\n'
    )
    try:
        assert run_cli("up", cwd=project).returncode == 0
        assert run_cli("put", "--item", '{"UserId": "u1", "ts": 1700000000, "a": "login"}', cwd=project).returncode == 0
        got = run_cli("get", "u1", "1700000000", cwd=project)
        assert json.loads(got.stdout) == {"UserId": "u1", "ts": 1700000000, "a": "login"}
        _one_error_line(
            run_cli("get", "u1", "later", cwd=project),
            ExitCode.INVALID_INPUT,
            "key attribute 'ts' must be a number, got 'later'",
        )
    finally:
        run_cli("down", cwd=project)


BAD_INPUTS = [
    (
        ["put", "--item", '{"employeeid": "E1",}'],
        ExitCode.INVALID_INPUT,
        "invalid JSON in item: Expecting property name enclosed in double quotes at line 1 column 21",
    ),
    (["put", "--item", "[1]"], ExitCode.INVALID_INPUT, "item must be a JSON object, got an array"),
    (["put", "--item", '{"name": "x"}'], ExitCode.INVALID_INPUT, "item is missing key attribute 'employeeid' (type S)"),
    (
        ["put", "--item", '{"employeeid": 101}'],
        ExitCode.INVALID_INPUT,
        "key attribute 'employeeid' must be of type S, got N",
    ),
    (["put", "--item", '{"employeeid": ""}'], ExitCode.INVALID_INPUT, "key attribute 'employeeid' must not be empty"),
    (["put", "--item", "@big.json"], ExitCode.INVALID_INPUT, "DynamoDB's limit is 400 KB"),
    (["put", "--item", '{"employeeid": "E1", "v": NaN}'], ExitCode.INVALID_INPUT, "unsupported number NaN"),
    (["put", "--item", '{"employeeid": "E1", "v": Infinity}'], ExitCode.INVALID_INPUT, "unsupported number Infinity"),
    (
        ["put", "--if-not-exists", "--item", '{"employeeid": "SEED", "v": 2}'],
        ExitCode.CONDITION_FAILED,
        'condition check failed: the current item is {"employeeid": "SEED", "v": 1}',
    ),
    (["put", "--bogus"], ExitCode.USAGE, "No such option: --bogus"),
    (["get"], ExitCode.INVALID_INPUT, "expected 1 key value(s) (employeeid), got 0"),
    (["update", "SEED"], ExitCode.INVALID_INPUT, "nothing to update"),
    (["update", "SEED", "--add", "v=two"], ExitCode.INVALID_INPUT, "--add 'v=two': value must be a number"),
    (["put", "--item", "@/nonexistent/item.json"], ExitCode.INVALID_INPUT, "cannot read /nonexistent/item.json"),
    (["delete", "SEED", "--return", "new"], ExitCode.INVALID_INPUT, "--return new makes no sense for delete"),
    (["up", "--var", "stream_view_type=ALL"], ExitCode.SPEC, "invalid value for variable 'stream_view_type'"),
    (["up", "--var", "nope=1"], ExitCode.SPEC, "unknown variable 'nope'"),
    (["up", "--target", "mars"], ExitCode.INVALID_INPUT, "unknown target 'mars'"),
]


def test_bad_input_is_refused_with_one_line_and_nothing_written(stack):
    project, _ = stack
    assert run_cli("put", "--item", '{"employeeid": "SEED", "v": 1}', cwd=project).returncode == 0
    (project / "big.json").write_text('{"employeeid": "E1", "blob": "' + "x" * 410000 + '"}')
    before = run_cli("scan", "--json", cwd=project).stdout
    for args, code, fragment in BAD_INPUTS:
        _one_error_line(run_cli(*args, cwd=project), code, fragment)
    assert run_cli("scan", "--json", cwd=project).stdout == before


def test_missing_table_is_reported(stack):

    project, info = stack
    stack_client(project, "dynamodb").delete_table(TableName="employees")
    _one_error_line(
        run_cli("put", "--item", '{"employeeid": "E1"}', cwd=project),
        ExitCode.NOT_FOUND,
        "table employees does not exist: run 'ddbstream up'",
    )


def test_commands_without_a_stack(project):
    for args in (["put", "--item", '{"employeeid": "E1"}'], ["get", "E1"], ["scan"], ["down"]):
        _one_error_line(run_cli(*args, cwd=project), ExitCode.NO_STACK, "no local stack is running: run 'ddbstream up'")


def test_outside_a_project(tmp_path):
    result = run_cli("up", cwd=tmp_path)
    _one_error_line(result, ExitCode.NO_STACK, "no ddbstream project here (no infra/variables.tf")


def test_python_dash_m_and_help(project):
    result = run_cli("--help", cwd=project)
    assert result.returncode == 0
    for command in ("up", "down", "put", "get", "update", "delete", "scan"):
        assert command in result.stdout


def test_version(project):
    from importlib.metadata import version

    result = run_cli("--version", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ddbstream {version('ddbstream')}\n"


def test_bad_spec_leaves_no_daemon_behind(project):
    result = run_cli("up", "--var", "billing_mode=FREE", cwd=project)
    _one_error_line(result, ExitCode.SPEC, "invalid value for variable 'billing_mode'")
    assert not (project / ".ddbstream" / "state.json").exists()
    assert not (project / ".ddbstream" / "daemon.port").exists()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            assert not ("ddbstream.emulator" in cmdline and str(project) in cmdline), cmdline


def test_relative_state_dir(project):
    env = dict(__import__("support").cli_env(DDBSTREAM_STATE_DIR="relative-state"))
    try:
        assert run_cli("up", cwd=project, env=env).returncode == 0
        assert (project / "relative-state" / "state.json").exists()
        assert run_cli("put", "--item", '{"employeeid": "R1"}', cwd=project, env=env).returncode == 0
    finally:
        run_cli("down", cwd=project, env=env)


def test_daemon_stops_when_its_project_is_deleted(tmp_path):
    import shutil

    from support import make_project

    project = make_project(tmp_path / "doomed")
    assert run_cli("up", cwd=project).returncode == 0
    pid = _state(project)["pid"]
    shutil.rmtree(project)
    wait_until(lambda: not pid_running(pid), 20, message="orphaned daemon exit")


def test_invalid_filter_pattern_is_refused_before_anything_is_created(project):
    result = run_cli("up", "--var", 'filter_patterns=["{\\"eventName\\": \\"INSERT\\"}"]', cwd=project)
    _one_error_line(result, ExitCode.SPEC, "invalid value for variable 'filter_patterns'")
    assert not (project / ".ddbstream" / "state.json").exists()  # no daemon was left running


def test_error_messages_spanning_lines_print_as_one(capsys, monkeypatch):
    from ddbstream.cli.output import error

    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    error("first line\n  second line\n")
    assert capsys.readouterr().err == "error: first line second line\n"
