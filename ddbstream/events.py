"""Realistic DynamoDB stream records and Lambda events, as a stream mapping delivers them.

Images are given as plain Python values (Decimal numbers, sets, bytes) and converted with
ddbstream.items (boto3's TypeSerializer); in the event JSON, binary values are base64 text
as Lambda sends them.
"""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ddbstream.errors import InvalidInput
from ddbstream.items import item_size, to_ddb
from ddbstream.state import FAKE_ACCOUNT

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
DEFAULT_STREAM_LABEL = "2024-01-01T00:00:00.000"
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

# Default sequence numbers: 21 digits, increasing within a process and from run to run.
_sequence = itertools.count(time.time_ns() // 1000 * 100_000)


def stream_arn(
    table_name: str, region: str = "us-east-1", account: str = FAKE_ACCOUNT, label: str = DEFAULT_STREAM_LABEL
) -> str:
    """The ARN of a table's stream."""
    return f"arn:aws:dynamodb:{region}:{account}:table/{table_name}/stream/{label}"


def to_event_json(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain item -> DynamoDB JSON as it appears in a stream event (binary as base64 text)."""
    return _base64_bytes(to_ddb(dict(item)))


def _base64_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _base64_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_base64_bytes(v) for v in value]
    return value


def _with_keys(image: Mapping[str, Any] | None, keys: Mapping[str, Any], which: str) -> dict[str, Any]:
    """An image always holds the key attributes: add missing ones, refuse different ones."""
    image = dict(image or {})
    for name, value in keys.items():
        if name in image and image[name] != value:
            raise InvalidInput(f"{which} image has {name}={image[name]!r} but the key says {value!r}")
    return {**keys, **image}


def make_stream_record(
    event_name: str,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    view_type: str = "NEW_AND_OLD_IMAGES",
    sequence_number: str | int | None = None,
    *,
    event_id: str | None = None,
    created: float | datetime | None = None,
    table_name: str = "employees",
    region: str = "us-east-1",
    account: str = FAKE_ACCOUNT,
    source_arn: str | None = None,
    ttl: bool = False,
) -> dict[str, Any]:
    """One record of a DynamoDB stream event, shaped as Lambda receives it.

    The view type decides which images appear, as on a real stream: NewImage for INSERT and
    MODIFY, OldImage for MODIFY and REMOVE. A missing image that the view type needs is the
    key attributes alone. ``ttl`` marks a REMOVE done by Time to Live (userIdentity).
    """
    event_name = event_name.upper()
    if event_name not in EVENT_NAMES:
        raise InvalidInput(f"unknown event name {event_name!r}: use {', '.join(EVENT_NAMES)}")
    if view_type not in VIEW_TYPES:
        raise InvalidInput(f"unknown stream view type {view_type!r}: use {', '.join(VIEW_TYPES)}")
    if not keys:
        raise InvalidInput("a stream record needs the item's key attributes")
    if event_name == "INSERT" and old_image is not None:
        raise InvalidInput("an INSERT has no old image")
    if event_name == "REMOVE" and new_image is not None:
        raise InvalidInput("a REMOVE has no new image")
    if ttl and event_name != "REMOVE":
        raise InvalidInput("only a REMOVE can come from Time to Live")
    if sequence_number is None:
        sequence_number = next(_sequence)
    sequence_number = str(sequence_number)
    if not sequence_number.isdigit():
        raise InvalidInput(f"sequence number must be digits, got {sequence_number!r}")
    if created is None:
        created = int(time.time())
    elif isinstance(created, datetime):
        created = created.timestamp()
        created = int(created) if created == int(created) else created

    ddb: dict[str, Any] = {"ApproximateCreationDateTime": created, "Keys": to_event_json(keys)}
    wire_keys = to_ddb(dict(keys))
    size = item_size(wire_keys)
    if view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and event_name != "REMOVE":
        image = to_ddb(_with_keys(new_image, keys, "new"))
        ddb["NewImage"] = _base64_bytes(image)
        size += item_size(image)
    if view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and event_name != "INSERT":
        image = to_ddb(_with_keys(old_image, keys, "old"))
        ddb["OldImage"] = _base64_bytes(image)
        size += item_size(image)
    ddb.update({"SequenceNumber": sequence_number, "SizeBytes": size, "StreamViewType": view_type})

    record: dict[str, Any] = {
        "eventID": event_id or uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": source_arn or stream_arn(table_name, region, account),
    }
    if ttl:
        record["userIdentity"] = dict(TTL_IDENTITY)
    return record


def make_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A Lambda event for a batch of stream records."""
    return {"Records": [dict(record) for record in records]}
