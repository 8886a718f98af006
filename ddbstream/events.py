"""Realistic DynamoDB stream records and Lambda events, as a stream mapping delivers them.

Images are given as plain Python values (Decimal numbers, sets, bytes) and converted with
ddbstream.items (boto3's TypeSerializer); the record itself is built by ddbstream.stream_records,
the codec the daemon shares, so binary values are base64 text as Lambda sends them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ddbstream.errors import InvalidInput
from ddbstream.items import to_ddb
from ddbstream.state import FAKE_ACCOUNT
from ddbstream.stream_records import (
    EVENT_NAMES,
    SEQUENCE_NUMBERS,
    VIEW_TYPES,
    epoch_seconds,
    lambda_record,
    shows_new_image,
    shows_old_image,
    stream_record,
)

DEFAULT_STREAM_LABEL = "2024-01-01T00:00:00.000"


def stream_arn(
    table_name: str, region: str = "us-east-1", account: str = FAKE_ACCOUNT, label: str = DEFAULT_STREAM_LABEL
) -> str:
    """The ARN of a table's stream."""
    return f"arn:aws:dynamodb:{region}:{account}:table/{table_name}/stream/{label}"


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
    _refuse_an_impossible_record(event_name, keys, new_image, old_image, view_type, ttl)
    if sequence_number is None:
        sequence_number = SEQUENCE_NUMBERS.take()
    sequence_number = str(sequence_number)
    if not sequence_number.isdigit():
        raise InvalidInput(f"sequence number must be digits, got {sequence_number!r}")

    new, old = None, None
    if shows_new_image(view_type) and event_name != "REMOVE":
        new = to_ddb(_with_keys(new_image, keys, "new"))
    if shows_old_image(view_type) and event_name != "INSERT":
        old = to_ddb(_with_keys(old_image, keys, "old"))
    record = stream_record(
        event_name,
        to_ddb(dict(keys)),
        new,
        old,
        view_type,
        sequence_number,
        created=_epoch_seconds(created),
        region=region,
        event_id=event_id,
        ttl=ttl,
    )
    return lambda_record(record, source_arn or stream_arn(table_name, region, account))


def _refuse_an_impossible_record(
    event_name: str,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    view_type: str,
    ttl: bool,
) -> None:
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


def _epoch_seconds(created: float | datetime | None) -> float:
    """ApproximateCreationDateTime: now by default; a whole second is an int."""
    if created is None:
        return int(time.time())
    return epoch_seconds(created) if isinstance(created, datetime) else created


def make_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A Lambda event for a batch of stream records."""
    return {"Records": [dict(record) for record in records]}
