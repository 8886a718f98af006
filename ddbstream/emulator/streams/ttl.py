"""Time to Live: moto never expires items, so a sweeper thread deletes those whose TTL attribute has passed.

Those deletions are made inside ``deleting_for_ttl``: their REMOVE records carry the TTL
service identity, as on AWS.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from ddbstream.emulator.periodic import Periodic
from ddbstream.emulator.store.journal import JOURNAL
from ddbstream.emulator.streams.moto_patches import deleting_for_ttl

log = logging.getLogger("ddbstream.emulator.streams")

TTL_SWEEP_ENV = "DDBSTREAM_TTL_SWEEP_SECONDS"
DEFAULT_TTL_SWEEP_SECONDS = 1.0
TTL_MAX_PAST_SECONDS = 5 * 365 * 24 * 3600  # AWS does not delete items expired longer ago than this


def _ttl_seconds(value: Any) -> float | None:
    if value is None or value.type != "N":
        return None
    try:
        return float(value.value)
    except (TypeError, ValueError):
        return None


def _items_of(table: Any) -> list:
    """Every item of a moto table (``table.items``: hash -> item, or hash -> range -> item)."""
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for by_range in list(table.items.values()) for item in list(by_range.values())]


def _expired_items_of(table: Any, now: float) -> list:
    """The items of a table with TTL enabled whose expiry time has passed (none when TTL is off)."""
    ttl = getattr(table, "ttl", None) or {}
    attribute = ttl.get("AttributeName")
    if ttl.get("TimeToLiveStatus") != "ENABLED" or not attribute:
        return []
    try:
        items = _items_of(table)
    except RuntimeError:  # a concurrent write changed the table: next sweep
        return []
    expired = []
    for item in items:
        expires = _ttl_seconds(item.attrs.get(attribute))
        if expires is not None and now - TTL_MAX_PAST_SECONDS <= expires < now:
            expired.append(item)
    return expired


def sweep_expired_items(now: float | None = None) -> int:
    """Delete every item whose TTL has passed, as DynamoDB's TTL process does; return how many."""
    now = time.time() if now is None else now
    deleted = 0
    for account, regions in list(dynamodb_backends.items()):
        for region, backend in list(regions.items()):
            for table in list(backend.tables.values()):
                for item in _expired_items_of(table, now):
                    key = [item.hash_key.to_json(), item.range_key.to_json() if item.range_key else None]
                    payload = {"account": account, "region": region, "table": table.name, "key": key}
                    if JOURNAL.run("ttl-delete", payload, partial(_delete, payload)):
                        deleted += 1
    return deleted


def _delete(expired: dict) -> bool:
    """Delete one expired item as TTL does (also how the durable store replays it)."""
    table = dynamodb_backends[expired["account"]][expired["region"]].tables.get(expired["table"])
    if table is None:
        return False
    hash_part, range_part = expired["key"]
    hash_key, range_key = DynamoType(hash_part), DynamoType(range_part) if range_part is not None else None
    with deleting_for_ttl():
        return table.delete_item(hash_key, range_key) is not None


JOURNAL.register("ttl-delete", _delete)


class TtlSweeper(Periodic):
    """A daemon thread running sweep_expired_items every few seconds."""

    def __init__(self, interval: float):
        super().__init__("ddbstream-ttl", interval, sweep_expired_items, log)
