"""SQS deletions that can be replayed: a receipt handle does not outlive the daemon, a message id does.

Receiving is not journaled (a message received but not deleted is visible again after a
restart, as after its visibility timeout), so a replayed DeleteMessage could not find its
receipt handle. ``Queue.delete_message`` therefore stamps the ids of the messages it removes,
and a replay removes the messages with those ids.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ddbstream.emulator.store.context import replaying, stamp

_lock = threading.Lock()
_installed = False


def _delete_message(original: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    def delete_message(queue: Any, receipt_handle: str) -> None:
        if replaying():
            removed: set[str] = set(stamp("sqs-deleted", list))
            queue._messages = [m for m in queue._messages if m.id not in removed]
            return
        stamp("sqs-deleted", lambda: [m.id for m in queue._messages if m.had_receipt_handle(receipt_handle)])
        original(queue, receipt_handle)

    return delete_message


def install() -> None:
    """Patch moto's SQS queues (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.sqs.models import Queue

        Queue.delete_message = _delete_message(Queue.delete_message)  # type: ignore[method-assign,assignment]
        _installed = True
