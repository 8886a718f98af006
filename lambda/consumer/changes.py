"""One stream record as a plain-JSON change, and the JSON writer that keeps numbers exact."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


class _EventDeserializer(TypeDeserializer):
    """TypeDeserializer for Lambda events, where B and BS values arrive base64-encoded."""

    def _deserialize_b(self, value):
        return Binary(base64.b64decode(value, validate=True))


_DESERIALIZER = _EventDeserializer()


def to_plain(value: Any) -> Any:
    """A deserialized DynamoDB value as plain JSON-ready data.

    Integral numbers become int, others stay Decimal (written digit for digit by dumps);
    sets become sorted lists; binary becomes base64 text.
    """
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return [to_plain(v) for v in sorted(value, key=_set_sort_key)]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def _set_sort_key(value: Any) -> Any:
    return value.value if isinstance(value, Binary) else value


def image_to_plain(image: dict | None) -> dict | None:
    """A DynamoDB-JSON image from a stream record (Keys, NewImage, OldImage) as plain data."""
    if image is None:
        return None
    return {name: to_plain(_DESERIALIZER.deserialize(value)) for name, value in image.items()}


def dumps(value: Any) -> str:
    """JSON text like json.dumps, but Decimal numbers are written with their exact digits."""
    return "".join(_encode(value))


def _encode(value: Any):
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        yield str(value)
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield (", " if i else "") + json.dumps(str(key)) + ": "
            yield from _encode(item)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ", "
            yield from _encode(item)
        yield "]"
    else:
        yield json.dumps(value)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO-8601 UTC text with a Z suffix; fractions of a second only when there are any."""
    if moment is None:
        return None
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def table_from_arn(arn: str | None) -> str | None:
    """The table name in a stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)."""
    if not arn or ":table/" not in arn:
        return None
    return arn.split(":table/", 1)[1].split("/", 1)[0] or None


@dataclass(frozen=True)
class Change:
    """A decoded stream record: what changed, in plain data."""

    event_name: str
    keys: dict
    old: dict | None
    new: dict | None
    sequence_number: str
    event_id: str | None
    created: datetime | None
    table: str | None
    source_arn: str | None

    @classmethod
    def from_record(cls, record: dict, default_table: str | None = None) -> Change:
        """Decode one record of a DynamoDB stream event; raises ValueError when it is malformed."""
        event_name = record.get("eventName")
        if event_name not in EVENT_NAMES:
            raise ValueError(f"unknown eventName {event_name!r}")
        ddb = record.get("dynamodb")
        if not isinstance(ddb, dict):
            raise ValueError("record has no 'dynamodb' section")
        sequence_number = ddb.get("SequenceNumber")
        if not isinstance(sequence_number, str) or not sequence_number:
            raise ValueError("record has no SequenceNumber")
        created = ddb.get("ApproximateCreationDateTime")
        source_arn = record.get("eventSourceARN")
        return cls(
            event_name=event_name,
            keys=image_to_plain(ddb.get("Keys") or {}),
            old=image_to_plain(ddb.get("OldImage")),
            new=image_to_plain(ddb.get("NewImage")),
            sequence_number=sequence_number,
            event_id=record.get("eventID"),
            created=None if created is None else datetime.fromtimestamp(created, UTC),
            table=table_from_arn(source_arn) or default_table,
            source_arn=source_arn,
        )

    @property
    def image(self) -> dict | None:
        """The item as the change leaves it: NewImage, or OldImage for REMOVE."""
        return self.old if self.event_name == "REMOVE" else self.new

    def fields(self) -> dict:
        """The change as one log / audit / event record."""
        return {
            "eventName": self.event_name,
            "keys": self.keys,
            "old": self.old,
            "new": self.new,
            "sequenceNumber": self.sequence_number,
            "eventID": self.event_id,
            "approximateCreationTime": iso_utc(self.created),
        }

    def to_json(self) -> str:
        return dumps(self.fields())
