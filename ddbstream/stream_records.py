"""DynamoDB stream records: the one codec shared by the CLI's samples, the daemon and DLQ hydration.

A record has two renderings:

- the Streams API shape (what GetRecords returns): DynamoDB JSON images with binary values
  as bytes; a deletion by Time to Live names its identity as ``{"Type", "PrincipalId"}``;
- the Lambda shape (a record of a stream event, see ``lambda_record``): binary values as
  base64 text, ``eventSourceARN`` after ``dynamodb``, the TTL identity as
  ``{"type", "principalId"}``, as Lambda delivers it.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ddbstream.items import item_size

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
EVENT_VERSION = "1.1"
EVENT_SOURCE = "aws:dynamodb"
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


class SequenceNumbers:
    """Sequence numbers for every stream record made in this process: 21+ digits, strictly increasing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Time-based start: numbers also grow from one run to the next.
        self._last = time.time_ns() // 1000 * 100_000

    def take(self) -> int:
        with self._lock:
            self._last += 1
            return self._last


SEQUENCE_NUMBERS = SequenceNumbers()
# eventIDs: 32 random hex digits, as AWS's; a private generator (uuid4 reads the OS's random
# source each time, a tenth of the daemon's cost of a record; moto's is seeded per effect).
_event_ids = random.Random()


def shows_new_image(view_type: str) -> bool:
    return view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")


def shows_old_image(view_type: str) -> bool:
    return view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")


def event_name_of(old_image: dict | None, new_image: dict | None) -> str:
    """INSERT, MODIFY or REMOVE, from which images a change has (None: absent)."""
    return "INSERT" if old_image is None else "REMOVE" if new_image is None else "MODIFY"


def stream_record(
    event_name: str,
    keys: dict,
    new_image: dict | None,
    old_image: dict | None,
    view_type: str,
    sequence_number: int | str,
    *,
    created: float,
    region: str,
    event_id: str | None = None,
    ttl: bool = False,
) -> dict[str, Any]:
    """A record in the Streams API shape (keys and images: DynamoDB JSON, binary values as bytes).

    An image appears when it is given and the view type shows it; SizeBytes counts the keys
    and the images that appear. ``ttl`` marks a deletion by Time to Live.
    """
    ddb: dict[str, Any] = {"ApproximateCreationDateTime": created, "Keys": keys}
    size = item_size(keys)
    if new_image is not None and shows_new_image(view_type):
        ddb["NewImage"] = new_image
        size += item_size(new_image)
    if old_image is not None and shows_old_image(view_type):
        ddb["OldImage"] = old_image
        size += item_size(old_image)
    ddb.update(SequenceNumber=str(sequence_number), SizeBytes=size, StreamViewType=view_type)
    record: dict[str, Any] = {
        "eventID": event_id or f"{_event_ids.getrandbits(128):032x}",
        "eventName": event_name,
        "eventVersion": EVENT_VERSION,
        "eventSource": EVENT_SOURCE,
        "awsRegion": region,
        "dynamodb": ddb,
    }
    if ttl:
        record["userIdentity"] = {"Type": "Service", "PrincipalId": TTL_PRINCIPAL}
    return record


def lambda_record(
    record: dict[str, Any], source_arn: str, values: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """A record in the Streams API shape -> the record as Lambda puts it in a stream event
    (``values`` converts each top-level value, event_json unless told: see ``lambda_record_json``)."""
    convert = values or event_json
    event = {name: convert(value) for name, value in record.items() if name != "userIdentity"}
    event["eventSourceARN"] = source_arn
    identity = record.get("userIdentity")
    if identity is not None:
        event["userIdentity"] = {"type": identity["Type"], "principalId": identity["PrincipalId"]}
    return event


def lambda_record_json(record: dict[str, Any], source_arn: str) -> bytes:
    """``lambda_record`` as compact JSON; binary values and times are converted as the encoder
    meets them rather than by copying the images first (the daemon does this for every write)."""
    event = lambda_record(record, source_arn, values=_unchanged)
    return json.dumps(event, separators=(",", ":"), default=_json_value).encode()


def _unchanged(value: Any) -> Any:
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, datetime)):
        return event_json(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def event_json(value: Any) -> Any:
    """A value as a Lambda event's JSON carries it: binary as base64 text, times as epoch seconds.

    The times are boto3's parsed ApproximateCreationDateTime (a datetime).
    """
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return epoch_seconds(value)
    if isinstance(value, dict):
        return {k: event_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [event_json(v) for v in value]
    return value


def epoch_seconds(moment: datetime) -> float:
    """A moment as epoch seconds, as a stream record's ApproximateCreationDateTime: a whole second is an int."""
    stamp = moment.timestamp()
    return int(stamp) if stamp == int(stamp) else stamp
