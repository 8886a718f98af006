"""AWS/DynamoDB metrics from moto's table operations: consumed capacity, records read from streams.

DynamoDB charges a write capacity unit per KB written (rounded up) and a read capacity unit
per 4 KB read (half for the default, eventually consistent, read); the daemon counts them from
the size of the items moto writes and returns (a query or scan counts the items it returns,
not those its filter dropped). Throttling is not emulated, so ThrottledRequests and the
Read/WriteThrottleEvents metrics are never published. Effects replayed from the store at start
are not counted again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from ddbstream.emulator.metrics.sources import TableMetrics
from ddbstream.emulator.store.context import replaying

READ_UNIT_BYTES = 4096
_lock = threading.Lock()
_tables: TableMetrics | None = None  # the daemon's (the latest installed)
_installed = False


def read_units(sizes: list[int]) -> float:
    """Eventually consistent read units for items of ``sizes`` bytes read together (at least half a unit)."""
    return max(0.5, math.ceil(sum(sizes) / READ_UNIT_BYTES) * 0.5)


def _size(item: Any) -> int:
    return int(item.size()) if item is not None else 0


def _counting_write(original: Callable[..., Any]) -> Callable[..., Any]:
    def write(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original(self, table_name, *args, **kwargs)
        if _tables is not None and not replaying():
            _tables.changed(table_name, self.region_name, self.account_id, _size(item))
        return item

    return write


def _counting_read(original: Callable[..., Any]) -> Callable[..., Any]:
    def read(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        result = original(self, table_name, *args, **kwargs)
        if _tables is not None and not replaying():
            items = result[0] if isinstance(result, tuple) else [result]
            units = read_units([_size(item) for item in items])
            _tables.read(table_name, self.region_name, self.account_id, units)
        return result

    return read


def install(tables: TableMetrics) -> None:
    """Count every table read and write from now on into ``tables`` (moto's patch is made once)."""
    global _tables, _installed
    _tables = tables
    with _lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend

        for name in ("put_item", "update_item", "delete_item"):
            setattr(DynamoDBBackend, name, _counting_write(getattr(DynamoDBBackend, name)))
        for name in ("get_item", "query", "scan"):
            setattr(DynamoDBBackend, name, _counting_read(getattr(DynamoDBBackend, name)))
        _installed = True
