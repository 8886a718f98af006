"""`ddbstream demo` end to end: the real command in a subprocess, asserting what it printed."""

from __future__ import annotations

import json
import re

import pytest
from support import run_cli

from ddbstream.daemon import pid_running
from ddbstream.errors import ExitCode
from ddbstream.state import read_state

pytestmark = pytest.mark.e2e

LOG_JSON = re.compile(r"^     \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\{.*\})$")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def logged(stdout: str) -> list[dict]:
    """The consumer's JSON log lines as the demo showed them."""
    return [json.loads(m.group(1)) for m in map(LOG_JSON.match, stdout.splitlines()) if m]


def changes(stdout: str) -> list[tuple[str, dict, dict | None, dict | None]]:
    """(eventName, keys, old, new) of each change line, without the demo's per-run stamp."""

    def unstamped(image: dict | None) -> dict | None:
        if image is None:
            return None
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", image["demo_run"])
        return {k: v for k, v in image.items() if k != "demo_run"}

    return [
        (d["eventName"], d["keys"], unstamped(d["old"]), unstamped(d["new"]))
        for d in logged(stdout)
        if "level" not in d
    ]


def in_order(text: str, *parts: str) -> None:
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} missing (or out of order) in:\n{text}"
        position = found + len(part)


ALICE = {"employeeid": "E901", "name": "Alice Martin", "department": "Engineering", "salary": 85000}
ALICE_AFTER = {**ALICE, "department": "Platform", "salary": 90000}
BOB = {"employeeid": "E902", "name": "Bob Stone", "department": "Finance", "salary": 72000}
MALLORY = {"employeeid": "E903", "name": "Mallory", "poison": True}


def function_environment(project, state=None) -> dict:
    from ddbstream.clients import client_for

    state = state or read_state(project / ".ddbstream")
    config = client_for(state, "lambda").get_function_configuration(FunctionName="employees_stream_consumer")
    return (config.get("Environment") or {}).get("Variables") or {}


def test_demo_from_nothing_with_down(project):
    result = run_cli("demo", "--down", cwd=project, timeout=90)
    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert result.stderr == ""
    in_order(
        out,
        "1. Start the pipeline",
        "starting with fail_attribute=poison: records with a true 'poison' attribute fail (the stack stops at the end)",
        "starting the local daemon",
        "creating table employees",
        "creating queue employees-dlq",
        "creating function employees_stream_consumer",
        "local stack up on http://127.0.0.1:",
        "2. Write items; the consumer logs each change",
        'put employeeid="E901"  name=Alice Martin, department=Engineering',
        'put employeeid="E902"  name=Bob Stone, department=Finance',
        'update employeeid="E901"  department=Platform, salary +5000',
        'delete employeeid="E902"',
        "3. A record that fails ends in the dead-letter queue",
        'put employeeid="E903"  poison=true (this record fails)',
        "dead-letter message ",
        "condition  RetryAttemptsExhausted",
        "attempts   3",
        "its records, read back from the stream:",
        'INSERT {"employeeid": "E903"}',
        'new: {"employeeid": "E903", "name": "Mallory", "poison": true, "demo_run": ',
        "4. Status",
        "table employees",
        "mapping ",
        "function employees_stream_consumer",
        "dead-letter queue",
        "messages   1",
        "the mapping's failed last result and the message in the dead-letter queue are the demo's failing record",
        "local stack stopped (--down)",
        "Try next",
        "ddbstream up ",
    )
    assert "ddbstream down" not in out.split("Try next")[1]
    assert "failure injection on for the demo" not in out
    # The consumer's own lines, shown live: each change once, then the poisoned record's attempts.
    assert changes(out)[:4] == [
        ("INSERT", {"employeeid": "E901"}, None, ALICE),
        ("INSERT", {"employeeid": "E902"}, None, BOB),
        ("MODIFY", {"employeeid": "E901"}, ALICE, ALICE_AFTER),
        ("REMOVE", {"employeeid": "E902"}, BOB, None),
    ]
    failures = [d for d in logged(out) if d.get("level") == "ERROR"]
    assert len(failures) == 3
    assert all(f["keys"] == {"employeeid": "E903"} and f["step"] == "process" for f in failures)
    assert changes(out)[4:] == [("INSERT", {"employeeid": "E903"}, None, MALLORY)] * 3
    # --down: nothing is left running.
    pid = int(re.search(r"^pid\s+(\d+)\s*$", out, re.M).group(1))
    assert not pid_running(pid)
    assert not (project / ".ddbstream" / "state.json").exists()

    # What the first run left is saved: the next one starts from it (and says so).
    again = run_cli("demo", "--down", cwd=project, timeout=90)
    assert again.returncode == 0, again.stderr + again.stdout
    in_order(
        again.stdout,
        "restored the local stack (1 table(s), 1 mapping(s))",
        "dead-letter message",
        "messages   2",
    )


@pytest.fixture
def running(project):
    up = run_cli("up", "--json", cwd=project)
    assert up.returncode == 0, up.stderr
    yield project, json.loads(up.stdout)
    run_cli("down", cwd=project)


def test_demo_reuses_a_running_stack_and_leaves_it_as_it_was(running):
    project, info = running
    assert "FAIL_ATTRIBUTE" not in function_environment(project)
    first = run_cli("demo", cwd=project, timeout=90)
    assert first.returncode == 0, first.stderr + first.stdout
    in_order(
        first.stdout,
        f"reusing the local stack running on {info['endpoint']}",
        "failure injection on for the demo: FAIL_ATTRIBUTE=poison",
        "Try next",
    )
    message_id = re.search(rf"dead-letter message ({UUID})", first.stdout).group(1)
    in_order(first.stdout.split("Try next")[1], f"ddbstream dlq show {message_id} --records", "ddbstream down")
    # The stack keeps running, with the spec's environment back on the function.
    assert "FAIL_ATTRIBUTE" not in function_environment(project)
    got = json.loads(run_cli("get", "E901", cwd=project).stdout)
    assert got.pop("demo_run") and got == ALICE_AFTER
    assert run_cli("get", "E902", cwd=project).returncode == ExitCode.NOT_FOUND

    # Again on the same stack: the items the first run left make its puts MODIFYs; it still works.
    second = run_cli("demo", cwd=project, timeout=90)
    assert second.returncode == 0, second.stderr + second.stdout
    assert changes(second.stdout)[0] == ("MODIFY", {"employeeid": "E901"}, ALICE_AFTER, ALICE)
    in_order(
        second.stdout,
        "dead-letter message",
        'MODIFY {"employeeid": "E903"}',
        'old: {"employeeid": "E903", "name": "Mallory", "poison": true, "demo_run": ',
        "messages   2",
    )
    assert "FAIL_ATTRIBUTE" not in function_environment(project)
    # Each run shows its own record's message, not the one a run a moment before left.
    second_id = re.search(rf"dead-letter message ({UUID})", second.stdout).group(1)
    third = run_cli("demo", cwd=project, timeout=90)
    assert third.returncode == 0, third.stderr + third.stdout
    third_id = re.search(rf"dead-letter message ({UUID})", third.stdout).group(1)
    assert len({message_id, second_id, third_id}) == 3
    assert "messages   3" in third.stdout


def test_demo_keeps_the_pipelines_own_fail_attribute(project):
    up = run_cli("up", "--var", "fail_attribute=broken", "--var", "stream_view_type=KEYS_ONLY", cwd=project)
    assert up.returncode == 0, up.stderr
    try:
        result = run_cli("demo", cwd=project, timeout=90)
        assert result.returncode == 0, result.stderr + result.stdout
        assert "failure injection on" not in result.stdout
        in_order(
            result.stdout,
            "reusing the local stack",
            "skipped: the stream's view type is KEYS_ONLY, so records carry no new image",
            "4. Status",
        )
        assert [c[:2] for c in changes(result.stdout)] == [
            ("INSERT", {"employeeid": "E901"}),
            ("INSERT", {"employeeid": "E902"}),
            ("MODIFY", {"employeeid": "E901"}),
            ("REMOVE", {"employeeid": "E902"}),
        ]
        assert function_environment(project)["FAIL_ATTRIBUTE"] == "broken"
    finally:
        run_cli("down", cwd=project)


def test_demo_outside_a_project(tmp_path):
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == ExitCode.NO_STACK
    assert result.stderr.startswith("error: no ddbstream project here (no infra/variables.tf in ")
    assert result.stderr.count("\n") == 1


def test_demo_refuses_a_project_whose_stack_is_on_aws(project):
    from ddbstream.state import State, write_state

    write_state(project / ".ddbstream", State(target="aws", region="us-east-1", resources={"table_name": "employees"}))
    result = run_cli("demo", cwd=project)
    assert (result.returncode, result.stderr) == (
        ExitCode.INVALID_INPUT,
        "error: the demo runs on the local target, but this project's stack is on AWS: run it in another "
        "directory, or 'ddbstream destroy --target aws' first\n",
    )
    assert read_state(project / ".ddbstream").target == "aws"
