"""One message of a dead-letter queue: its body, the failed batch it points at, when it leaves the stream."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ddbstream.durations import iso_ms

STREAM_RETENTION_SECONDS = 24 * 3600


def _parse_time(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_body(text: str) -> Any:
    """The message body as JSON (an SNS envelope is unwrapped), or the text when it is not JSON."""
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if isinstance(body, dict) and body.get("Type") == "Notification" and isinstance(body.get("Message"), str):
        try:
            return json.loads(body["Message"])
        except ValueError:
            return body["Message"]
    return body


@dataclass
class FailureMessage:
    """One message of the dead-letter queue."""

    message_id: str
    body: Any
    receipt_handle: str | None = None
    sent_at: float | None = None  # epoch seconds
    receive_count: int = 0

    @classmethod
    def from_sqs(cls, message: dict) -> FailureMessage:
        attributes = message.get("Attributes", {})
        sent = attributes.get("SentTimestamp")
        return cls(
            message_id=message["MessageId"],
            body=parse_body(message.get("Body", "")),
            receipt_handle=message.get("ReceiptHandle"),
            sent_at=int(sent) / 1000 if sent else None,
            receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
        )

    @property
    def batch(self) -> dict | None:
        info = self.body.get("DDBStreamBatchInfo") if isinstance(self.body, dict) else None
        return info if isinstance(info, dict) else None

    def _context(self, section: str) -> dict:
        value = self.body.get(section) if isinstance(self.body, dict) else None
        return value if isinstance(value, dict) else {}

    @property
    def first_arrival(self) -> float | None:
        return _parse_time((self.batch or {}).get("approximateArrivalOfFirstRecord"))

    @property
    def expires_at(self) -> float | None:
        """When the batch's first record leaves the stream (24 h after it arrived)."""
        first = self.first_arrival
        return None if first is None else first + STREAM_RETENTION_SECONDS

    @property
    def failed_at(self) -> float | None:
        body_time = _parse_time(self.body.get("timestamp")) if isinstance(self.body, dict) else None
        return body_time or self.sent_at

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """A flat view for tables and JSON lines."""
        now = time.time() if now is None else now
        batch = self.batch or {}
        request = self._context("requestContext")
        response = self._context("responseContext")
        expires = self.expires_at
        failed_at = self.failed_at
        return {
            "messageId": self.message_id,
            "failedAt": iso_ms(failed_at * 1000) if failed_at else None,
            "condition": request.get("condition"),
            "attempts": request.get("approximateInvokeCount"),
            "functionError": response.get("functionError"),
            "functionArn": request.get("functionArn"),
            "streamArn": batch.get("streamArn"),
            "shardId": batch.get("shardId"),
            "startSequenceNumber": batch.get("startSequenceNumber"),
            "endSequenceNumber": batch.get("endSequenceNumber"),
            "batchSize": batch.get("batchSize"),
            "approximateArrivalOfFirstRecord": batch.get("approximateArrivalOfFirstRecord"),
            "expiresAt": iso_ms(expires * 1000) if expires else None,
            # Floored: a time left must never be overstated (86399.6 s is 23h 59m, not 1d).
            "secondsUntilExpiry": math.floor(expires - now) if expires else None,
            "receiveCount": self.receive_count,
            "recognised": self.batch is not None,
        }
