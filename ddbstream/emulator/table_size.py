"""DescribeTable's TableSizeBytes and ItemCount, counted as DynamoDB counts them (moto answers 0 bytes).

AWS refreshes both about every six hours; the daemon answers the current figures. An item's
size is the one DynamoDB counts against its 400 KB limit (ddbstream.item_limits.item_size).
"""

from __future__ import annotations

import threading
from functools import wraps
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from ddbstream.item_limits import item_size

_install_lock = threading.Lock()
_installed = False


def table_figures(table: Any) -> tuple[int, int]:
    """(bytes, items) of a moto table: the sum of its items' sizes, and how many there are."""
    size = count = 0
    for entry in list(table.items.values()):  # a copy: writers may change the table meanwhile
        items = list(entry.values()) if table.has_range_key else [entry]
        for item in items:
            size += item_size(item.to_json()["Attributes"])
            count += 1
    return size, count


def install() -> None:
    """Make DescribeTable answer the table's current size and item count (patched once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        original = DynamoDBBackend.describe_table

        @wraps(original)
        def describe_table(self: DynamoDBBackend, name: str) -> dict[str, Any]:
            answer = original(self, name)
            size, count = table_figures(self.get_table(name))
            answer["Table"].update(TableSizeBytes=size, ItemCount=count)
            return answer

        DynamoDBBackend.describe_table = describe_table  # type: ignore[method-assign]
        _installed = True
