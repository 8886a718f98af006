"""DescribeTable answers a table's current size and item count, as DynamoDB counts an item's size."""

from __future__ import annotations

import pytest
from esm_support import InThreadDaemon

from ddbstream.item_limits import item_size


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


ITEMS = [
    {"k": {"S": "a"}, "name": {"S": "Ann"}, "n": {"N": "12345"}},
    {"k": {"S": "b"}, "blob": {"B": b"\x00\x01\x02"}, "tags": {"SS": ["x", "yz"]}},
    {"k": {"S": "c"}, "m": {"M": {"inner": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}}}},
]


def described(daemon: InThreadDaemon, table: str) -> dict:
    return daemon.client("dynamodb").describe_table(TableName=table)["Table"]


def test_describe_table_answers_the_current_size_and_item_count(daemon):
    table, _ = daemon.table()
    empty = described(daemon, table)
    assert (empty["TableSizeBytes"], empty["ItemCount"]) == (0, 0)
    dynamodb = daemon.client("dynamodb")
    for item in ITEMS:
        dynamodb.put_item(TableName=table, Item=item)
    full = described(daemon, table)
    assert full["ItemCount"] == 3
    # names + values; a number is 1 byte per 2 digits + 1; a map or list 3 bytes + 1 per element
    # a: 2 + (4+3) + (1+4) = 14; b: 2 + (4+3) + (4+1+2) = 16; c: 2 + 1 + (3 + 5 + (3 + 2+1 + 1+1 + 1+1) + 1) = 22
    assert full["TableSizeBytes"] == sum(item_size(item) for item in ITEMS) == 14 + 16 + 22

    dynamodb.delete_item(TableName=table, Key={"k": {"S": "a"}})
    after = described(daemon, table)
    assert (after["TableSizeBytes"], after["ItemCount"]) == (16 + 22, 2)


def test_a_table_with_a_sort_key_counts_every_item(daemon):
    table, _ = daemon.table(range_key=True)
    dynamodb = daemon.client("dynamodb")
    for r in ("1", "2", "3"):
        dynamodb.put_item(TableName=table, Item={"k": {"S": "a"}, "r": {"S": r}, "v": {"S": "xyz"}})
    answer = described(daemon, table)
    assert (answer["TableSizeBytes"], answer["ItemCount"]) == (3 * (2 + 2 + 4), 3)
