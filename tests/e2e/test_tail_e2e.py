"""End to end: `tail` through the real CLI against a real local daemon.

The daemon applies CloudWatch's filter pattern language (`--filter-pattern` with a JSON pattern
returns only the handler's ERROR lines, `-START` every line but START), `tail -f` follows with
the daemon's StartLiveTail, and by default `tail` prints one line an event, also when piped, as
`aws logs tail` does.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading

import pytest
from support import cli_env, make_project, run_cli, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A pipeline whose handler fails (and logs an ERROR line for) items with a truthy "poison"."""
    project = make_project(tmp_path_factory.mktemp("tail") / "project")
    up = run_cli("up", "--var", "fail_attribute=poison", cwd=project)
    assert up.returncode == 0, up.stderr
    for item in ('{"employeeid": "E1", "name": "Ann"}', '{"employeeid": "E2", "name": "Bob", "poison": true}'):
        put = run_cli("put", "--item", item, cwd=project)
        assert put.returncode == 0, put.stderr

    def settled():  # every attempt made: the poison record is in the DLQ, the log stops growing
        listed = run_cli("dlq", "list", "--json", cwd=project)
        return listed.stdout.strip() if listed.returncode == 0 else None

    wait_until(settled, 60, interval=0.3, message="the poison record in the DLQ")
    yield project
    run_cli("down", cwd=project)


def tail(project, *args: str) -> list[str]:
    result = run_cli("tail", "--since", "10m", *args, cwd=project)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout.splitlines()


def test_a_json_filter_pattern_returns_only_the_error_lines(project):
    lines = tail(project, "--format", "raw", "--filter-pattern", '{ $.level = "ERROR" }')
    payloads = [json.loads(line) for line in lines]
    assert len(payloads) == 3  # the first attempt and its two retries
    assert all(p["level"] == "ERROR" and p["keys"] == {"employeeid": "E2"} for p in payloads)


def test_an_excluded_term_leaves_out_only_those_lines(project):
    everything = tail(project, "--format", "raw")
    lines = tail(project, "--format", "raw", "--filter-pattern", "-START")
    # Terms match anywhere in the message (AWS: ERROR matches ERRORCODE): INIT_START goes too.
    assert [line for line in everything if "START" not in line] == lines
    assert any(line.startswith("START RequestId") for line in everything)
    assert any(line.startswith("REPORT RequestId") for line in lines)


def test_a_pattern_cloudwatch_refuses_is_one_clear_error(project):
    result = run_cli("tail", "--filter-pattern", '{ $.level = "ERROR"', cwd=project)
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.strip() == (
        "error: invalid --filter-pattern '{ $.level = \"ERROR\"': "
        "If a filter pattern starts with '{' it must end with '}'"
    )


def test_tail_prints_one_line_an_event_when_piped(project):
    events = [json.loads(line) for line in tail(project, "--format", "json")]
    shown = [event for event in events if event["kind"] != "end"]  # END lines are folded, as in pretty
    lines = tail(project)
    assert len(lines) == len(shown) > 10
    for line, event in zip(lines, shown, strict=True):
        stamp, request, rest = re.fullmatch(r"(\S{12}) (.{8}) (.*)", line).groups()
        assert stamp == event["timestamp"][11:23] and request == (event["requestId"] or "-")[:8].ljust(8)
        if event.get("data") is not None:  # a JSON payload stays compact, on its line
            assert json.loads(rest.split(" ", 1)[1].strip()) == event["data"]
    assert "\x1b[" not in "".join(lines)


def test_follow_with_a_pattern_shows_only_the_new_matching_lines(project):
    command = [sys.executable, "-m", "ddbstream", "tail", "-f", "--since", "1s", "--format", "raw"]
    command += ["--filter-pattern", '{ $.level = "ERROR" }']
    process = subprocess.Popen(
        command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        put = run_cli("put", "--item", '{"employeeid": "F1", "poison": true}', cwd=project)
        assert put.returncode == 0, put.stderr
        wait_until(lambda: len(lines) >= 3, 60, interval=0.2, message="tail -f to show the three ERROR lines")
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    assert process.returncode == int(ExitCode.INTERRUPTED)
    # Followed live (StartLiveTail): no fallback to polling, no reconnect, no missing group.
    assert "polling" not in err and "interrupted" not in err and "does not exist" not in err
    assert "Traceback" not in err
    payloads = [json.loads(line) for line in lines]
    assert [p["keys"] for p in payloads] == [{"employeeid": "F1"}] * 3 and {p["level"] for p in payloads} == {"ERROR"}
