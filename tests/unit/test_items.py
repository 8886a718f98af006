"""Plain JSON <-> DynamoDB JSON, keys, update expressions, and the item store against moto."""

import base64
import json
import re
from decimal import Decimal

import pytest

from ddbstream.errors import ConditionFailed, InvalidInput, NotFound
from ddbstream.items import (
    build_update,
    dumps_plain,
    from_ddb,
    item_size,
    loads_exact,
    parse_item,
    parse_key,
    read_json_argument,
    to_ddb,
)
from ddbstream.table import Condition, ItemStore

SCHEMA = [("employeeid", "S")]
COMPOSITE = [("UserId", "S"), ("ts", "N")]


def test_numbers_keep_every_digit_both_ways():
    text = '{"id": "a", "big": 12345678901234567890.123456789, "n": 10, "list": [1.50, {"x": -0}]}'
    item = loads_exact(text)
    assert item["big"] == Decimal("12345678901234567890.123456789")
    assert to_ddb(item)["big"] == {"N": "12345678901234567890.123456789"}
    assert dumps_plain(from_ddb(to_ddb(item))) == (
        '{"id": "a", "big": 12345678901234567890.123456789, "n": 10, "list": [1.50, {"x": 0}]}'
    )


def test_sets_and_binary_become_plain_json():
    ddb = {"ss": {"SS": ["b", "a"]}, "ns": {"NS": ["2", "10"]}, "bin": {"B": b"\x00\x01"}}
    assert json.loads(dumps_plain(from_ddb(ddb))) == {"ss": ["a", "b"], "ns": [2, 10], "bin": "AAE="}


def test_ddb_json_items_are_accepted():
    item = parse_item('{"employeeid": {"S": "E1"}, "n": {"N": "1.0"}, "tags": {"SS": ["x"]}}', ddb_json=True)
    assert item == {"employeeid": {"S": "E1"}, "n": {"N": "1.0"}, "tags": {"SS": ["x"]}}


def test_invalid_json_reports_the_position():
    with pytest.raises(InvalidInput) as error:
        parse_item('{"employeeid": "E1",}')
    assert (
        str(error.value)
        == "invalid JSON in item: Expecting property name enclosed in double quotes at line 1 column 21"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("[1, 2]", "item must be a JSON object, got an array"),
        ('"x"', "item must be a JSON object, got a string"),
        ('{"a": NaN}', "unsupported number NaN: DynamoDB numbers must be finite"),
        ('{"a": Infinity}', "unsupported number Infinity: DynamoDB numbers must be finite"),
    ],
)
def test_items_that_are_not_items(text, message):
    with pytest.raises(InvalidInput) as error:
        parse_item(text)
    assert str(error.value) == message


def test_item_from_file_and_stdin(tmp_path, monkeypatch):
    path = tmp_path / "item.json"
    path.write_text('{"employeeid": "E7"}')
    assert read_json_argument(f"@{path}") == {"employeeid": "E7"}
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO('{"employeeid": "E8"}'))
    assert read_json_argument("-") == {"employeeid": "E8"}
    with pytest.raises(InvalidInput, match="cannot read"):
        read_json_argument(f"@{tmp_path / 'missing.json'}")


def test_positional_keys_are_converted_to_the_schema_types():
    assert parse_key(["u1", "1700000000"], None, COMPOSITE) == {"UserId": {"S": "u1"}, "ts": {"N": "1700000000"}}
    assert parse_key(None, '{"UserId": "u1", "ts": 5}', COMPOSITE) == {"UserId": {"S": "u1"}, "ts": {"N": "5"}}


@pytest.mark.parametrize(
    "positional, key_json, message",
    [
        (["u1"], None, "expected 2 key value(s) (UserId ts), got 1: the sort key ts (N) is missing"),
        (["u1", "soon"], None, "key attribute 'ts' must be a number, got 'soon'"),
        (["", "1"], None, "key attribute 'UserId' must not be empty"),
        (None, '{"UserId": "u1"}', "key is missing key attribute 'ts' (type N)"),
        (None, '{"UserId": 1, "ts": 1}', "key attribute 'UserId' must be of type S, got N"),
        (None, '{"UserId": "a", "ts": 1, "x": 2}', "--key has attributes that are not part of the key (UserId ts): x"),
        (["a", "1"], '{"UserId": "a"}', "give the key either positionally or with --key, not both"),
    ],
)
def test_bad_keys(positional, key_json, message):
    with pytest.raises(InvalidInput) as error:
        parse_key(positional, key_json, COMPOSITE)
    assert str(error.value) == message


def test_update_expression_with_nested_paths():
    expression, names, values = build_update(
        ["name=Alice", "age=30", "address.city=Oslo"], ["nick"], ["visits=1"], SCHEMA
    )
    assert expression == "SET #n0 = :v0, #n1 = :v1, #n2.#n3 = :v2 REMOVE #n4 ADD #n5 :v3"
    assert names == {"#n0": "name", "#n1": "age", "#n2": "address", "#n3": "city", "#n4": "nick", "#n5": "visits"}
    assert values == {":v0": {"S": "Alice"}, ":v1": {"N": "30"}, ":v2": {"S": "Oslo"}, ":v3": {"N": "1"}}


@pytest.mark.parametrize(
    "sets, removes, adds, message",
    [
        ([], [], [], "nothing to update: give --set, --remove or --add"),
        (["employeeid=x"], [], [], "cannot update key attribute 'employeeid'"),
        (["novalue"], [], [], "--set 'novalue': expected attribute=value"),
        ([], [], ["n=abc"], "--add 'n=abc': value must be a number"),
        ([], ["a..b"], [], "invalid attribute path 'a..b': expected names and [n] indexes, as in a.b[0].c"),
        (["x[=1"], [], [], "invalid attribute path 'x[': expected names and [n] indexes, as in a.b[0].c"),
        ([], ["x[a]"], [], "invalid attribute path 'x[a]': expected names and [n] indexes, as in a.b[0].c"),
        ([], ["[0]"], [], "invalid attribute path '[0]': expected names and [n] indexes, as in a.b[0].c"),
        (["employeeid[0]=x"], [], [], "cannot update key attribute 'employeeid'"),
    ],
)
def test_bad_updates(sets, removes, adds, message):
    with pytest.raises(InvalidInput) as error:
        build_update(sets, removes, adds, SCHEMA)
    assert str(error.value) == message


def test_list_elements_in_update_paths(store):
    store.put(to_ddb({"employeeid": "E1", "tags": ["a", "b", "c"], "m": {"l": [{"c": 0}]}}))
    expression, names, values = build_update(["tags[1]=B", "m.l[0].c=1"], ["tags[0]"], [], SCHEMA)
    assert expression == "SET #n0[1] = :v0, #n1.#n2[0].#n3 = :v1 REMOVE #n4[0]"
    assert names == {"#n0": "tags", "#n1": "m", "#n2": "l", "#n3": "c", "#n4": "tags"}
    store.update({"employeeid": {"S": "E1"}}, expression, names, values)
    item = store.get({"employeeid": {"S": "E1"}})
    assert item["tags"] == ["B", "c"] and item["m"] == {"l": [{"c": 1}]}
    assert "tags[1]" not in item  # a path, not an attribute named "tags[1]"


def test_item_size_counts_names_and_values():
    assert item_size({"ab": {"S": "xyz"}}) == 5
    big = to_ddb({"employeeid": "E1", "blob": "x" * (400 * 1024)})
    assert item_size(big) > 400 * 1024


# ------------------------------------------------------------------ ItemStore on moto


@pytest.fixture
def store(aws_credentials):
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="employees",
            AttributeDefinitions=[{"AttributeName": "employeeid", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "employeeid", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ItemStore(client, "employees", SCHEMA)


def test_put_get_update_delete(store):
    store.put(to_ddb({"employeeid": "E1", "name": "Alice", "n": Decimal("1.10")}))
    assert store.get({"employeeid": {"S": "E1"}}) == {"employeeid": "E1", "name": "Alice", "n": Decimal("1.10")}
    expression, names, values = build_update(["name=Bob"], [], ["n=2"], SCHEMA)
    assert store.update({"employeeid": {"S": "E1"}}, expression, names, values)["n"] == Decimal("3.10")
    old = store.delete({"employeeid": {"S": "E1"}})
    assert old["name"] == "Bob"
    assert store.delete({"employeeid": {"S": "E1"}}) is None  # nothing was there to delete
    with pytest.raises(NotFound, match='no item with key employeeid="E1" in table employees'):
        store.get({"employeeid": {"S": "E1"}})


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("s.c=1", "--set s.c=1: s is a string, not a map"),
        ("n[0]=1", "--set n[0]=1: n is a number, not a list"),
        ("m[0].x=1", "--set m[0].x=1: m is a map, not a list"),
        (
            "tags[0].x=yes",
            "--set tags[0].x=yes: the item has no list tags to set [0].x in (DynamoDB does not create one): "
            """set the whole list with --set tags='[{"x": "yes"}]'""",
        ),
        (
            "m.a.b=1",
            "--set m.a.b=1: the item has no map m.a to set b in (DynamoDB does not create one): "
            """set the whole map with --set m.a='{"b": 1}'""",
        ),
    ],
)
def test_an_update_through_a_missing_map_is_explained(store, monkeypatch, assignment, message):
    """DynamoDB refuses a path through what the item lacks or holds as a scalar (moto passes some through)."""
    from botocore.exceptions import ClientError

    from ddbstream.table import INVALID_DOCUMENT_PATH

    store.put(to_ddb({"employeeid": "E1", "s": "text", "n": 1, "m": {}}))

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "ValidationException", "Message": INVALID_DOCUMENT_PATH}}, "UpdateItem")

    monkeypatch.setattr(store.client, "update_item", refuse)
    expression, names, values = build_update([assignment], [], [], SCHEMA)
    with pytest.raises(InvalidInput) as error:
        store.update({"employeeid": {"S": "E1"}}, expression, names, values, assignments=[("--set", assignment)])
    assert str(error.value) == message


def test_conditional_put_shows_the_current_item(store):
    store.put(to_ddb({"employeeid": "E1", "v": 1}))
    with pytest.raises(ConditionFailed) as error:
        store.put(to_ddb({"employeeid": "E1", "v": 2}), Condition(if_not_exists=True))
    assert str(error.value) == 'condition check failed: the current item is {"employeeid": "E1", "v": 1}'
    assert store.get({"employeeid": {"S": "E1"}})["v"] == 1


def test_if_exists_on_a_missing_item(store):
    with pytest.raises(ConditionFailed, match='no item with key employeeid="E9" exists'):
        store.delete({"employeeid": {"S": "E9"}}, Condition(if_exists=True))


def test_condition_expression_with_values(store):
    store.put(to_ddb({"employeeid": "E1", "v": 5}))
    cond = Condition(expression="v < :max", values=to_ddb({":max": 3}))
    with pytest.raises(ConditionFailed):
        store.put(to_ddb({"employeeid": "E1", "v": 6}), cond)
    store.put(to_ddb({"employeeid": "E1", "v": 6}), Condition(expression="v < :max", values=to_ddb({":max": 10})))
    assert store.get({"employeeid": {"S": "E1"}})["v"] == 6


def test_scan_follows_pages_up_to_the_limit(store):
    for i in range(25):
        store.put(to_ddb({"employeeid": f"E{i:02d}"}))
    assert len(store.scan()) == 25
    assert len(store.scan(limit=7)) == 7


def test_missing_table(aws_credentials):
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        with pytest.raises(NotFound, match="table nosuch does not exist: run 'ddbstream up'"):
            ItemStore(client, "nosuch", SCHEMA).get({"employeeid": {"S": "x"}})


def test_binary_keys_are_base64():
    key = parse_key([base64.b64encode(b"\x01\x02").decode()], None, [("k", "B")])
    assert key == {"k": {"B": b"\x01\x02"}}
    with pytest.raises(InvalidInput, match="must be base64 binary"):
        parse_key(["%%%"], None, [("k", "B")])


# ------------------------------------------------------------------ text DynamoDB cannot store


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: build_update(["v=\udcff"], [], [], SCHEMA), "--set is not valid UTF-8: character 3 is U+DCFF"),
        (lambda: build_update([], [], ["\udcff=1"], SCHEMA), "--add is not valid UTF-8: character 1 is U+DCFF"),
        (lambda: build_update([], ["a.\udcff"], [], SCHEMA), "an attribute path is not valid UTF-8"),
        (lambda: Condition(expression="v = \udcff"), "--condition is not valid UTF-8: character 5 is U+DCFF"),
        (lambda: parse_item('{"employeeid": "E1", "m": {"\\ud800": 1}}'), "a map key is not valid UTF-8"),
        (lambda: to_ddb({"employeeid": "E1", "s": {"\ud800"}}), "a string in a set is not valid UTF-8"),
    ],
)
def test_text_that_is_not_utf8_is_refused_before_any_request(call, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        call()


def test_a_valid_surrogate_pair_is_just_an_emoji():
    assert parse_item('{"employeeid": "\\ud83d\\ude00"}') == {"employeeid": {"S": "\U0001f600"}}


def test_numbers_count_their_significant_digits():
    assert item_size({"n": {"N": "0.5"}}) == item_size({"n": {"N": "5000"}}) == 1 + 2
    assert item_size({"n": {"N": "1" * 38}}) == 1 + 20
    assert item_size({"ns": {"NS": ["1", "22", "333"]}}) == 2 + 2 + 2 + 3
