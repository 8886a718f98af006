"""`ddbstream event`: sample DynamoDB stream events for the pipeline's table."""

from __future__ import annotations

import base64
import json
import re
import sys

import pytest
from support import run_cli

from ddbstream.errors import ExitCode
from ddbstream.state import State, write_state

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/employees/stream/2024-01-01T00:00:00.000"

SAMPLE_OLD = {
    "name": {"S": "Alice Martin"},
    "department": {"S": "Engineering"},
    "salary": {"N": "85000"},
    "skills": {"SS": ["dynamodb", "python"]},
    "address": {"M": {"city": {"S": "Lisbon"}, "country": {"S": "PT"}}},
    "active": {"BOOL": True},
}
SAMPLE_NEW = {
    **SAMPLE_OLD,
    "department": {"S": "Platform"},
    "salary": {"N": "92500.50"},
    "skills": {"SS": ["dynamodb", "python", "terraform"]},
}


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in-process (its real entry point): (exit code, stdout, stderr)."""
    from ddbstream.cli import main

    monkeypatch.setattr(sys, "argv", ["ddbstream", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def in_project(project, monkeypatch):
    monkeypatch.delenv("DDBSTREAM_STATE_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(project)
    return project


def event_of(monkeypatch, capsys, *args: str) -> dict:
    code, out, err = run(monkeypatch, capsys, "event", *args)
    assert code == 0, err
    assert err == ""
    assert out.count("\n") == 1, "piped output is one JSON line"
    return json.loads(out)


def only_record(event: dict) -> dict:
    """The single record, with its generated fields checked and then fixed for comparison."""
    assert list(event) == ["Records"] and len(event["Records"]) == 1
    record = event["Records"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    ddb = record["dynamodb"]
    assert re.fullmatch(r"\d{21}", ddb["SequenceNumber"])
    assert isinstance(ddb["ApproximateCreationDateTime"], int) and ddb["ApproximateCreationDateTime"] > 1_600_000_000
    assert isinstance(ddb["SizeBytes"], int) and ddb["SizeBytes"] > 0
    record["eventID"] = "ID"
    ddb.update(SequenceNumber="SEQ", ApproximateCreationDateTime=0, SizeBytes=0)
    return record


def expected(
    name: str, keys: dict, ddb: dict, view: str = "NEW_AND_OLD_IMAGES", arn: str = ARN, region: str = "us-east-1"
) -> dict:
    return {
        "eventID": "ID",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": {
            "ApproximateCreationDateTime": 0,
            "Keys": keys,
            **ddb,
            "SequenceNumber": "SEQ",
            "SizeBytes": 0,
            "StreamViewType": view,
        },
        "eventSourceARN": arn,
    }


KEY = {"employeeid": {"S": "E101"}}
IMAGES = {
    # view type -> event name -> the images it carries
    "NEW_AND_OLD_IMAGES": {
        "INSERT": {"NewImage": {**KEY, **SAMPLE_OLD}},
        "MODIFY": {"NewImage": {**KEY, **SAMPLE_NEW}, "OldImage": {**KEY, **SAMPLE_OLD}},
        "REMOVE": {"OldImage": {**KEY, **SAMPLE_OLD}},
    },
    "NEW_IMAGE": {
        "INSERT": {"NewImage": {**KEY, **SAMPLE_OLD}},
        "MODIFY": {"NewImage": {**KEY, **SAMPLE_NEW}},
        "REMOVE": {},
    },
    "OLD_IMAGE": {
        "INSERT": {},
        "MODIFY": {"OldImage": {**KEY, **SAMPLE_OLD}},
        "REMOVE": {"OldImage": {**KEY, **SAMPLE_OLD}},
    },
    "KEYS_ONLY": {"INSERT": {}, "MODIFY": {}, "REMOVE": {}},
}


@pytest.mark.parametrize("view", list(IMAGES))
@pytest.mark.parametrize("name", ["INSERT", "MODIFY", "REMOVE"])
def test_sample_event_for_each_name_and_view_type(in_project, monkeypatch, capsys, name, view):
    record = only_record(event_of(monkeypatch, capsys, name.lower(), "--view-type", view))
    assert record == expected(name, KEY, IMAGES[view][name], view)


def test_view_type_comes_from_the_spec(in_project, monkeypatch, capsys):
    record = only_record(event_of(monkeypatch, capsys, "insert", "--var", "stream_view_type=KEYS_ONLY"))
    assert record == expected("INSERT", KEY, {}, "KEYS_ONLY")


def test_composite_key_with_a_numeric_range_key(in_project, monkeypatch, capsys):
    """The layout of one of the seed pipelines: id (S) + timestamp (N)."""
    record = only_record(
        event_of(
            monkeypatch,
            capsys,
            "modify",
            "--var",
            "table_name=events",
            "--var",
            "hash_key=id",
            "--var",
            "range_key=timestamp",
            "--var",
            "range_key_type=N",
            "--var",
            "aws_region=eu-west-1",
        )
    )
    keys = {"id": {"S": "I101"}, "timestamp": {"N": "1700000000"}}
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/events/stream/2024-01-01T00:00:00.000"
    assert record == expected(
        "MODIFY",
        keys,
        {"NewImage": {**keys, **SAMPLE_NEW}, "OldImage": {**keys, **SAMPLE_OLD}},
        arn=arn,
        region="eu-west-1",
    )


def test_numeric_and_binary_keys(in_project, monkeypatch, capsys):
    numeric = only_record(
        event_of(monkeypatch, capsys, "remove", "--var", "hash_key_type=N", "--view-type", "KEYS_ONLY")
    )
    assert numeric == expected("REMOVE", {"employeeid": {"N": "101"}}, {}, "KEYS_ONLY")
    binary = only_record(
        event_of(monkeypatch, capsys, "remove", "--var", "hash_key_type=B", "--view-type", "KEYS_ONLY")
    )
    encoded = base64.b64encode(b"employeeid-101").decode()
    assert binary == expected("REMOVE", {"employeeid": {"B": encoded}}, {}, "KEYS_ONLY")


def test_given_item_keeps_exact_numbers_and_nesting(in_project, monkeypatch, capsys):
    item = '{"employeeid": "E7", "pay": 12345678901234567890.123456789, "tags": ["a", {"b": null}], "m": {"n": 1}}'
    record = only_record(event_of(monkeypatch, capsys, "insert", "--item", item))
    keys = {"employeeid": {"S": "E7"}}
    new = {
        **keys,
        "pay": {"N": "12345678901234567890.123456789"},
        "tags": {"L": [{"S": "a"}, {"M": {"b": {"NULL": True}}}]},
        "m": {"M": {"n": {"N": "1"}}},
    }
    assert record == expected("INSERT", keys, {"NewImage": new})


def test_modify_with_item_and_old_in_ddb_json(in_project, monkeypatch, capsys):
    new = '{"employeeid": {"S": "E5"}, "tags": {"SS": ["z", "a"]}, "blob": {"B": "AAE="}}'
    old = '{"employeeid": {"S": "E5"}, "tags": {"SS": ["a"]}}'
    record = only_record(event_of(monkeypatch, capsys, "modify", "--ddb-json", "--item", new, "--old", old))
    keys = {"employeeid": {"S": "E5"}}
    assert record == expected(
        "MODIFY",
        keys,
        {
            "NewImage": {**keys, "tags": {"SS": ["a", "z"]}, "blob": {"B": "AAE="}},
            "OldImage": {**keys, "tags": {"SS": ["a"]}},
        },
    )


def test_modify_with_only_the_new_image_has_the_key_as_old_image(in_project, monkeypatch, capsys):
    record = only_record(event_of(monkeypatch, capsys, "modify", "--item", '{"employeeid": "E9", "x": 1}'))
    keys = {"employeeid": {"S": "E9"}}
    assert record == expected("MODIFY", keys, {"NewImage": {**keys, "x": {"N": "1"}}, "OldImage": keys})


def test_remove_takes_the_removed_item_from_item_or_old(in_project, monkeypatch, capsys):
    keys = {"employeeid": {"S": "E3"}}
    want = expected("REMOVE", keys, {"OldImage": {**keys, "n": {"S": "gone"}}})
    for option in ("--item", "--old"):
        record = only_record(event_of(monkeypatch, capsys, "remove", option, '{"employeeid": "E3", "n": "gone"}'))
        assert record == want


def test_ttl_removal_names_the_dynamodb_service(in_project, monkeypatch, capsys):
    event = event_of(monkeypatch, capsys, "remove", "--ttl", "--view-type", "KEYS_ONLY")
    assert event["Records"][0]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_item_from_a_file_and_stdin(in_project, monkeypatch, capsys):
    (in_project / "item.json").write_text('{"employeeid": "F1"}')
    record = only_record(event_of(monkeypatch, capsys, "insert", "--item", "@item.json", "--view-type", "KEYS_ONLY"))
    assert record["dynamodb"]["Keys"] == {"employeeid": {"S": "F1"}}
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"employeeid": "S1"}'))
    record = only_record(event_of(monkeypatch, capsys, "insert", "--item", "-", "--view-type", "KEYS_ONLY"))
    assert record["dynamodb"]["Keys"] == {"employeeid": {"S": "S1"}}


def test_schema_comes_from_the_provisioned_stack(in_project, monkeypatch, capsys):
    """With a stack up, its table wins over the spec (here an aws-target state, no daemon needed)."""
    arn = "arn:aws:dynamodb:eu-central-1:999999999999:table/orders/stream/2025-05-05T10:00:00.123"
    write_state(
        in_project / ".ddbstream",
        State(
            target="aws",
            region="eu-central-1",
            account="999999999999",
            resources={
                "table_name": "orders",
                "key_schema": [["orderid", "N"]],
                "stream_view_type": "NEW_IMAGE",
                "stream_arn": arn,
            },
        ),
    )
    record = only_record(event_of(monkeypatch, capsys, "remove"))
    assert record == expected("REMOVE", {"orderid": {"N": "101"}}, {}, "NEW_IMAGE", arn=arn, region="eu-central-1")
    # --var means "what the spec would give": the state is not used then.
    record = only_record(event_of(monkeypatch, capsys, "remove", "--var", "stream_view_type=KEYS_ONLY"))
    assert record == expected("REMOVE", KEY, {}, "KEYS_ONLY")


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["update"], ExitCode.INVALID_INPUT, "unknown event 'update': use insert, modify or remove"),
        (
            ["insert", "--old", "{}"],
            ExitCode.INVALID_INPUT,
            "an INSERT has no old image: --old applies to modify and remove",
        ),
        (
            ["insert", "--view-type", "ALL"],
            ExitCode.INVALID_INPUT,
            "unknown stream view type 'ALL': use KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES",
        ),
        (
            ["insert", "--item", '{"employeeid": 5}'],
            ExitCode.INVALID_INPUT,
            "key attribute 'employeeid' must be of type S, got N",
        ),
        (["insert", "--item", "[1]"], ExitCode.INVALID_INPUT, "--item: item must be a JSON object, got an array"),
        (
            ["insert", "--item", "{"],
            ExitCode.INVALID_INPUT,
            "--item: invalid JSON in item: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (["modify", "--ttl"], ExitCode.INVALID_INPUT, "only a REMOVE can come from Time to Live"),
        (
            ["remove", "--item", "{}", "--old", "{}"],
            ExitCode.INVALID_INPUT,
            "a REMOVE has only the removed item: give --item or --old, not both",
        ),
        (
            ["insert", "--var", "hash_key_type=X"],
            ExitCode.SPEC,
            "invalid value for variable 'hash_key_type': hash_key_type must be one of S, N, B.",
        ),
    ],
)
def test_bad_input_is_one_line(in_project, monkeypatch, capsys, args, code, message):
    got, out, err = run(monkeypatch, capsys, "event", *args)
    assert (got, out, err) == (code, "", f"error: {message}\n")


def test_outside_a_project_says_so(tmp_path):
    """The real command in a subprocess: one line, no traceback."""
    result = run_cli("event", "insert", cwd=tmp_path)
    assert result.returncode == ExitCode.NO_STACK
    assert result.stdout == ""
    assert result.stderr.startswith("error: no ddbstream project here (no infra/variables.tf in ")
    assert result.stderr.count("\n") == 1
