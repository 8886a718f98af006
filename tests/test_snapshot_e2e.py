"""`down` keeps the local stack for the next `up`; `destroy` forgets it; a killed daemon or an
unreadable snapshot starts empty. Real CLI, real daemon, real consumer."""

from __future__ import annotations

import json
import os
import pickle
import signal
import stat

import boto3
import pytest
from support import run_cli, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e


def _state(project) -> dict:
    return json.loads((project / ".ddbstream" / "state.json").read_text())


def _clients(project) -> dict:
    state = _state(project)

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=state["endpoint"],
            region_name=state["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return {name: client(name) for name in ("logs", "dynamodbstreams", "sqs", "lambda")}


def _consumer_lines(project, key: str) -> list[dict]:
    """The consumer's change lines (not its error lines) for items with this key."""
    state = _state(project)
    group = f"/aws/lambda/{state['resources']['function_name']}"
    events = _clients(project)["logs"].filter_log_events(logGroupName=group).get("events", [])
    lines = []
    for event in events:
        try:
            data = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("keys") == {"employeeid": key} and "level" not in data:
            lines.append(data)
    return lines


def _stream_sequence_numbers(project) -> list[str]:
    streams = _clients(project)["dynamodbstreams"]
    arn = _state(project)["resources"]["stream_arn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    return [r["dynamodb"]["SequenceNumber"] for r in streams.get_records(ShardIterator=iterator)["Records"]]


def _dlq_ids(project) -> list[str]:
    listed = run_cli("dlq", "list", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    return sorted(json.loads(line)["messageId"] for line in listed.stdout.splitlines() if line.strip())


def test_down_then_up_brings_the_stack_back_and_resumes_the_mapping(project):
    up = run_cli("up", "--var", "fail_attribute=poison", cwd=project)
    assert up.returncode == 0, up.stderr
    try:
        assert run_cli("put", "--item", '{"employeeid": "A", "n": 1}', cwd=project).returncode == 0
        assert run_cli("put", "--item", '{"employeeid": "P", "poison": true}', cwd=project).returncode == 0
        wait_until(lambda: _consumer_lines(project, "A"), 30, 0.1, "the consumer's line for A")
        dead = wait_until(lambda: _dlq_ids(project), 60, 0.2, "the poisoned record in the dead-letter queue")
        mapping = _state(project)["resources"]["mapping_uuid"]
        sequence_numbers = _stream_sequence_numbers(project)

        down = run_cli("down", cwd=project)
        assert down.returncode == 0, down.stderr
        saved = project / ".ddbstream" / "snapshot.pickle"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600

        again = run_cli("up", "--var", "fail_attribute=poison", cwd=project)
        assert again.returncode == 0, again.stderr
        assert "restored the stack saved by 'down' (1 table(s), 1 mapping(s))" in again.stderr
        assert not saved.exists()  # consumed: a later crash cannot bring this state back
        assert "drift" not in again.stderr

        assert json.loads(run_cli("get", "A", cwd=project).stdout) == {"employeeid": "A", "n": 1}
        assert _dlq_ids(project) == dead
        assert _state(project)["resources"]["mapping_uuid"] == mapping
        assert _stream_sequence_numbers(project) == sequence_numbers

        # The mapping goes on from its checkpoint: B is delivered, A is not delivered again.
        assert run_cli("put", "--item", '{"employeeid": "B"}', cwd=project).returncode == 0
        wait_until(lambda: _consumer_lines(project, "B"), 30, 0.1, "the consumer's line for B")
        assert len(_consumer_lines(project, "A")) == 1
        assert _stream_sequence_numbers(project)[: len(sequence_numbers)] == sequence_numbers
        assert int(_stream_sequence_numbers(project)[-1]) > int(sequence_numbers[-1])
    finally:
        run_cli("destroy", cwd=project)

    assert not (project / ".ddbstream" / "snapshot.pickle").exists()
    assert run_cli("up", cwd=project).returncode == 0
    try:
        assert run_cli("get", "A", cwd=project).returncode == ExitCode.NOT_FOUND
    finally:
        run_cli("destroy", cwd=project)


def test_a_killed_daemon_comes_back_empty_not_from_an_older_snapshot(project):
    assert run_cli("up", cwd=project).returncode == 0
    try:
        assert run_cli("put", "--item", '{"employeeid": "old"}', cwd=project).returncode == 0
        assert run_cli("down", cwd=project).returncode == 0
        assert "restored" in run_cli("up", cwd=project).stderr
        os.kill(_state(project)["pid"], signal.SIGKILL)
        wait_until(lambda: run_cli("scan", cwd=project).returncode == ExitCode.NO_STACK, 10, 0.1, "the daemon's death")
        after = run_cli("up", cwd=project)
        assert after.returncode == 0 and "restored" not in after.stderr
        assert run_cli("get", "old", cwd=project).returncode == ExitCode.NOT_FOUND
    finally:
        run_cli("destroy", cwd=project)


@pytest.mark.parametrize(
    "content, note",
    [
        (b"not a pickle", "could not read the saved stack (UnpicklingError): started empty"),
        (
            pickle.dumps({"versions": {"format": "1", "ddbstream": "0.0.1", "moto": "4.0.0", "python": "3.9"}}),
            "the saved stack was written by ddbstream 0.0.1 / moto 4.0.0 / Python 3.9: started empty",
        ),
    ],
)
def test_a_snapshot_that_cannot_be_used_is_named_and_dropped(project, content, note):
    saved = project / ".ddbstream" / "snapshot.pickle"
    saved.parent.mkdir()
    saved.write_bytes(content)
    up = run_cli("up", cwd=project)
    try:
        assert up.returncode == 0, up.stderr
        assert note in up.stderr
        assert not saved.exists()
        assert run_cli("put", "--item", '{"employeeid": "fresh"}', cwd=project).returncode == 0
    finally:
        run_cli("destroy", cwd=project)
