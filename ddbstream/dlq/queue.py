"""Peek at and remove the messages of one SQS queue without consuming what is only looked at."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.dlq.messages import FailureMessage
from ddbstream.errors import AwsError, NotFound
from ddbstream.logs import error_code

MAX_PER_RECEIVE = 10
LOCAL_WAIT_SECONDS = 1
AWS_WAIT_SECONDS = 2
IDLE_RECEIVES = 2  # receives in a row that bring nothing new before a peek stops
HOLD_SECONDS = 30  # visibility while paging past the first messages (released right after)
LEASE_SECONDS = 120  # visibility while a message is replayed


class DeadLetterQueue:
    """Peek at and remove messages of one SQS queue."""

    def __init__(self, sqs: Any, queue_url: str, local: bool = True):
        self.sqs = sqs
        self.url = queue_url
        self.wait = LOCAL_WAIT_SECONDS if local else AWS_WAIT_SECONDS
        self.local = local

    def _call(self, operation: str, **kwargs: Any) -> dict:
        try:
            return getattr(self.sqs, operation)(QueueUrl=self.url, **kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise NotFound(f"the dead-letter queue {self.url} does not exist") from None
            raise AwsError(f"SQS {operation} failed: {exc}") from None

    def depth(self) -> tuple[int, int]:
        """(visible, in flight) messages, as SQS approximates them."""
        attributes = self._call(
            "get_queue_attributes",
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        ).get("Attributes", {})
        return int(attributes.get("ApproximateNumberOfMessages", 0)), int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def _receive(self, visibility: int) -> list[dict]:
        return self._call(
            "receive_message",
            MaxNumberOfMessages=MAX_PER_RECEIVE,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=self.wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def _collect(
        self, visibility: int, found: dict[str, FailureMessage], want: int | None, wanted_ids: set[str] | None = None
    ) -> list[FailureMessage]:
        """Receive until `want` distinct messages (or all wanted ids) are found or receives bring nothing new.

        Returns the messages received in this pass (latest receipt handles).
        """
        received: dict[str, FailureMessage] = {}
        idle = 0
        while idle < IDLE_RECEIVES:
            if want is not None and len(found) >= want:
                break
            if wanted_ids is not None and wanted_ids <= set(received):
                break
            batch = self._receive(visibility)
            new = 0
            for raw in batch:
                message = FailureMessage.from_sqs(raw)
                if message.message_id not in found:
                    new += 1
                found[message.message_id] = message
                received[message.message_id] = message
            idle = 0 if new else idle + 1
        return list(received.values())

    def _release(self, messages: list[FailureMessage]) -> None:
        """Make held messages visible again at once."""
        for start in range(0, len(messages), MAX_PER_RECEIVE):
            chunk = messages[start : start + MAX_PER_RECEIVE]
            entries = [
                {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
                if m.receipt_handle
            ]
            if entries:
                try:
                    self._call("change_message_visibility_batch", Entries=entries)
                except AwsError:
                    pass  # they come back by themselves when the hold expires

    def peek(self) -> list[FailureMessage]:
        """Every visible message, without consuming any (oldest first)."""
        visible, _ = self.depth()
        if visible == 0 and self.local:
            return []  # the local daemon's counts are exact: no need to wait on an empty queue
        found: dict[str, FailureMessage] = {}
        # Visibility 0 leaves messages where they are; SQS may then return the same ones again.
        self._collect(0, found, visible if self.local else None)
        if len(found) < visible:
            # More than one receive's worth: hold what we see for a moment to reach the rest.
            # Held long enough for every receive to come back (the daemon's SQS takes seconds a
            # receive on a queue of thousands): a hold that expired would hand back seen ones.
            held = self._collect(max(HOLD_SECONDS, 2 * visible // MAX_PER_RECEIVE), found, visible)
            self._release(held)
        return sorted(found.values(), key=lambda m: (m.failed_at or 0, m.message_id))

    def find(self, message_id: str) -> FailureMessage:
        for message in self.peek():
            if message.message_id == message_id:
                return message
        raise NotFound(f"no message {message_id} in the dead-letter queue")

    @contextmanager
    def lease(self, message_ids: set[str] | None) -> Iterator[list[FailureMessage]]:
        """Hold the given messages (all when None) invisible while they are worked on.

        Messages not deleted inside the block become visible again when it ends.
        """
        visible, _ = self.depth()
        found: dict[str, FailureMessage] = {}
        held: list[FailureMessage] = []
        try:
            if visible or not self.local:
                held = self._collect(LEASE_SECONDS, found, None if message_ids else visible, message_ids)
            chosen = [m for m in held if message_ids is None or m.message_id in message_ids]
            chosen.sort(key=lambda m: (m.failed_at or 0, m.message_id))
            if message_ids:
                missing = sorted(message_ids - {m.message_id for m in chosen})
                if missing:
                    raise NotFound(f"no message {missing[0]} in the dead-letter queue")
            yield chosen
        finally:
            self._release([m for m in held if not getattr(m, "_deleted", False)])

    def extend(self, message: FailureMessage, seconds: int) -> None:
        """Keep a leased message invisible for ``seconds`` more (a replay can take the function's timeout)."""
        try:
            self._call(
                "change_message_visibility",
                ReceiptHandle=message.receipt_handle,
                VisibilityTimeout=min(int(seconds), 43200),
            )
        except AwsError:
            pass  # the lease still holds for a while; the delete afterwards says if it was lost

    def delete(self, message: FailureMessage) -> None:
        self._call("delete_message", ReceiptHandle=message.receipt_handle)
        message._deleted = True  # type: ignore[attr-defined]

    def purge(self) -> int:
        """Delete every message; returns how many there were (approximately)."""
        visible, in_flight = self.depth()
        try:
            self.sqs.purge_queue(QueueUrl=self.url)
        except ClientError as exc:
            if "PurgeQueueInProgress" in error_code(exc):
                raise AwsError(
                    "SQS allows one purge a minute and this queue was purged less than 60 s ago: try again shortly"
                ) from None
            raise AwsError(f"SQS purge_queue failed: {exc}") from None
        return visible + in_flight
