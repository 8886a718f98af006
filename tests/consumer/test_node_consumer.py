"""The Node.js DataProcessor (lambda/nodejs) against the Python consumer, and in the runtime on stream events.

Both consumers must print the same lines and answer the same batchItemFailures for the same
events, so `ddbstream tail` renders them alike; in the daemon's runtime (real node, nodejs20.x)
the Node.js one reports partial batch failures and skips records it already handled.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from handler_support import handler, invoke  # noqa: F401 (fixture)
from moto import mock_aws

from ddbstream.emulator.runtime import LambdaRuntime
from ddbstream.events import make_event, make_stream_record
from ddbstream.provision.npm import installed_modules

NODE_CONSUMER = Path(__file__).resolve().parents[2] / "lambda" / "nodejs"
pytestmark = pytest.mark.usefixtures("node_installed")
CREATED = 1755957922  # 2025-08-23T14:05:22Z
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/RealTimeDataTable"

# Runs the consumer on each event of a JSON array (stdin); prints its lines, then the answer after a marker.
DRIVER = """
const { handler } = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  for (const event of JSON.parse(input)) {
    const answer = await handler(event, {});
    process.stdout.write("::answer:: " + JSON.stringify(answer) + "\\n");
  }
});
"""


@pytest.fixture(scope="module")
def consumer_dir(tmp_path_factory) -> Path:
    """A copy of lambda/nodejs with its node_modules installed the way `up` installs them (npm ci, cached)."""
    copy = tmp_path_factory.mktemp("node") / "nodejs"
    shutil.copytree(NODE_CONSUMER, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / "node_modules").symlink_to(installed_modules(copy), target_is_directory=True)
    return copy


def run_node(consumer_dir: Path, events: list[dict], **env: str) -> list[tuple[list[str], dict]]:
    """(lines printed, answer) per event, from one node process (one warm container)."""
    environment = {"PATH": os.environ["PATH"], "TABLE_NAME": "RealTimeDataTable", **env}
    result = subprocess.run(
        ["node", "-e", DRIVER, str(consumer_dir / "index.js")],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    runs, lines = [], []
    for line in result.stdout.splitlines():
        if line.startswith("::answer:: "):
            runs.append((lines, json.loads(line.removeprefix("::answer:: "))))
            lines = []
        else:
            lines.append(line)
    return runs


def record(event_name, key, new=None, old=None, view="NEW_AND_OLD_IMAGES", seq=1, **extra):
    return make_stream_record(
        event_name,
        {"id": key, "timestamp": 1_700_000_000},
        new,
        old,
        view,
        f"{seq:021d}",
        event_id=f"ev-{seq}",
        created=extra.pop("created", CREATED),
        table_name="RealTimeDataTable",
        **extra,
    )


def item(key: str, **attributes):
    return {"id": key, "timestamp": 1_700_000_000, **attributes}


EVENTS = [
    make_event(
        [
            record(
                "INSERT", "a", item("a", reading=Decimal("21.50"), count=3, big=Decimal("12345678901234567890.123"))
            ),
            record(
                "MODIFY",
                "b",
                item("b", tags={"z", "a", "m"}, levels={Decimal("10"), Decimal("9.5")}, blob=b"\x00\x01\xff"),
                item("b", nested={"list": [1, "two", None, True, {"deep": Decimal("0.0000001")}]}),
                seq=2,
            ),
            record("REMOVE", "c", old=item("c", note='caf\u00e9 \u2603 \U0001f600 "quoted"\n'), seq=3),
            record("INSERT", "d", item("d", blobs={b"\x02", b"\x01"}, flag=False), view="KEYS_ONLY", seq=4),
            record("INSERT", "p", item("p", poison=True), seq=5),
            record("INSERT", "q", item("q", poison=0), seq=6, created=1755957922.25),
            {"eventName": "BOGUS", "eventID": "ev-7", "dynamodb": {"SequenceNumber": "7"}},
            {"eventID": "ev-8"},
        ]
    ),
    # Redelivery from the failed record on: the ones already handled are duplicates.
    make_event(
        [
            record("INSERT", "p", item("p", poison=True), seq=5),
            record("INSERT", "q", item("q", poison=0), seq=6, created=1755957922.25),
        ]
    ),
    {
        **make_event([record("MODIFY", "w", item("w"), item("w"), seq=9)]),
        "window": {"start": "x"},
        "state": {"MODIFY": 2},
        "isFinalInvokeForWindow": True,
        "shardId": "s-1",
    },
]


def test_the_node_consumer_prints_and_answers_what_the_python_one_does(consumer_dir, handler, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TABLE_NAME", "RealTimeDataTable")
    monkeypatch.setenv("FAIL_ATTRIBUTE", "poison")
    python_runs = [invoke(handler, event, capsys) for event in EVENTS]
    node_runs = run_node(consumer_dir, EVENTS, FAIL_ATTRIBUTE="poison")
    assert len(node_runs) == len(EVENTS)
    for (py_answer, py_lines), (node_lines, node_answer) in zip(python_runs, node_runs):
        assert node_answer == py_answer
        assert len(node_lines) == len(py_lines)
        for py_line, node_line in zip(py_lines, node_lines):
            if '"error": ' in py_line:  # the exception's own type and wording are the language's
                py_fields, node_fields = json.loads(py_line), json.loads(node_line)
                assert {**py_fields, "error": ""} == {**node_fields, "error": ""}
                assert py_fields["error"].split(": ", 1)[0] in ("InjectedFailure", "ValueError")
            else:
                assert node_line == py_line
    first_answer = node_runs[0][1]
    assert first_answer == {
        "batchItemFailures": [{"itemIdentifier": f"{5:021d}"}, {"itemIdentifier": "7"}, {"itemIdentifier": ""}]
    }
    assert node_runs[1][1] == {"batchItemFailures": [{"itemIdentifier": f"{5:021d}"}]}
    assert json.loads(node_runs[1][0][-1]) == {
        "eventName": "INSERT",
        "keys": {"id": "q", "timestamp": 1_700_000_000},
        "sequenceNumber": f"{6:021d}",
        "eventID": "ev-6",
        "duplicate": True,
    }


def test_each_event_name_takes_its_branch(consumer_dir):
    script = """
const consumer = require(process.argv[1]);
const seen = [];
for (const name of ["INSERT", "MODIFY", "REMOVE"]) consumer.branches[name] = async (change) => seen.push(`${name}:${change.keys.id}`);
consumer.branches.MODIFY = async () => { throw new Error("modify failed"); };
consumer.handler(JSON.parse(process.argv[2]), {}).then((answer) => console.error(JSON.stringify({ seen, answer })));
"""
    event = make_event(
        [
            record("INSERT", "i", item("i")),
            record("MODIFY", "m", item("m"), item("m"), seq=2),
            record("REMOVE", "r", old=item("r"), seq=3),
        ]
    )
    result = subprocess.run(
        ["node", "-e", script, str(consumer_dir / "index.js"), json.dumps(event)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    outcome = json.loads(result.stderr.strip().splitlines()[-1])
    assert outcome["seen"] == ["INSERT:i", "REMOVE:r"]
    assert outcome["answer"] == {"batchItemFailures": [{"itemIdentifier": f"{2:021d}"}]}
    failure = json.loads(result.stdout.splitlines()[-2])
    assert (failure["level"], failure["step"], failure["error"]) == ("ERROR", "process", "Error: modify failed")


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def test_in_the_runtime_partial_failures_and_idempotency(consumer_dir, aws_credentials, tmp_path):
    """The seed's DataProcessor (nodejs20.x, 256 MB, 30 s) on stream events in the daemon's runtime."""
    packaged = tmp_path / "package"
    shutil.copytree(consumer_dir, packaged, symlinks=False)
    with mock_aws():
        lam = boto3.client("lambda", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        lam.create_function(
            FunctionName="DataProcessor",
            Runtime="nodejs20.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": zip_directory(packaged)},
            MemorySize=256,
            Timeout=30,
            Environment={"Variables": {"TABLE_NAME": "RealTimeDataTable", "FAIL_ATTRIBUTE": "poison"}},
        )
        runtime = LambdaRuntime("us-east-1", "123456789012", endpoint="http://127.0.0.1:9", work_dir=tmp_path / "w")
        try:
            batch = make_event(
                [
                    record("INSERT", "a", item("a", v=1)),
                    record("MODIFY", "a", item("a", v=2, poison=True), item("a", v=1), seq=2),
                    record("REMOVE", "b", old=item("b"), seq=3),
                ]
            )
            first = runtime.invoke("DataProcessor", json.dumps(batch).encode(), log_type="Tail")
            assert first.function_error is None
            assert json.loads(first.payload) == {"batchItemFailures": [{"itemIdentifier": f"{2:021d}"}]}
            lines = base64.b64decode(first.log_result).decode().split("\n")
            changes = [json.loads(line) for line in lines if line.startswith('{"eventName"')]
            assert [(c["eventName"], c.get("level")) for c in changes] == [
                ("INSERT", None),
                ("MODIFY", None),
                ("MODIFY", "ERROR"),
                ("REMOVE", None),
            ]
            again = runtime.invoke("DataProcessor", json.dumps(batch).encode(), log_type="Tail")
            assert json.loads(again.payload) == {"batchItemFailures": [{"itemIdentifier": f"{2:021d}"}]}
            lines = base64.b64decode(again.log_result).decode().split("\n")
            duplicates = [json.loads(line)["eventID"] for line in lines if '"duplicate": true' in line]
            assert duplicates == ["ev-1", "ev-3"], "records handled before are skipped, the failed one retried"
        finally:
            runtime.shutdown(timeout=5)
