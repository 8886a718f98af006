"""Against a real daemon, the lean local DynamoDB client answers exactly as botocore's client does.

The same scenario (writes with binary and nested values, conditions, updates, pages, every
refusal the item commands meet) runs once through each client on the same table; every answer,
exception, message and modeled error field must be the same (request ids and dates aside).
"""

from __future__ import annotations

from typing import Any

import pytest
from esm_support import InThreadDaemon

from ddbstream import clients
from ddbstream.errors import DdbstreamError
from ddbstream.items import build_update, to_ddb
from ddbstream.local_dynamodb import LocalDynamoDB
from ddbstream.table import Condition, ItemStore

SCHEMA = [("k", "S"), ("r", "S")]


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def table(daemon) -> str:
    name, _ = daemon.table(range_key=True)
    return name


def pair(daemon: InThreadDaemon) -> list[Any]:
    clients._session.cache_clear()
    return [
        clients.local_client("dynamodb", daemon.endpoint, "us-east-1", "testing"),
        clients.local_table_client(daemon.endpoint, "us-east-1", "testing"),
    ]


def outcome(call: Any, **params: Any) -> Any:
    """The answer without its volatile metadata, or (exception class, message, response) likewise."""
    try:
        answer = call(**params)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        response = dict(getattr(exc, "response", {}))
        return type(exc).__name__, str(exc), _stable(response)
    return _stable(answer)


def _stable(answer: dict[str, Any]) -> dict[str, Any]:
    metadata = answer.pop("ResponseMetadata", None)
    if metadata is not None:
        answer["status"] = metadata["HTTPStatusCode"]
        answer["metadata"] = sorted(metadata)
    return answer


def raw_scenario(client: Any, table: str) -> list[Any]:
    key = {"k": {"S": "a"}, "r": {"S": "1"}}
    item = {**key, "bin": {"B": b"\x00\xff"}, "bs": {"BS": [b"x", b"y"]}, "m": {"M": {"l": {"L": [{"B": b"q"}]}}}}
    item["n"] = {"N": "12345678901234567890.5"}
    item["text"] = {"S": "é\u2603\u0000"}
    steps = [
        (client.put_item, {"TableName": table, "Item": item, "ReturnValues": "ALL_OLD"}),
        (client.put_item, {"TableName": table, "Item": item, "ReturnValues": "ALL_OLD"}),
        (client.get_item, {"TableName": table, "Key": key, "ConsistentRead": True}),
        (client.get_item, {"TableName": table, "Key": {"k": {"S": "none"}, "r": {"S": "1"}}}),
        (
            client.put_item,
            {
                "TableName": table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(k)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        ),
        (client.put_item, {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(k)"}),
        (
            client.update_item,
            {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET #a = :v ADD #n :one",
                "ExpressionAttributeNames": {"#a": "a", "#n": "n"},
                "ExpressionAttributeValues": {":v": {"B": b"\x01"}, ":one": {"N": "1"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (client.update_item, {"TableName": table, "Key": key, "UpdateExpression": "SET a.b.c = :v"}),
        (
            client.update_item,
            {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET x.y = :v",
                "ExpressionAttributeValues": {":v": {"S": "v"}},
            },
        ),
        (client.get_item, {"TableName": table, "Key": {"k": {"S": "a"}}}),
        (client.get_item, {"TableName": "no-such-table", "Key": key}),
        (client.scan, {"TableName": table, "Limit": 1}),
        (
            client.query,
            {"TableName": table, "KeyConditionExpression": "k = :k", "ExpressionAttributeValues": {":k": {"S": "a"}}},
        ),
        (client.describe_table, {"TableName": "no-such-table"}),
        (client.delete_item, {"TableName": table, "Key": key, "ReturnValues": "ALL_OLD"}),
        (client.delete_item, {"TableName": table, "Key": key, "ReturnValues": "ALL_OLD"}),
    ]
    return [outcome(call, **params) for call, params in steps]


def test_every_answer_and_refusal_is_botocores(daemon, table):
    theirs, ours = (raw_scenario(client, table) for client in pair(daemon))
    assert isinstance(pair(daemon)[1], LocalDynamoDB)
    for step, (expected, actual) in enumerate(zip(theirs, ours)):
        assert actual == expected, f"step {step}"
    assert ours[1]["Attributes"]["bin"] == {"B": b"\x00\xff"}  # binary values come back as bytes
    assert ours[4][0] == "ConditionalCheckFailedException" and "Item" in ours[4][2]


def store_scenario(store: ItemStore) -> list[Any]:
    """What the item commands see: results, or the one-line error and exit code they print."""
    key = {"k": {"S": "b"}, "r": {"S": "2"}}
    steps = [
        lambda: store.put(to_ddb({"k": "b", "r": "2", "v": 1, "blob": b"\x00"})),
        lambda: store.put(to_ddb({"k": "b", "r": "2", "v": 2}), Condition(if_not_exists=True)),
        lambda: store.put(to_ddb({"k": "b", "r": "2", "v": 3}), returns="old"),
        lambda: store.get(key),
        lambda: store.get({"k": {"S": "missing"}, "r": {"S": "2"}}),
        lambda: store.update(key, *build_update(["m.x=1"], [], [], SCHEMA), assignments=[("--set", "m.x=1")]),
        lambda: store.update(key, *build_update(["w=5"], [], ["v=2"], SCHEMA)),
        lambda: store.delete({"k": {"S": "missing"}, "r": {"S": "2"}}, Condition(if_exists=True)),
        lambda: store.pages(
            "query",
            {
                "TableName": store.table_name,
                "KeyConditionExpression": "k = :k",
                "ExpressionAttributeValues": {":k": {"S": "b"}},
            },
        ),
        lambda: store.index_key_schema("nope"),
        lambda: store.delete(key),
        lambda: ItemStore(store.client, "no-such-table", SCHEMA).get(key),
    ]
    results = []
    for step in steps:
        try:
            results.append(step())
        except DdbstreamError as exc:
            results.append((exc.message, exc.exit_code))
    return results


def test_the_item_store_says_the_same_through_either_client(daemon, table):
    theirs, ours = (store_scenario(ItemStore(client, table, SCHEMA)) for client in pair(daemon))
    assert ours == theirs
    assert ours[1][0].startswith("condition check failed: the current item is")
    assert ours[-1][0] == "table no-such-table does not exist: run 'ddbstream up'"


def test_a_wrong_secret_is_refused_alike(daemon, table):
    clients._session.cache_clear()
    theirs = clients.local_client("dynamodb", daemon.endpoint, "us-east-1", "wrong")
    ours = clients.local_table_client(daemon.endpoint, "us-east-1", "wrong")
    key = {"k": {"S": "a"}, "r": {"S": "1"}}
    expected = outcome(theirs.get_item, TableName=table, Key=key)
    assert outcome(ours.get_item, TableName=table, Key=key) == expected
    assert expected[0] == "ClientError" and "UnrecognizedClientException" in expected[1]
