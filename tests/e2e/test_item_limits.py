"""DynamoDB's input limits, in the CLI and in the daemon: text that is not valid UTF-8, nesting
(32 levels) and item size (400 KB = 409,600 bytes counted as DynamoDB counts them).

The daemon answers as DynamoDB does and writes nothing (no item, no stream record) when it
refuses, nor when an update fails halfway; the CLI refuses before sending anything, with one
line on stderr and exit code 3.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from esm_support import InThreadDaemon
from support import cli_env, make_project, run_cli, stack_client

from ddbstream.errors import ExitCode, InvalidInput
from ddbstream.items import (
    MAX_ITEM_BYTES,
    MAX_NESTING_LEVELS,
    build_update,
    check_item,
    item_size,
    parse_item,
    parse_key,
    read_json_argument,
)

SCHEMA = [("employeeid", "S")]
NESTING_MESSAGE = (
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
)


def nested(levels: int, ddb: bool = True) -> object:
    """A value ``levels`` levels deep as DynamoDB counts them: a scalar wrapped in levels - 1 lists."""
    value: object = {"S": "leaf"} if ddb else "leaf"
    for _ in range(levels - 1):
        value = {"L": [value]} if ddb else [value]
    return value


def sized(total: int, key: str = "E1") -> dict:
    """A DynamoDB item of exactly ``total`` bytes: key + one string attribute "pad"."""
    base = item_size({"employeeid": {"S": key}, "pad": {"S": ""}})
    return {"employeeid": {"S": key}, "pad": {"S": "x" * (total - base)}}


# ------------------------------------------------------------------ the CLI's parsing (units)


def test_item_size_follows_dynamodb_rules():
    assert item_size({"ab": {"S": "xyz"}}) == 5
    assert item_size({"é": {"S": "é"}}) == 4  # UTF-8 bytes of name and value
    # numbers: 1 byte per two significant digits, plus 1; leading and trailing zeroes do not count
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert item_size({"n": {"N": "1000000"}}) == 1 + 2
    assert item_size({"n": {"N": "-0.000120"}}) == 1 + 2
    assert item_size({"b": {"B": b"\x00\x01\x02"}}) == 4  # raw bytes, not base64
    assert item_size({"m": {"M": {"k": {"BOOL": True}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"l": {"L": []}}) == 1 + 3


def test_the_cli_accepts_exactly_400_kb_and_refuses_one_byte_more():
    check_item(sized(MAX_ITEM_BYTES), SCHEMA)
    with pytest.raises(InvalidInput, match="item is 409,601 bytes: DynamoDB's limit is 400 KB"):
        check_item(sized(MAX_ITEM_BYTES + 1), SCHEMA)


@pytest.mark.parametrize("ddb_json", [False, True])
def test_the_cli_accepts_32_levels_and_refuses_33(ddb_json):
    def item(levels: int) -> str:
        key = {"S": "N1"} if ddb_json else "N1"
        return json.dumps({"employeeid": key, "deep": nested(levels, ddb=ddb_json)})

    assert parse_item(item(MAX_NESTING_LEVELS), ddb_json=ddb_json)["deep"] == nested(MAX_NESTING_LEVELS)
    with pytest.raises(InvalidInput, match="nests more than 32 levels deep"):
        parse_item(item(MAX_NESTING_LEVELS + 1), ddb_json=ddb_json)


def test_nesting_far_too_deep_is_one_clear_error_not_a_recursion_error():
    for depth in (300, 950, 100_000):
        with pytest.raises(InvalidInput, match="nests more than 32 levels deep"):
            parse_item('{"employeeid": "N1", "deep": ' + "[" * depth + "]" * depth + "}")


@pytest.mark.parametrize(
    "call",
    [
        lambda: parse_item('{"employeeid": "\\ud800"}'),
        lambda: parse_item('{"employeeid": "E1", "\\udcff": 1}'),
        lambda: parse_item('{"employeeid": {"S": "E1"}, "s": {"SS": ["\\ud800"]}}', ddb_json=True),
        lambda: parse_key(["\udcff"], None, SCHEMA),
        lambda: build_update(["v=\udcff"], [], [], SCHEMA),
        lambda: build_update(["\udcff=1"], [], [], SCHEMA),
    ],
)
def test_text_that_is_not_utf8_is_refused(call):
    with pytest.raises(InvalidInput, match="is not valid UTF-8"):
        call()


def test_undecodable_files_and_stdin_are_refused(tmp_path, monkeypatch):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"employeeid": "\xff"}')
    with pytest.raises(InvalidInput, match=f"{bad} is not valid UTF-8: byte 0xff at offset 16"):
        read_json_argument(f"@{bad}")

    class Stdin:
        buffer = __import__("io").BytesIO(b'{"employeeid": "\xe9t\xe9"}')

    monkeypatch.setattr("sys.stdin", Stdin())
    with pytest.raises(InvalidInput, match=r"item \(stdin\) is not valid UTF-8: byte 0xe9 at offset 16"):
        read_json_argument("-")


# ------------------------------------------------------------------ the daemon (raw boto3, in-thread)


@pytest.fixture(scope="module")
def daemon():
    started = InThreadDaemon()
    yield started
    started.stop()


@pytest.fixture
def table(daemon):
    name, arn = daemon.table()
    return name, arn


def stream_records(daemon, arn: str) -> list[dict]:
    streams = daemon.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def refused(call, code: str = "ValidationException") -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == code, caught.value.response
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return caught.value.response["Error"]["Message"]


def scan(daemon, name: str) -> list[dict]:
    return daemon.client("dynamodb").scan(TableName=name)["Items"]


def test_daemon_puts_exactly_400_kb_and_refuses_one_byte_more(daemon, table):
    name, arn = table
    ddb = daemon.client("dynamodb")
    exact = {"k": {"S": "E1"}, "pad": {"S": "x" * (MAX_ITEM_BYTES - 1 - 2 - 3)}}
    assert item_size(exact) == MAX_ITEM_BYTES
    ddb.put_item(TableName=name, Item=exact)
    over = {**exact, "k": {"S": "E2"}, "pad": {"S": exact["pad"]["S"] + "x"}}
    message = refused(lambda: ddb.put_item(TableName=name, Item=over))
    assert message == "Item size has exceeded the maximum allowed size"
    assert [item["k"]["S"] for item in scan(daemon, name)] == ["E1"]
    assert len(stream_records(daemon, arn)) == 1


def test_daemon_counts_numbers_as_dynamodb_does(daemon, table):
    # moto counts a number by its text: 38 bytes for 38 digits, where DynamoDB counts 20
    name, _ = table
    numbers = [str(10**37 + 10 * i + 1) for i in range(12_000)]
    item = {"k": {"S": "N1"}, "ns": {"NS": numbers}}
    assert item_size(item) < MAX_ITEM_BYTES < sum(len(n) for n in numbers)
    daemon.client("dynamodb").put_item(TableName=name, Item=item)


def test_daemon_refuses_an_update_that_makes_the_item_too_large(daemon, table):
    name, arn = table
    ddb = daemon.client("dynamodb")
    ddb.put_item(TableName=name, Item={"k": {"S": "U1"}, "v": {"N": "1"}})
    before = stream_records(daemon, arn)

    def update(key: str, pad: int) -> None:
        ddb.update_item(
            TableName=name,
            Key={"k": {"S": key}},
            UpdateExpression="SET #p = :p, v = :v",
            ExpressionAttributeNames={"#p": "pad"},  # a reserved word
            ExpressionAttributeValues={":p": {"S": "x" * pad}, ":v": {"N": "2"}},
        )

    # k (1 + 2) + v (1 + 2) + "pad" (3): the rest fits exactly, one byte more does not
    room = MAX_ITEM_BYTES - 3 - 3 - 3
    message = refused(lambda: update("U1", room + 1))
    assert message == "Item size to update has exceeded the maximum allowed size"
    assert ddb.get_item(TableName=name, Key={"k": {"S": "U1"}})["Item"] == {"k": {"S": "U1"}, "v": {"N": "1"}}
    refused(lambda: update("U2", room + 1))  # a new item: not even an empty one may stay behind
    assert "Item" not in ddb.get_item(TableName=name, Key={"k": {"S": "U2"}})
    assert stream_records(daemon, arn) == before
    update("U1", room)
    assert len(ddb.get_item(TableName=name, Key={"k": {"S": "U1"}})["Item"]["pad"]["S"]) == room


def test_daemon_a_failed_update_leaves_the_item_as_it_was(daemon, table):
    # moto applies SET, then fails on ADD to a string: it had already changed the item in place
    name, arn = table
    ddb = daemon.client("dynamodb")
    ddb.put_item(TableName=name, Item={"k": {"S": "F1"}, "s": {"S": "text"}})
    refused(
        lambda: ddb.update_item(
            TableName=name,
            Key={"k": {"S": "F1"}},
            UpdateExpression="SET a = :x ADD s :n",
            ExpressionAttributeValues={":x": {"S": "new"}, ":n": {"N": "1"}},
        )
    )
    assert scan(daemon, name) == [{"k": {"S": "F1"}, "s": {"S": "text"}}]
    assert len(stream_records(daemon, arn)) == 1


def test_daemon_a_refused_update_in_a_table_with_a_sort_key_leaves_nothing(daemon):
    name, arn = daemon.table(range_key=True)
    ddb = daemon.client("dynamodb")
    ddb.put_item(TableName=name, Item={"k": {"S": "R"}, "r": {"S": "1"}, "v": {"S": "old"}})
    for sort_key in ("1", "2"):
        refused(
            lambda sort_key=sort_key: ddb.update_item(
                TableName=name,
                Key={"k": {"S": "R"}, "r": {"S": sort_key}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"S": "x" * MAX_ITEM_BYTES}},
            )
        )
    assert scan(daemon, name) == [{"k": {"S": "R"}, "r": {"S": "1"}, "v": {"S": "old"}}]
    assert len(stream_records(daemon, arn)) == 1


def test_daemon_refuses_a_batch_with_one_item_too_large_and_writes_none_of_it(daemon, table):
    name, arn = table
    ddb = daemon.client("dynamodb")
    large = {"k": {"S": "B2"}, "pad": {"S": "x" * MAX_ITEM_BYTES}}
    requests = [{"PutRequest": {"Item": {"k": {"S": "B1"}}}}, {"PutRequest": {"Item": large}}]
    message = refused(lambda: ddb.batch_write_item(RequestItems={name: requests}))
    assert message == "Item size has exceeded the maximum allowed size"
    assert scan(daemon, name) == [] and stream_records(daemon, arn) == []


def test_daemon_transactions_and_batches_take_exactly_400_kb(daemon, table):
    name, _ = table
    ddb = daemon.client("dynamodb")
    exact = {"k": {"S": "X1"}, "pad": {"S": "x" * (MAX_ITEM_BYTES - 3 - 3)}}
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": exact}}])
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {**exact, "k": {"S": "X2"}}}}]})
    assert sorted(item["k"]["S"] for item in scan(daemon, name)) == ["X1", "X2"]


def test_daemon_refuses_a_transaction_with_one_item_too_large_and_writes_none_of_it(daemon, table):
    name, arn = table
    ddb = daemon.client("dynamodb")
    large = {"k": {"S": "T2"}, "pad": {"S": "x" * MAX_ITEM_BYTES}}
    items = [{"Put": {"TableName": name, "Item": {"k": {"S": "T1"}}}}, {"Put": {"TableName": name, "Item": large}}]
    message = refused(lambda: ddb.transact_write_items(TransactItems=items))
    assert message == "Item size has exceeded the maximum allowed size"
    update = {"Update": {"TableName": name, "Key": {"k": {"S": "T3"}}, "UpdateExpression": "SET #p = :p"}}
    update["Update"] |= {"ExpressionAttributeNames": {"#p": "pad"}, "ExpressionAttributeValues": {":p": large["pad"]}}
    message = refused(lambda: ddb.transact_write_items(TransactItems=[items[0], update]))
    assert message == "Item size to update has exceeded the maximum allowed size"
    assert scan(daemon, name) == [] and stream_records(daemon, arn) == []


def test_daemon_accepts_32_levels_and_refuses_33(daemon, table):
    name, arn = table
    ddb = daemon.client("dynamodb")
    ddb.put_item(TableName=name, Item={"k": {"S": "D1"}, "deep": nested(MAX_NESTING_LEVELS)})
    deep = nested(MAX_NESTING_LEVELS + 1)
    assert refused(lambda: ddb.put_item(TableName=name, Item={"k": {"S": "D2"}, "deep": deep})) == NESTING_MESSAGE
    message = refused(
        lambda: ddb.update_item(
            TableName=name,
            Key={"k": {"S": "D3"}},
            UpdateExpression="SET deep = :d",
            ExpressionAttributeValues={":d": deep},
        )
    )
    assert message == NESTING_MESSAGE
    assert [item["k"]["S"] for item in scan(daemon, name)] == ["D1"]
    assert len(stream_records(daemon, arn)) == 1


def test_daemon_refuses_lone_surrogates_and_writes_nothing(daemon, table):
    name, arn = table
    ddb = daemon.client("dynamodb")
    message = refused(lambda: ddb.put_item(TableName=name, Item={"k": {"S": "S1"}, "v": {"S": "\udcff"}}))
    assert "not valid Unicode" in message
    refused(
        lambda: ddb.update_item(
            TableName=name,
            Key={"k": {"S": "S2"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"S": "\udcff"}},
        )
    )
    assert scan(daemon, name) == [] and stream_records(daemon, arn) == []
    # a valid surrogate pair (botocore escapes an emoji as one) is fine
    ddb.put_item(TableName=name, Item={"k": {"S": "S3"}, "v": {"S": "\U0001f600"}})
    assert ddb.get_item(TableName=name, Key={"k": {"S": "S3"}})["Item"]["v"]["S"] == "\U0001f600"


def raw_post(daemon, target: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        daemon.endpoint,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{target}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_daemon_refuses_raw_invalid_utf8_and_far_too_deep_nesting(daemon, table):
    name, arn = table
    status, body = raw_post(daemon, "PutItem", b'{"TableName": "%s", "Item": {"k": {"S": "\xff"}}}' % name.encode())
    assert status == 400 and body["__type"].split("#")[-1] == "SerializationException"
    deep = json.dumps(nested(300))
    status, body = raw_post(daemon, "PutItem", f'{{"TableName": "{name}", "Item": {{"k": {deep}}}}}'.encode())
    assert (status, body["message"]) == (400, NESTING_MESSAGE)
    assert scan(daemon, name) == [] and stream_records(daemon, arn) == []


# ------------------------------------------------------------------ end to end: the real CLI and daemon


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    directory = make_project(tmp_path_factory.mktemp("limits") / "project")
    result = run_cli("up", cwd=directory)
    assert result.returncode == 0, result.stderr
    try:
        yield directory
    finally:
        run_cli("down", cwd=directory)


def cli(project, *args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """The real CLI with arguments that may be raw bytes (not valid UTF-8)."""
    return subprocess.run(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=project,
        input=stdin,
        capture_output=True,
        timeout=120,
        env=cli_env(),
    )


def one_line_error(result: subprocess.CompletedProcess, fragment: str, code: int = ExitCode.INVALID_INPUT) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and "Traceback" not in stderr, stderr
    assert fragment in stderr, stderr


@pytest.mark.e2e
def test_cli_bad_text_is_one_line_and_nothing_is_written(project, tmp_path):
    one_line_error(cli(project, "update", "X", "--set", b"v=\xff"), "is not valid UTF-8")
    one_line_error(cli(project, "put", "--item", '{"employeeid":"\\ud800"}'), "is not valid UTF-8")
    one_line_error(cli(project, "put", "--item", "-", stdin=b'{"employeeid": "\xff"}'), "(stdin) is not valid UTF-8")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"employeeid": "\xff"}')
    one_line_error(cli(project, "put", "--item", f"@{bad}"), f"{bad} is not valid UTF-8")
    one_line_error(cli(project, "get", b"\xff"), "is not valid UTF-8")
    one_line_error(cli(project, "get", "X"), "no item with key", ExitCode.NOT_FOUND)
    assert stack_client(project, "dynamodb").scan(TableName="employees")["Items"] == []


@pytest.mark.e2e
def test_cli_nesting_and_size_limits(project, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"employeeid": "N1", "a": ' + "[" * 300 + "]" * 300 + "}")
    one_line_error(cli(project, "put", "--item", f"@{deep}"), "nests more than 32 levels deep")
    ok = {"employeeid": "N2", "a": nested(MAX_NESTING_LEVELS, ddb=False)}
    assert cli(project, "put", "--item", json.dumps(ok)).returncode == 0
    too_deep = {"employeeid": "N3", "a": nested(MAX_NESTING_LEVELS + 1, ddb=False)}
    one_line_error(cli(project, "put", "--item", json.dumps(too_deep)), "nests more than 32 levels deep")

    exact = tmp_path / "exact.json"
    exact.write_text(json.dumps({"employeeid": "Z1", "pad": sized(MAX_ITEM_BYTES, key="Z1")["pad"]["S"]}))
    result = cli(project, "put", "--item", f"@{exact}")
    assert result.returncode == 0, result.stderr.decode()
    over = tmp_path / "over.json"
    over.write_text(json.dumps({"employeeid": "Z2", "pad": sized(MAX_ITEM_BYTES + 1, key="Z2")["pad"]["S"]}))
    one_line_error(cli(project, "put", "--item", f"@{over}"), "item is 409,601 bytes")
    one_line_error(
        cli(project, "update", "Z1", "--set", "more=x"),
        "DynamoDB refused the request: Item size to update has exceeded the maximum allowed size",
    )
    ddb = stack_client(project, "dynamodb")
    assert sorted(item["employeeid"]["S"] for item in ddb.scan(TableName="employees")["Items"]) == ["N2", "Z1"]


@pytest.mark.e2e
def test_raw_boto3_against_the_daemon_gets_validation_errors_and_no_partial_write(project):
    ddb = stack_client(project, "dynamodb")
    message = refused(
        lambda: ddb.update_item(
            TableName="employees",
            Key={"employeeid": {"S": "P1"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"S": "\udcff"}},
        )
    )
    assert "not valid Unicode" in message
    assert "Item" not in ddb.get_item(TableName="employees", Key={"employeeid": {"S": "P1"}})
