"""What else the local daemon runs: tables, functions, queues and mappings the pipeline `up` last applied
does not name (left by `up --keep-old`, or made with the AWS CLI against the daemon)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ddbstream.pipeline import Pipeline

ClientFactory = Callable[[str], Any]


def other_deployed(pipeline: Pipeline, client: ClientFactory) -> dict[str, list[str]]:
    """{kind: names} of what runs beside the pipeline; kinds with nothing are left out."""
    own = set(_strings(pipeline.as_resources()))
    lam = client("lambda")
    found = {
        "tables": [n for n in _pages(client("dynamodb"), "list_tables", "TableNames") if n not in own],
        "functions": [
            f["FunctionName"]
            for f in _pages(lam, "list_functions", "Functions")
            if f["FunctionName"] not in own and f["FunctionArn"] not in own
        ],
        "queues": [u.rsplit("/", 1)[-1] for u in client("sqs").list_queues().get("QueueUrls", []) if u not in own],
        "mappings": [
            f"{m['UUID']} ({_table_of(m.get('EventSourceArn'))} to {_name_of(m.get('FunctionArn'))})"
            for m in _pages(lam, "list_event_source_mappings", "EventSourceMappings")
            if m["UUID"] not in own
        ],
    }
    return {kind: sorted(names) for kind, names in found.items() if names}


def _pages(client: Any, operation: str, key: str) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate():
        yield from page.get(key, [])


def _strings(value: Any) -> Iterator[str]:
    """Every string in a state.json resources value (names, URLs, ARNs, nested alarm names...)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _table_of(stream_arn: str | None) -> str:
    return (stream_arn or "").split(":table/", 1)[-1].split("/", 1)[0] or "?"


def _name_of(function_arn: str | None) -> str:
    return (function_arn or "").rsplit(":", 1)[-1] or "?"
