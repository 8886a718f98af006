"""`ddbstream up --watch --tail`: the real CLI in a subprocess, saving files under lambda/ and infra/.

One watch process serves the module (its daemon takes seconds to start); the tests run in file
order and the last one ends it with Ctrl-C. The handler prints ``WATCHTEST <VERSION> <key>`` per
record, so the log says which code processed each record, and how many times.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from support import cli_env, make_project, run_cli, stack_client, stack_state, wait_until

from ddbstream.daemon import daemon_get
from ddbstream.errors import ExitCode

HANDLER = """VERSION = {version}


def lambda_handler(event, context):
    for record in event["Records"]:
        key = record["dynamodb"]["Keys"]["employeeid"]["S"]
        print("WATCHTEST", VERSION, key, record["dynamodb"]["SequenceNumber"], flush=True)
    return {{"batchItemFailures": []}}
"""
RELOADED = "reloaded in "


class Watch:
    """The `up --watch --tail` process of a project, with its stdout and stderr lines as they come."""

    def __init__(self, project: Path):
        self.project = project
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ddbstream", "up", "--watch", "--tail"],
            cwd=project,
            env=cli_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lambda s=stream, kept=lines: kept.extend(s), daemon=True).start()

    def lines_since(self, mark: int, containing: str) -> list[str]:
        return [line for line in self.err[mark:] if containing in line]

    def save_handler(self, version: int, text: str | None = None) -> int:
        """Write lambda/handler.py; returns the stderr mark to read the reload's line from."""
        mark = len(self.err)
        (self.project / "lambda" / "handler.py").write_text(text or HANDLER.format(version=version))
        return mark

    def wait_reload(self, mark: int, containing: str = RELOADED) -> str:
        try:
            found = wait_until(lambda: self.lines_since(mark, containing), 30, message=f"a line with {containing!r}")
        except AssertionError as exc:  # what the watch said meanwhile, read now (not when the wait began)
            alive = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
            raise AssertionError(f"{exc}; the watch ({alive}) said since:\n{''.join(self.err[mark:])}") from None
        return found[0]


def processed(project: Path) -> list[tuple[int, str, int]]:
    """(version, key, sequence number) of every WATCHTEST line in the consumer's log."""
    logs = stack_client(project, "logs")
    group = stack_state(project)["resources"]["log_group"]
    found = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern='"WATCHTEST"'):
        for event in page["events"]:
            _, version, key, sequence = event["message"].split()
            found.append((int(version), key, int(sequence)))
    return found


def version_of(project: Path, key: str) -> int | None:
    versions = [v for v, k, _ in processed(project) if k == key]
    return versions[0] if versions else None


def put(project: Path, key: str) -> None:
    stack_client(project, "dynamodb").put_item(
        TableName=stack_state(project)["resources"]["table_name"], Item={"employeeid": {"S": key}}
    )


@pytest.fixture(scope="module")
def watch(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("watch") / "project")
    (project / "lambda" / "handler.py").write_text(HANDLER.format(version=1))
    running = Watch(project)
    try:
        wait_until(
            lambda: any(line.startswith("watching ") for line in running.err) or running.process.poll() is not None,
            120,
            interval=0.1,
            message="up --watch to start watching",
        )
        assert running.process.poll() is None, "".join(running.err)
        yield running
    finally:
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            running.process.wait(30)
        run_cli("down", cwd=project)


def test_a_saved_handler_runs_for_the_next_record_and_tail_shows_it(watch):
    put(watch.project, "N1")
    wait_until(lambda: version_of(watch.project, "N1") == 1, 30, message="N1 processed by version 1")
    line = watch.wait_reload(watch.save_handler(2))
    assert "(lambda/handler.py): updated function employees_stream_consumer: new code" in line
    put(watch.project, "N2")
    wait_until(lambda: version_of(watch.project, "N2") == 2, 30, message="N2 processed by version 2")
    # --tail: the consumer's log in the same terminal (stdout), the reload lines on stderr
    wait_until(lambda: any("WATCHTEST 2 N2" in line for line in watch.out), 30, message="the tail to show N2")
    assert not any("Traceback" in line for line in watch.err)


def test_a_syntax_error_is_one_line_and_the_deployed_code_keeps_running(watch):
    mark = watch.save_handler(0, HANDLER.format(version=3).replace("def lambda_handler(event, context):", "def (:"))
    line = watch.wait_reload(mark, "SyntaxError")
    assert line.startswith("error: ") and "lambda/handler.py:4:" in line
    assert line.rstrip().endswith("the code deployed before keeps running")
    put(watch.project, "S1")
    wait_until(lambda: version_of(watch.project, "S1") == 2, 30, message="S1 processed by the code before")
    assert len(watch.lines_since(mark, "error")) == 1 and not watch.lines_since(mark, RELOADED)
    fixed = watch.wait_reload(watch.save_handler(3))
    assert "new code" in fixed
    put(watch.project, "S2")
    wait_until(lambda: version_of(watch.project, "S2") == 3, 30, message="S2 processed by the fixed code")


def test_function_and_mapping_settings_saved_in_tfvars_apply(watch):
    mark = len(watch.err)
    with (watch.project / "infra" / "terraform.tfvars").open("a") as tfvars:
        tfvars.write("\nbatch_size = 7\nlambda_memory_size = 256\n")
    line = watch.wait_reload(mark)
    assert "(infra/terraform.tfvars): updated function employees_stream_consumer: MemorySize 128 -> 256" in line
    assert "updated event source mapping" in line and "BatchSize 100 -> 7" in line
    resources, lam = stack_state(watch.project)["resources"], stack_client(watch.project, "lambda")
    assert lam.get_event_source_mapping(UUID=resources["mapping_uuid"])["BatchSize"] == 7
    assert lam.get_function_configuration(FunctionName=resources["function_name"])["MemorySize"] == 256
    put(watch.project, "B1")
    wait_until(lambda: version_of(watch.project, "B1") == 3, 30, message="B1 processed after the change")


def test_twenty_reloads_under_a_steady_write_load_lose_and_double_nothing(watch):
    written: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            key = f"L{len(written):04d}"
            put(watch.project, key)
            written.append(key)
            stop.wait(0.05)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for version in range(4, 24):
            watch.wait_reload(watch.save_handler(version))
            wait_until(
                lambda v=version: any(got == v for got, _, _ in processed(watch.project)),
                30,
                interval=0.1,
                message=f"a record processed by version {version}",
            )
    finally:
        stop.set()
        thread.join(10)
    keys = set(written)
    missing = lambda: sorted(keys - {k for _, k, _ in processed(watch.project)})  # noqa: E731
    try:
        wait_until(lambda: not missing(), 60, interval=0.2, message="every record processed")
    except AssertionError:
        state = stack_state(watch.project)
        path = f"/_ddbstream/mappings/{state['resources']['mapping_uuid']}/metrics"
        metrics = daemon_get(state["endpoint"], state["secret"], path)
        raise AssertionError(
            f"never processed: {missing()}; mapping: {metrics}; the watch said:\n{watch.err}"
        ) from None
    lines = [(v, k, s) for v, k, s in processed(watch.project) if k in keys]
    counts = Counter(k for _, k, _ in lines)
    assert {k: n for k, n in counts.items() if n != 1} == {}, "a record processed twice"
    versions = [v for v, _, _ in sorted(lines, key=lambda line: line[2])]
    assert versions == sorted(versions), "a record ran older code than a record before it"
    assert set(versions) >= set(range(4, 24))


def test_ctrl_c_ends_the_watch_with_130_and_the_stack_keeps_running(watch):
    started = time.monotonic()
    watch.process.send_signal(signal.SIGINT)
    assert watch.process.wait(30) == int(ExitCode.INTERRUPTED)
    assert time.monotonic() - started < 10
    wait_until(lambda: watch.lines_since(0, "stopped watching"), 5, message="the stop line")
    assert not any("Traceback" in line for line in watch.err), "".join(watch.err)
    status = run_cli("status", "--json", cwd=watch.project)
    assert status.returncode == 0, status.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--watch", "--target", "aws"), "error: --watch runs on the local target only"),
        (("--tail",), "error: --tail follows the consumer's log while --watch runs: add --watch"),
        (("--watch", "--json"), "error: --json cannot be combined with --watch"),
    ],
)
def test_what_watch_cannot_do_is_refused_before_anything_starts(tmp_path, args, message):
    result = run_cli("up", *args, cwd=tmp_path)  # refused before the project is even looked for
    assert result.returncode == int(ExitCode.INVALID_INPUT)
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
