"""Faults survived, through the event source mapping of a real daemon: the handler raises, hangs
past its timeout, exits, segfaults, runs out of memory, prints 10 MB at once or returns
something that is not JSON; a worker is killed from outside; a client hangs up mid-request;
`ddbstream down` arrives while a batch is in flight. Each time the daemon keeps serving, the
faulty record is retried and lands in the DLQ (or is processed), and nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
from reliability_support import consumer_dir
from support import cli_env, make_project, run_cli, stack_client, stack_state, wait_until

from ddbstream.daemon import pid_running, ping
from ddbstream.load import DlqView, HandlerLog, account, read_stream, stream_records

pytestmark = pytest.mark.e2e
TIMEOUT = 3  # the function's timeout (s)


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    project = make_project(base / "project")
    markers = base / "markers"
    markers.mkdir()
    env = {"MARKER_DIR": str(markers)}
    result = run_cli(
        "up",
        "--json",
        "--var",
        f"lambda_source_dir={consumer_dir(project)}",
        "--var",
        "lambda_handler=fault_handler.lambda_handler",
        "--var",
        f"lambda_timeout={TIMEOUT}",
        "--var",
        f"lambda_environment={json.dumps(env)}",
        "--var",
        "maximum_retry_attempts=1",
        "--var",
        "bisect_batch_on_function_error=true",
        "--var",
        "batch_size=10",
        cwd=project,
        # 10 MB of 100-byte lines is ~105,000 events: over the daemon's default cap of 50,000 a log group
        # (README), the cap drops the big invocation's START line, and the ledger (ddbstream load's
        # HandlerLog) cannot tie its lines to an invocation. The cap is raised here; the limit is known.
        env=cli_env(DDBSTREAM_LOG_EVENTS_PER_GROUP="400000"),
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    clients = {name: stack_client(project, name) for name in ("dynamodb", "dynamodbstreams", "logs", "sqs")}
    yield project, info, clients, markers
    if (project / ".ddbstream" / "state.json").exists():
        run_cli("down", cwd=project)


class Ledger:
    """Where the stack's records ended up (stream, handler log, DLQ), read through AWS APIs."""

    def __init__(self, info, clients):
        resources = info["resources"]
        self.info, self.clients = info, clients
        self.log = HandlerLog(clients["logs"], resources["log_group"], 0)
        self.dlq = DlqView(clients["sqs"], clients["dynamodbstreams"], resources["queue_url"])

    def outcome(self):
        arn = self.info["resources"]["stream_arn"]
        records = stream_records(read_stream(self.clients["dynamodbstreams"], arn), arn)
        self.log.poll()
        self.dlq.poll()
        return records, account(records, self.log, self.dlq, {})


def _put(clients, key, **attributes):
    item = {"employeeid": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
    clients["dynamodb"].put_item(TableName="employees", Item=item)


def _settled(ledger, keys):
    """Wait until the records of ``keys`` are all processed or in the DLQ; return {key: outcome}."""

    def done():
        records, accounting = ledger.outcome()
        mine = {
            json.loads(r.key_id)["employeeid"]["S"]: r.sequence_number
            for r in records
            if json.loads(r.key_id)["employeeid"]["S"] in keys
        }
        if len(mine) < len(keys) or any(seq in accounting.pending for seq in mine.values()):
            return None
        return {
            key: ("processed" if seq in accounting.processed_ids else "dlq" if seq in accounting.dlq_ids else "other")
            for key, seq in mine.items()
        }, accounting

    return wait_until(done, 90, 0.2, f"records of {sorted(keys)} to settle")


def _serving(project, info, clients):
    """The daemon answers its health check and a new write still reaches the handler."""
    assert ping(info["endpoint"], stack_state(project)["secret"]) is not None
    key = f"alive-{time.monotonic_ns()}"
    _put(clients, key)
    outcome, _ = _settled(Ledger(info, clients), {key})
    assert outcome[key] == "processed"


# What the runtime logs for each fault (so each test fails the way it means to).
EVIDENCE = {
    "raise": "injected: raising for",
    "hang": f"Task timed out after {TIMEOUT}.00 seconds",
    "exit": "Runtime exited with error: exit status 7",
    "segv": "Runtime exited with error: signal: segmentation fault",
    "oom": "Runtime.OutOfMemory",
    "nonjson": "Runtime.MarshalError",
}


@pytest.mark.parametrize("fault", sorted(EVIDENCE))
def test_failing_handler_sends_the_record_to_the_dlq_and_keeps_serving(fault_stack, fault):
    project, info, clients, _ = fault_stack
    before, after, bad = f"{fault}-before", f"{fault}-after", f"{fault}-bad"
    _put(clients, before)
    _put(clients, bad, fault=fault)
    _put(clients, after)
    outcome, accounting = _settled(Ledger(info, clients), {before, bad, after})
    assert outcome == {before: "processed", bad: "dlq", after: "processed"}
    assert not accounting.both and not accounting.dlq_twice and not accounting.unexplained
    events = clients["logs"].filter_log_events(
        logGroupName=info["resources"]["log_group"], filterPattern=f'"{EVIDENCE[fault]}"', interleaved=True
    )["events"]
    assert events, f"no {EVIDENCE[fault]!r} in the function's log"
    _serving(project, info, clients)


def test_ten_megabytes_printed_at_once(fault_stack):
    project, info, clients, _ = fault_stack
    _put(clients, "big", fault="bigprint")
    outcome, _ = _settled(Ledger(info, clients), {"big"})
    assert outcome == {"big": "processed"}

    def done_logged() -> bool:
        # The log reaches CloudWatch after the handler's side effects (on AWS too): wait for it.
        pages = (
            clients["logs"]
            .get_paginator("filter_log_events")
            .paginate(logGroupName=info["resources"]["log_group"], filterPattern='"bigprint"', interleaved=True)
        )
        return any('"bigprint": "done"' in e["message"] for page in pages for e in page["events"])

    wait_until(done_logged, 30, 0.2, "the handler's last line in its log")
    _serving(project, info, clients)


def test_worker_killed_from_outside(fault_stack):
    project, info, clients, markers = fault_stack
    _put(clients, "victim", fault="killme")

    def pid_logged():
        for page in (
            clients["logs"]
            .get_paginator("filter_log_events")
            .paginate(logGroupName=info["resources"]["log_group"], filterPattern='"killme"', interleaved=True)
        ):
            for event in page["events"]:
                if event["message"].startswith('{"killme"'):
                    return json.loads(event["message"])["pid"]
        return None

    pid = wait_until(pid_logged, 30, 0.05, "the victim's pid")
    os.kill(pid, signal.SIGKILL)
    outcome, _ = _settled(Ledger(info, clients), {"victim"})
    assert outcome == {"victim": "processed"}  # the retry, in a fresh worker, processed it
    reports = clients["logs"].filter_log_events(
        logGroupName=info["resources"]["log_group"], filterPattern='"signal: killed"', interleaved=True
    )["events"]
    assert reports, "the killed invocation was not reported as a runtime exit"
    _serving(project, info, clients)


def test_client_disconnecting_mid_request(fault_stack):
    project, info, clients, _ = fault_stack
    address = urlparse(info["endpoint"])
    body = b'{"TableName": "employees", "Item": {"employeeid": {"S": "half"}}}'
    head = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    for partial in (b"", b"POST / HT", head[:40], head, head + body[:20], b"GET /_ddbstream/health HTTP/1.1\r\n"):
        for _ in range(5):
            with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
                connection.sendall(partial)
                if partial.endswith(body[:20]):
                    connection.shutdown(socket.SHUT_WR)  # a half-close, then gone
    _serving(project, info, clients)
    assert "Item" not in clients["dynamodb"].get_item(TableName="employees", Key={"employeeid": {"S": "half"}})


def test_down_while_a_batch_is_in_flight(fault_stack):
    """`down` waits for the in-flight batch: the daemon has been told to stop, yet it keeps
    running until the handler is released and finishes (its marker file appears); only then
    does it exit (what comes back at the next `up`: tests/test_crash_safety_e2e.py)."""
    project, info, clients, markers = fault_stack
    _put(clients, "slowpoke", fault="slow")
    arn = info["resources"]["stream_arn"]
    event_id = wait_until(
        lambda: next(
            (
                r.event_id
                for r in stream_records(read_stream(clients["dynamodbstreams"], arn), arn)
                if "slowpoke" in r.key_id
            ),
            None,
        ),
        10,
        0.05,
        "the slow record",
    )
    wait_until(lambda: (markers / f"started-{event_id}").exists(), 30, 0.01, "the slow batch to start")
    pid = json.loads((project / ".ddbstream" / "state.json").read_text())["pid"]
    daemon_log = project / ".ddbstream" / "daemon.log"
    down = subprocess.Popen(
        [sys.executable, "-m", "ddbstream", "down"],
        cwd=project,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: ": stopping" in daemon_log.read_text(), 30, 0.01, "the daemon to begin stopping")
        assert down.poll() is None and pid_running(pid), "down returned while the batch was still in flight"
        assert not (markers / f"done-{event_id}").exists()
        (markers / f"release-{event_id}").touch()
        _, stderr = down.communicate(timeout=60)
    finally:
        if down.poll() is None:
            down.kill()
    assert down.returncode == 0, stderr
    assert (markers / f"done-{event_id}").exists(), "the in-flight batch was cut off by down"
    assert not pid_running(pid)
