"""status judged on current facts, snapshots when piped, NO_COLOR, table size, the stand-in interpreter.

One local stack (fail_attribute=poison) whose PATH has a python3.12 that cannot run awslambdaric,
so the daemon runs the consumer on its own Python: `up` and `status` say so, the consumer's
log does not. The poison tour (DLQ, fixed handler, `dlq replay --all`) ends healthy without
any new write, though the mapping's LastProcessingResult still reads PROBLEM.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest
from support import cli_env, make_project, run_cli, wait_until

from ddbstream.errors import ExitCode
from ddbstream.item_limits import item_size
from ddbstream.items import to_ddb

pytestmark = pytest.mark.e2e

STAND_IN = re.compile(
    r"WARNING python3\.12 cannot import awslambdaric and boto3; running this function with the daemon's"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The CLI's environment, with a python3.12 first on PATH that cannot import awslambdaric."""
    bin_dir = tmp_path_factory.mktemp("bin")
    fake = bin_dir / "python3.12"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    return cli_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="module")
def project(tmp_path_factory, env):
    project = make_project(tmp_path_factory.mktemp("health") / "project")
    up = run_cli("up", "--var", "fail_attribute=poison", cwd=project, env=env)
    assert up.returncode == 0, up.stderr
    assert len(STAND_IN.findall(up.stderr)) == 1, up.stderr  # said once, at up
    yield project
    run_cli("down", cwd=project, env=env)


def ok(project, env, *args: str) -> subprocess.CompletedProcess:
    result = run_cli(*args, cwd=project, env=env)
    assert result.returncode == 0, (args, result.returncode, result.stderr)
    return result


def test_a_replayed_and_fixed_tour_ends_healthy(project, env):
    ok(project, env, "put", "--item", '{"employeeid": "E666", "poison": true}')
    wait_until(
        lambda: ok(project, env, "dlq", "list", "--json").stdout.strip(), 60, 0.2, "the poison record in the DLQ"
    )
    sick = run_cli("status", "--check", cwd=project, env=env)
    assert sick.returncode == int(ExitCode.UNHEALTHY)
    assert "the dead-letter queue holds 1 message(s)" in sick.stderr
    assert "failed" in sick.stderr and "since" in sick.stderr  # the consumer's recent failures, named

    ok(project, env, "up")  # the fixed handler
    replayed = ok(project, env, "dlq", "replay", "--all")
    assert "1 record(s) processed; deleted" in replayed.stdout

    check = run_cli("status", "--check", cwd=project, env=env)  # no new write needed
    assert check.returncode == 0, check.stderr
    assert check.stderr.strip().splitlines()[-1] == "healthy"
    report = json.loads(ok(project, env, "status", "--json").stdout)
    assert report["problems"] == []
    [mapping] = report["mappings"]
    assert mapping["lastProcessingResult"].startswith("PROBLEM")  # shown as information, not judged
    assert "last processing result" not in check.stdout or "PROBLEM" in check.stdout
    assert "recent errors" in check.stdout and "last 5 min" in check.stdout


def test_the_stand_in_interpreter_is_said_in_status_not_in_the_consumers_log(project, env):
    ok(project, env, "put", "--item", '{"employeeid": "W1"}')

    def logged_w1() -> str | None:
        out = ok(project, env, "tail", "--since", "10m", "--format", "raw").stdout
        return out if '"W1"' in out else None

    logged = wait_until(logged_w1, 30, 0.2, "the handler's line for W1")
    assert "INIT_START" in logged and "WARNING" not in logged, logged
    function = json.loads(ok(project, env, "status", "--json").stdout)["function"]
    assert function["localInterpreter"]["executable"] == sys.executable
    assert STAND_IN.match(function["localInterpreter"]["warning"])
    assert STAND_IN.search(ok(project, env, "status").stdout)


def test_status_reports_the_tables_size_and_item_count(project, env):
    item = {"employeeid": "S1", "name": "Sized", "skills": ["a", "b"], "level": 12}
    ok(project, env, "put", "--item", json.dumps(item))
    table = json.loads(ok(project, env, "status", "--json").stdout)["table"]
    items = [json.loads(line) for line in ok(project, env, "scan").stdout.splitlines()]
    assert table["itemCount"] == len(items) >= 1
    assert table["sizeBytes"] == sum(item_size(to_ddb(i)) for i in items) > 0


def _lines_while_piped(project, env, args: list[str], wanted: int, timeout: float = 30) -> list[str]:
    """The first ``wanted`` lines `ddbstream ARGS` prints with stdout on a pipe (then SIGTERM, as `timeout` does)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    buffer, deadline = b"", time.monotonic() + timeout
    try:
        while buffer.count(b"\n") < wanted:
            assert time.monotonic() < deadline, f"timed out with {buffer!r}"
            if select.select([process.stdout], [], [], 0.1)[0]:
                chunk = os.read(process.stdout.fileno(), 65536)
                assert chunk, f"ended early with {buffer!r}"
                buffer += chunk
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    return buffer.decode().splitlines()[:wanted]


def test_status_watch_prints_one_snapshot_per_interval_when_piped(project, env):
    lines = _lines_while_piped(project, env, ["status", "--watch", "--json", "--interval", "0.5"], 2)
    reports = [json.loads(line) for line in lines]
    assert all(r["table"]["name"] == "employees" and "problems" in r for r in reports)

    text = _lines_while_piped(project, env, ["status", "--watch", "--interval", "0.5"], 30)
    assert sum(line.startswith("updated ") for line in text) >= 2 or "\n".join(text).count("updated ") >= 2
    assert not any("\x1b" in line for line in text)


def _on_a_terminal(project, env, args: list[str], timeout: float = 60) -> str:
    """What `ddbstream ARGS` writes with stdout and stderr on a pseudo-terminal (it exits by itself)."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ddbstream", *args], cwd=project, env=env, stdin=subprocess.DEVNULL,
        stdout=slave, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
    finally:
        process.wait(15)
        os.close(master)
    return output.decode(errors="replace")


def test_no_color_means_no_styles_either(project, env):
    styled = _on_a_terminal(project, {k: v for k, v in env.items() if k != "NO_COLOR"}, ["status"])
    assert "\x1b[1m" in styled  # on a terminal the titles are bold
    plain = _on_a_terminal(project, env, ["status"])  # env has NO_COLOR=1
    assert "table employees" in plain
    assert not re.search(r"\x1b\[[0-9;]*m", plain), plain
