"""`query`: one partition of the table (or of one of its indexes), narrowed by a sort key condition."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ddbstream.errors import InvalidInput
from ddbstream.item_limits import check_text
from ddbstream.items import convert_key_value
from ddbstream.table import ItemStore

_SORT = re.compile(r"\s*(<=|>=|=|<|>)\s*([^\s<>=].*?)\s*")
_OPERATORS = "=, <, <=, >, >="


@dataclass
class Query:
    """What `ddbstream query` asks: PARTITION_KEY and the options that narrow and order it."""

    partition: str
    sort: str | None = None  # '>= 1700000000'
    between: tuple[str, str] | None = None
    begins_with: str | None = None
    index: str | None = None
    filter: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # DynamoDB-typed, for the filter's placeholders
    reverse: bool = False


def run_query(store: ItemStore, query: Query, limit: int | None = None) -> list[dict]:
    """The items the query finds, in sort key order (reversed with ``reverse``), at most ``limit``."""
    return store.pages("query", query_request(store, query), limit)


def query_request(store: ItemStore, query: Query) -> dict[str, Any]:
    """The Query API's arguments: a key condition typed by the keys' attribute types, the filter, the order."""
    given = [name for name, value in _sort_options(query) if value is not None]
    if len(given) > 1:
        raise InvalidInput("use only one of --sort, --between and --begins-with")
    if query.values and not query.filter:
        raise InvalidInput("--values needs --filter")
    keys = store.index_key_schema(query.index) if query.index else [(name, kind) for name, kind in store.key_schema]
    (partition_name, partition_type), sort_key = keys[0], keys[1] if len(keys) > 1 else None
    names = {"#key0": partition_name}
    values = {":key0": {partition_type: convert_key_value(partition_name, partition_type, query.partition)}}
    expression = "#key0 = :key0"
    if given:
        if sort_key is None:
            owner = f"index {query.index}" if query.index else f"table {store.table_name}"
            raise InvalidInput(f"{owner} has no sort key: query it by {partition_name} alone")
        expression += " AND " + _sort_condition(query, sort_key, names, values)
    request: dict[str, Any] = {"TableName": store.table_name, "KeyConditionExpression": expression}
    if query.index:
        request["IndexName"] = query.index
    if query.filter is not None:
        if not query.filter.strip():
            raise InvalidInput("--filter must not be empty")
        clash = sorted(set(query.values) & {":key0", ":key1", ":key2"})
        if clash:
            raise InvalidInput(f"--values must not name {', '.join(clash)}: the key condition uses them")
        request["FilterExpression"] = check_text(query.filter, "--filter")
        values = {**values, **query.values}
    if query.reverse:
        request["ScanIndexForward"] = False
    return {**request, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


def _sort_options(query: Query) -> list[tuple[str, Any]]:
    return [("--sort", query.sort), ("--between", query.between), ("--begins-with", query.begins_with)]


def _sort_condition(query: Query, sort_key: tuple[str, str], names: dict, values: dict) -> str:
    """The sort key's part of the key condition (#key1 ...), its values added to ``values``."""
    name, kind = sort_key
    names["#key1"] = name

    def value(placeholder: str, text: str) -> str:
        values[placeholder] = {kind: convert_key_value(name, kind, text)}
        return placeholder

    if query.between is not None:
        low, high = query.between
        return f"#key1 BETWEEN {value(':key1', low)} AND {value(':key2', high)}"
    if query.begins_with is not None:
        if kind == "N":
            raise InvalidInput(f"--begins-with needs a string or binary sort key: {name} is a number (N)")
        return f"begins_with(#key1, {value(':key1', query.begins_with)})"
    match = _SORT.fullmatch(query.sort or "")
    if match is None:
        raise InvalidInput(
            f"--sort {query.sort!r}: expected an operator ({_OPERATORS}) and a value, as in '>= 1700000000'"
        )
    return f"#key1 {match[1]} {value(':key1', match[2])}"
