"""End to end: tail, dlq and status through the real CLI against a real local daemon.

A poison record (the handler fails items whose FAIL_ATTRIBUTE is truthy) goes to the DLQ;
`dlq list` shows it, `dlq show --records` returns the original item's images, and after the
handler is fixed (redeployed without fail_attribute) `dlq replay` processes it and empties the
queue. `tail` shows the handler's lines for a put in each format; `status --check` fails while
the DLQ holds the message and passes once the pipeline is healthy again.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from support import cli_env, make_project, run_cli, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project whose pipeline fails items with a truthy "poison" attribute."""
    project = make_project(tmp_path_factory.mktemp("observe") / "project")
    up = run_cli("up", "--var", "fail_attribute=poison", cwd=project)
    assert up.returncode == 0, up.stderr
    yield project
    run_cli("down", cwd=project)


def ok(*args: str, cwd) -> subprocess.CompletedProcess:
    result = run_cli(*args, cwd=cwd)
    assert result.returncode == 0, (args, result.returncode, result.stderr)
    return result


def dlq_rows(project) -> list[dict]:
    return [json.loads(line) for line in ok("dlq", "list", "--json", cwd=project).stdout.splitlines()]


def test_poison_record_to_dlq_show_replay_and_health(project):
    ok("put", "--item", '{"employeeid": "E1", "name": "Ann"}', cwd=project)
    ok("put", "--item", '{"employeeid": "E2", "name": "Bob", "poison": true}', cwd=project)
    [row] = wait_until(lambda: dlq_rows(project), 30, interval=0.2, message="the poison record in the DLQ")
    assert row["condition"] == "RetryAttemptsExhausted"
    assert row["attempts"] == 3  # maximum_retry_attempts = 2, plus the first attempt
    assert row["batchSize"] == 1 and row["startSequenceNumber"] == row["endSequenceNumber"]
    assert row["functionArn"].endswith(":function:employees_stream_consumer")
    assert 86000 < row["secondsUntilExpiry"] <= 86400
    message_id = row["messageId"]

    table = ok("dlq", "list", cwd=project).stdout  # piped without --json: JSON lines as well
    assert json.loads(table.splitlines()[0])["messageId"] == message_id

    check = run_cli("status", "--check", cwd=project)
    assert check.returncode == int(ExitCode.UNHEALTHY), check.stderr
    [line] = check.stderr.strip().splitlines()
    assert line.startswith("error: unhealthy: ")
    assert "the dead-letter queue holds 1 message(s): see 'ddbstream dlq list'" in line

    shown = json.loads(ok("dlq", "show", message_id, "--records", "--json", cwd=project).stdout)
    assert shown["message"]["messageId"] == message_id
    assert shown["body"]["DDBStreamBatchInfo"]["startSequenceNumber"] == row["startSequenceNumber"]
    [record] = shown["records"]
    assert record["eventName"] == "INSERT" and record["keys"] == {"employeeid": "E2"}
    assert record["old"] is None and record["new"] == {"employeeid": "E2", "name": "Bob", "poison": True}
    assert record["sequenceNumber"] == row["startSequenceNumber"] and record["current"] == record["new"]

    # Still broken: the replay fails again and the message stays.
    again = run_cli("dlq", "replay", message_id, cwd=project)
    assert again.returncode == int(ExitCode.ERROR)
    assert (
        again.stdout.strip() == f"failed {message_id}: 1 of 1 record(s) failed again "
        f"(sequence numbers {row['startSequenceNumber']}); kept in the queue"
    )
    assert again.stderr.strip() == "error: 1 of 1 message(s) could not be replayed"
    assert [r["messageId"] for r in dlq_rows(project)] == [message_id]

    # Fix the handler (redeploy without fail_attribute), then replay.
    ok("up", cwd=project)
    dry = ok("dlq", "replay", "--all", "--dry-run", cwd=project)
    assert dry.stdout.strip() == f"ok {message_id}: would invoke employees_stream_consumer with 1 record(s)"
    replayed = ok("dlq", "replay", message_id, cwd=project)
    assert replayed.stdout.strip() == f"ok {message_id}: 1 record(s) processed; deleted"
    assert dlq_rows(project) == []
    empty = ok("dlq", "list", cwd=project)
    assert empty.stdout == "" and empty.stderr.strip() == "the dead-letter queue is empty"

    # The replayed record reached the handler: its line is in the log.
    logged = ok("tail", "--since", "5m", "--format", "json", "--grep", '"E2"', cwd=project).stdout
    events = [json.loads(line)["data"] for line in logged.splitlines()]
    assert [e for e in events if isinstance(e, dict) and e.get("keys") == {"employeeid": "E2"} and "error" not in e]

    # The DLQ is empty; the mapping's last result stays PROBLEM until it processes a batch again.
    ok("put", "--item", '{"employeeid": "E3", "name": "Cy"}', cwd=project)

    def healthy():
        result = run_cli("status", "--check", cwd=project)
        return result if result.returncode == 0 else None

    passed = wait_until(healthy, 30, interval=0.2, message="status --check to pass")
    assert passed.stderr.strip() == "healthy"
    report = json.loads(ok("status", "--json", cwd=project).stdout)
    assert report["problems"] == [] and report["dlq"]["visible"] == 0
    assert report["mappings"][0]["lastProcessingResult"] == "OK"


def _handler_line_for(project, key: str, fmt: str, *extra: str) -> str:
    def found():
        out = ok("tail", "--since", "10m", "--format", fmt, *extra, cwd=project).stdout
        return out if f'"{key}"' in out else None

    return wait_until(found, 30, interval=0.2, message=f"the handler's line for {key} in --format {fmt}")


def test_tail_shows_the_handlers_lines_in_each_format(project):
    ok("put", "--item", '{"employeeid": "T1", "name": "Tailed"}', cwd=project)

    raw = _handler_line_for(project, "T1", "raw")
    [line] = [line for line in raw.splitlines() if '"T1"' in line]
    payload = json.loads(line)  # the consumer prints one JSON object per record
    assert payload["eventName"] == "INSERT" and payload["keys"] == {"employeeid": "T1"}
    assert payload["new"] == {"employeeid": "T1", "name": "Tailed"}

    short = _handler_line_for(project, "T1", "short")
    [line] = [line for line in short.splitlines() if '"T1"' in line]
    stamp, message = line.split(" ", 1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp) and json.loads(message) == payload

    as_json = _handler_line_for(project, "T1", "json")
    objects = [json.loads(line) for line in as_json.splitlines()]
    [event] = [o for o in objects if isinstance(o.get("data"), dict) and o["data"].get("keys") == {"employeeid": "T1"}]
    assert event["data"] == payload and event["kind"] == "log" and event["logStreamName"].startswith("20")
    request_id = event["requestId"]
    kinds = [o["kind"] for o in objects if o["requestId"] == request_id]
    assert kinds[0] == "start" and kinds[-2:] == ["end", "report"]

    only = ok("tail", "--since", "10m", "--format", "raw", "--request-id", request_id, cwd=project).stdout.splitlines()
    assert only[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert only[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert all(request_id in line or line.startswith("{") for line in only)

    pretty = _handler_line_for(project, "T1", "pretty", "--request-id", request_id)
    lines = pretty.splitlines()
    assert re.fullmatch(rf"\d\d:\d\d:\d\d\.\d{{3}} {request_id[:8]} START {request_id} \(\$LATEST\)", lines[0])
    assert re.fullmatch(rf"\d\d:\d\d:\d\d\.\d{{3}} {request_id[:8]} INFO", lines[1])
    end = lines.index("  }")  # a long JSON payload is indented under its line
    assert lines[2] == "  {" and json.loads("\n".join(lines[2 : end + 1])) == payload
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d\.\d{{3}} {request_id[:8]} REPORT [\d.]+ ms \(billed \d+ ms\) · \d+/128 MB.*", lines[-1]
    )
    assert not any("END RequestId" in line for line in lines)
    assert "\x1b[" not in pretty  # plain text when piped


def test_tail_follow_prints_new_lines_and_stops_cleanly(project):
    command = [sys.executable, "-m", "ddbstream", "tail", "--follow", "--since", "1s", "--format", "raw"]
    process = subprocess.Popen(
        command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
    lines: list[str] = []

    def read():
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # Keep writing until the follower shows one (it may still be starting when the first lands).
        def shown():
            if any('"F1"' in line for line in lines):
                return True
            ok("put", "--item", f'{{"employeeid": "F1", "n": {time.time_ns()}}}', cwd=project)
            return False

        wait_until(shown, 30, interval=0.3, message="tail -f to print the new record's line")
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    assert process.returncode == int(ExitCode.INTERRUPTED)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    starts = [line for line in lines if line.startswith("START RequestId: ")]
    assert len(starts) == len(set(starts))  # nothing shown twice


def test_tail_into_a_closed_pipe_ends_quietly(project):
    ok("put", "--item", '{"employeeid": "P1"}', cwd=project)
    _handler_line_for(project, "P1", "raw")
    script = f"set -o pipefail; '{sys.executable}' -m ddbstream tail --since 10m --format raw | head -n 1"
    result = subprocess.run(
        ["bash", "-c", script], cwd=project, capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 and result.stderr == ""


def _run_on_a_terminal(project, args: list[str], env: dict[str, str], until, timeout: float = 30) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal; return its output once `until` (a string,
    or a test of the output so far) shows (then Ctrl-C)."""
    import os
    import pty
    import select

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        done = until if callable(until) else (lambda text: until in text)
        while not done(output.decode(errors="replace")):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {until!r} in {output[-2000:]!r}")
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(15)
        os.close(master)
    return output.decode(errors="replace")


COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;5;\d+)m")


def test_tail_on_a_terminal_shows_a_status_line_colours_and_honours_no_color(project):
    env = {k: v for k, v in cli_env(COLUMNS="120").items() if k != "NO_COLOR"}
    waiting = _run_on_a_terminal(
        project, ["tail", "-f", "--since", "1s"], env, "waiting for log events in /aws/lambda/employees_stream_consumer"
    )
    assert "Traceback" not in waiting

    ok("put", "--item", '{"employeeid": "C1"}', cwd=project)
    coloured = _run_on_a_terminal(
        project, ["tail", "--since", "10m", "--request-id", _request_of(project, "C1")], env, "REPORT"
    )
    assert COLOUR.search(coloured) and '"C1"' in re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    plain = _run_on_a_terminal(
        project,
        ["tail", "--since", "10m", "--request-id", _request_of(project, "C1")],
        {**env, "NO_COLOR": "1"},
        "REPORT",
    )
    assert not COLOUR.search(plain) and '"C1"' in plain


def _request_of(project, key: str) -> str:
    out = _handler_line_for(project, key, "json")
    return next(
        json.loads(line)["requestId"]
        for line in out.splitlines()
        if f'"{key}"' in line and json.loads(line)["kind"] == "log"
    )


def test_status_watch_refreshes_in_place(project):
    output = _run_on_a_terminal(
        project,
        ["status", "--watch", "--interval", "0.5"],
        cli_env(COLUMNS="120"),
        lambda text: text.count("updated ") >= 2,
        timeout=30,
    )
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    for part in (
        "table employees",
        "ACTIVE",
        "mapping ",
        "Enabled",
        "function employees_stream_consumer",
        "dead-letter queue",
        "local daemon",
        "every 0.5 s · Ctrl-C to stop",
    ):
        assert part in plain, part
    assert "Traceback" not in output
