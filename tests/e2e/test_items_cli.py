"""The item commands as a new user meets them (issue 16): query, get's missing key, delete of nothing,
put/delete --json, a missing nested map, output into a reader that goes away, dlq show on a terminal,
destroy with nothing running."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from support import cli_env, make_project, run_cli, run_cli_on_terminal, stack_client, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e

# A table with a numeric sort key and two indexes; records with poison=true fail straight to the DLQ.
SPEC = {
    "table_name": "events",
    "hash_key": "user",
    "range_key": "ts",
    "range_key_type": "N",
    "global_secondary_indexes": [
        {"name": "by_kind", "hash_key": "kind", "range_key": "ts", "range_key_type": "N"},
        {"name": "by_name", "hash_key": "kind", "range_key": "name", "projection_type": "KEYS_ONLY"},
        {"name": "by_name_only", "hash_key": "name"},
    ],
    "fail_attribute": "poison",
    "maximum_retry_attempts": 0,
}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colours and cursor moves on a terminal
BULK = 600  # items of ~250 bytes: more than a pipe holds (64 KiB), so the writer is still writing
SEED = [
    {"user": "u1", "ts": 1, "kind": "a", "name": "Alice"},
    {"user": "u1", "ts": 2, "kind": "b", "name": "Albert"},
    {"user": "u1", "ts": 3, "kind": "a", "name": "Bob"},
    {"user": "u1", "ts": 4, "kind": "b", "name": "Alma"},
    {"user": "u1", "ts": 5, "kind": "a", "name": "Carol"},
    {"user": "u2", "ts": 1, "kind": "a", "name": "Dave"},
]


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    """One stack for the module: the events table, seeded with SEED and BULK items under user 'bulk'."""
    project = make_project(tmp_path_factory.mktemp("items") / "project")
    (project / "events.tfvars.json").write_text(json.dumps(SPEC))
    result = run_cli("up", "--var-file", "events.tfvars.json", cwd=project)
    assert result.returncode == 0, result.stderr
    dynamodb = stack_client(project, "dynamodb")
    bulk = [{"user": "bulk", "ts": n, "pad": "x" * 200} for n in range(BULK)]
    items = SEED + bulk
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": _typed(item)}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={"events": requests})
    yield project
    run_cli("down", cwd=project)


def _typed(item: dict) -> dict:
    return {name: {"N": str(value)} if isinstance(value, int) else {"S": value} for name, value in item.items()}


def ok(project, *args: str) -> subprocess.CompletedProcess:
    result = run_cli(*args, cwd=project)
    assert result.returncode == 0, (args, result.stderr)
    return result


def refused(project, *args: str, code: ExitCode = ExitCode.INVALID_INPUT) -> str:
    """The one error line a refused command prints."""
    result = run_cli(*args, cwd=project)
    assert result.returncode == int(code), (args, result.returncode, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert result.stdout == "" and line.startswith("error: "), result.stderr
    return line[len("error: ") :]


def lines(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def stamps(project, *args: str) -> list[int]:
    return [item["ts"] for item in lines(ok(project, "query", *args))]


# ---------------------------------------------------------------- query


def test_query_by_partition_key_and_sort_conditions(events):
    assert lines(ok(events, "query", "u2")) == [{"user": "u2", "ts": 1, "kind": "a", "name": "Dave"}]
    assert stamps(events, "u1") == [1, 2, 3, 4, 5]
    assert stamps(events, "u1", "--sort", ">= 3") == [3, 4, 5]
    assert stamps(events, "u1", "--sort", "<4") == [1, 2, 3]
    assert stamps(events, "u1", "--sort", "= 2") == [2]
    assert stamps(events, "u1", "--between", "2", "4") == [2, 3, 4]
    assert stamps(events, "u1", "--reverse", "--limit", "2") == [5, 4]
    assert stamps(events, "nobody") == []
    assert ok(events, "query", "u1", "--json").stdout == ok(events, "query", "u1").stdout  # piped: JSON lines


def test_query_filters_and_follows_pages(events):
    assert stamps(events, "u1", "--filter", "kind = :k", "--values", '{":k": "b"}') == [2, 4]
    # The first item read does not pass the filter: the answer is on a later page.
    assert stamps(events, "u1", "--filter", "kind = :k", "--values", '{":k": "b"}', "--limit", "1") == [2]
    assert len(lines(ok(events, "query", "bulk"))) == BULK
    assert stamps(events, "bulk", "--sort", ">= 590", "--limit", "3") == [590, 591, 592]


def test_query_an_index_uses_its_keys(events):
    by_kind = lines(ok(events, "query", "a", "--index", "by_kind", "--sort", "> 1"))
    assert [(item["user"], item["ts"]) for item in by_kind] == [("u1", 3), ("u1", 5)]
    by_name = lines(ok(events, "query", "a", "--index", "by_name", "--begins-with", "Al"))
    assert by_name == [{"kind": "a", "name": "Alice", "user": "u1", "ts": 1}]  # KEYS_ONLY
    assert [item["ts"] for item in lines(ok(events, "query", "Bob", "--index", "by_name_only"))] == [3]


def test_query_on_a_terminal_is_a_table(events):
    code, shown = run_cli_on_terminal("query", "u1", "--sort", ">= 4", cwd=events)
    assert code == 0, shown
    shown = ANSI.sub("", shown)
    assert "events: 2 item(s)" in shown and "Alma" in shown and "Carol" in shown and "{" not in shown


def test_query_refuses_bad_input_in_one_line(events):
    assert refused(events, "query", "u1", "--sort", "!= 3") == (
        "--sort '!= 3': expected an operator (=, <, <=, >, >=) and a value, as in '>= 1700000000'"
    )
    assert refused(events, "query", "u1", "--sort", ">=").startswith("--sort '>=': expected an operator")
    assert refused(events, "query", "u1", "--sort", ">= soon") == "key attribute 'ts' must be a number, got 'soon'"
    assert refused(events, "query", "u1", "--sort", ">= 1", "--between", "1", "2") == (
        "use only one of --sort, --between and --begins-with"
    )
    assert refused(events, "query", "u1", "--begins-with", "1") == (
        "--begins-with needs a string or binary sort key: ts is a number (N)"
    )
    assert refused(events, "query", "a", "--index", "nope") == (
        "table events has no index 'nope' (its indexes: by_kind, by_name, by_name_only)"
    )
    assert refused(events, "query", "Bob", "--index", "by_name_only", "--sort", "> 1") == (
        "index by_name_only has no sort key: query it by name alone"
    )
    assert refused(events, "query", "u1", "--values", '{":k": 1}') == "--values needs --filter"
    assert refused(events, "query", "u1", "--limit", "0") == "--limit must be at least 1"
    assert refused(events, "query", code=ExitCode.USAGE).startswith("Missing argument 'PARTITION_KEY'")


def test_query_on_a_table_without_sort_key(stack):
    project, _ = stack
    ok(project, "put", "--item", '{"employeeid": "E1", "name": "Ann"}')
    assert lines(ok(project, "query", "E1")) == [{"employeeid": "E1", "name": "Ann"}]
    assert refused(project, "query", "E1", "--sort", ">= 3") == (
        "table employees has no sort key: query it by employeeid alone"
    )


# ---------------------------------------------------------------- get, delete, put, update


def test_get_says_which_key_is_missing(events):
    assert refused(events, "get", "u1") == "expected 2 key value(s) (user ts), got 1: the sort key ts (N) is missing"
    assert refused(events, "get") == (
        "expected 2 key value(s) (user ts), got 0: the partition key user (S) and the sort key ts (N) are missing"
    )
    assert ok(events, "get", "u1", "3").stdout.strip() == '{"user": "u1", "ts": 3, "kind": "a", "name": "Bob"}'


def test_delete_of_nothing_says_so(events):
    result = ok(events, "delete", "nope", "1")
    assert result.stdout == ""
    assert result.stderr.strip() == 'nothing to delete: no item with key user="nope" ts=1 in events'
    ok(events, "put", "--item", '{"user": "d1", "ts": 1}')
    assert ok(events, "delete", "d1", "1").stderr.strip() == 'deleted user="d1" ts=1 from events'


def test_put_and_delete_json_print_the_item_and_the_key(events):
    put = ok(events, "put", "--json", "--item", '{"user": "j1", "ts": 1, "price": 1.50, "tags": ["x"]}')
    assert put.stdout == '{"user": "j1", "ts": 1, "price": 1.50, "tags": ["x"]}\n' and put.stderr == ""
    typed = ok(events, "put", "--json", "--ddb-json", "--item", '{"user": {"S": "j2"}, "ts": {"N": "2"}}')
    assert json.loads(typed.stdout) == {"user": {"S": "j2"}, "ts": {"N": "2"}}
    deleted = ok(events, "delete", "--json", "j1", "1")
    assert deleted.stdout == '{"user": "j1", "ts": 1}\n' and deleted.stderr == ""
    # Nothing was deleted: nothing on stdout, and the words on stderr.
    again = ok(events, "delete", "--json", "j1", "1")
    assert again.stdout == "" and again.stderr.startswith("nothing to delete")
    # --return old still prints the old item.
    assert json.loads(ok(events, "delete", "--json", "--return", "old", "j2", "2").stdout) == {"user": "j2", "ts": 2}


def test_update_into_a_missing_map_explains_itself(events):
    ok(events, "put", "--item", '{"user": "m1", "ts": 1, "s": "text", "a": {}}')
    assert refused(events, "update", "m1", "1", "--set", "b.c=1") == (
        "--set b.c=1: the item has no map b to set c in (DynamoDB does not create one): "
        "set the whole map with --set b='{\"c\": 1}'"
    )
    assert refused(events, "update", "m1", "1", "--set", "a.x.y=true") == (
        "--set a.x.y=true: the item has no map a.x to set y in (DynamoDB does not create one): "
        "set the whole map with --set a.x='{\"y\": true}'"
    )
    assert json.loads(ok(events, "update", "m1", "1", "--set", 'b={"c": 1}', "--json").stdout)["b"] == {"c": 1}
    assert json.loads(ok(events, "update", "m1", "1", "--set", "b.c=2", "--json").stdout)["b"] == {"c": 2}


# ---------------------------------------------------------------- a reader that goes away


def _reader_goes_away(project, args: list[str], after_lines: int) -> tuple[int, list[bytes], bytes]:
    """Run the CLI with stdout on a pipe closed after ``after_lines`` lines: (exit code, lines read, stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    read = [process.stdout.readline() for _ in range(after_lines)]
    process.stdout.close()  # as `| head` does
    errors = process.stderr.read()
    return process.wait(60), read, errors


@pytest.mark.parametrize("args", [["scan"], ["query", "bulk"]], ids=["scan", "query"])
def test_output_into_a_closed_pipe_ends_quietly(events, args):
    code, [first], errors = _reader_goes_away(events, args, 1)
    assert (code, errors) == (0, b"")
    assert json.loads(first)


@pytest.mark.parametrize(
    "args", [["--help"], ["query", "--help"], ["--version"], ["status"], ["event", "insert"], ["get", "u1", "1"]]
)
def test_a_reader_gone_before_the_first_line_is_not_an_error(events, args):
    """Help and --version print while arguments are parsed; status prints through rich."""
    assert _reader_goes_away(events, args, 0) == (0, [], b"")


# ---------------------------------------------------------------- dlq show


def test_dlq_show_on_a_terminal_is_a_summary(events):
    ok(events, "put", "--item", '{"user": "p1", "ts": 7, "poison": true}')

    def message():
        return [json.loads(line) for line in ok(events, "dlq", "list", "--json").stdout.splitlines()]

    [row] = wait_until(message, 30, interval=0.2, message="the poison record in the DLQ")
    code, shown = run_cli_on_terminal("dlq", "show", row["messageId"], "--records", cwd=events)
    assert code == 0, shown
    shown = ANSI.sub("", shown)
    assert f"dead-letter message {row['messageId']}" in shown
    assert "RetryAttemptsExhausted" in shown
    assert f'INSERT {{"user": "p1", "ts": 7}} sequence {row["startSequenceNumber"]}' in shown
    assert '"poison": true' in shown and "DDBStreamBatchInfo" not in shown
    piped = json.loads(ok(events, "dlq", "show", row["messageId"], "--records").stdout)
    assert piped["records"][0]["keys"] == {"user": "p1", "ts": 7}


# ---------------------------------------------------------------- destroy


def test_destroy_with_nothing_running_is_not_an_error(project):
    result = run_cli("destroy", cwd=project)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.strip() == "nothing to destroy: this project has no local stack"
