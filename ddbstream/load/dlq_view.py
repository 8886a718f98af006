"""The dead-letter queue as a load sees it: on-failure messages peeked, each batch's sequence numbers."""

from __future__ import annotations

from typing import Any

from ddbstream.dlq import DeadLetterQueue, hydrate
from ddbstream.errors import NotFound


class DlqView:
    """The DLQ's on-failure messages (peeked, not consumed) and the stream records of each batch."""

    def __init__(self, sqs: Any, streams: Any, queue_url: str, local: bool = True):
        self.queue = DeadLetterQueue(sqs, queue_url, local=local)
        self.streams = streams
        self.batches: dict[str, list[str]] = {}  # message id -> sequence numbers of its batch
        self.unreadable: dict[str, str] = {}
        self._depth: tuple[int, int] | None = None

    def poll(self) -> None:
        depth = self.queue.depth()
        if depth == self._depth:
            return
        self._depth = depth
        for message in self.queue.peek():
            if message.message_id in self.batches or message.message_id in self.unreadable:
                continue
            if message.batch is None:
                self.unreadable[message.message_id] = "not a stream on-failure message"
                continue
            try:
                records = hydrate(self.streams, message.batch)
            except NotFound as exc:
                self.unreadable[message.message_id] = exc.message
                continue
            self.batches[message.message_id] = [r["dynamodb"]["SequenceNumber"] for r in records]

    @property
    def messages(self) -> int:
        return len(self.batches) + len(self.unreadable)
