"""The dead-letter queue of a DynamoDB stream mapping: peek, hydrate, replay, purge.

An on-failure message says only where the failed batch lies in the stream
(DDBStreamBatchInfo). Hydrating reads those records back from the stream
(AT_SEQUENCE_NUMBER = startSequenceNumber, then GetRecords until a sequence number passes
endSequenceNumber), which works while the stream still holds them (24 h).
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ddbstream.errors import AwsError, InvalidInput, NotFound
from ddbstream.logs import error_code

STREAM_RETENTION_SECONDS = 24 * 3600
MAX_PER_RECEIVE = 10
LOCAL_WAIT_SECONDS = 1
AWS_WAIT_SECONDS = 2
IDLE_RECEIVES = 2  # receives in a row that bring nothing new before a peek stops
HOLD_SECONDS = 30  # visibility while paging past the first messages (released right after)
LEASE_SECONDS = 120  # visibility while a message is replayed
EMPTY_READS = 3  # GetRecords answers in a row without records before hydrating gives up


class RecordsGone(NotFound):
    """The stream no longer holds the batch's records."""


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
        from ddbstream.durations import iso_ms

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


# ---------------------------------------------------------------- the queue


class DeadLetterQueue:
    """Peek at and remove messages of one SQS queue."""

    def __init__(self, sqs: Any, queue_url: str, local: bool = True):
        self.sqs = sqs
        self.url = queue_url
        self.wait = LOCAL_WAIT_SECONDS if local else AWS_WAIT_SECONDS
        self.local = local

    def _call(self, operation: str, **kwargs: Any) -> dict:
        from botocore.exceptions import ClientError

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
        from botocore.exceptions import ClientError

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


# ---------------------------------------------------------------- hydration


def hydrate(streams: Any, batch: dict) -> list[dict]:
    """The stream records of a DDBStreamBatchInfo, as GetRecords returns them."""
    from botocore.exceptions import ClientError

    try:
        stream_arn = batch["streamArn"]
        shard_id = batch["shardId"]
        start, end = batch["startSequenceNumber"], batch["endSequenceNumber"]
        first, last = int(start), int(end)
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("the message's DDBStreamBatchInfo lacks streamArn, shardId or sequence numbers") from None
    gone = (
        f"the records of this batch ({start}..{end}) are no longer in the stream: "
        "DynamoDB keeps stream records for 24 hours"
    )
    records: list[dict] = []
    size = batch.get("batchSize")
    page_size = min(1000, size + 1) if isinstance(size, int) and size > 0 else 1000
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=start,
        ).get("ShardIterator")
        empty = 0
        while iterator and empty < EMPTY_READS:
            # A page just past the batch's size: a one-record batch costs one small read, not 1,000 records.
            response = streams.get_records(ShardIterator=iterator, Limit=page_size)
            page = response.get("Records", [])
            empty = 0 if page else empty + 1
            done = False
            for record in page:
                number = int(record["dynamodb"]["SequenceNumber"])
                if number > last:
                    done = True
                    break
                if number >= first:
                    records.append(record)
            if done:
                break
            iterator = response.get("NextShardIterator")
    except ClientError as exc:
        code = error_code(exc)
        if code in ("TrimmedDataAccessException", "ExpiredIteratorException"):
            raise RecordsGone(gone) from None
        if code == "ResourceNotFoundException":
            raise RecordsGone(f"the stream {stream_arn} (or its shard {shard_id}) no longer exists") from None
        if code in ("ValidationException", "InvalidArgumentException") and "equence" in str(exc):
            raise RecordsGone(gone) from None
        raise AwsError(f"reading the stream failed: {exc}") from None
    if not records:
        raise RecordsGone(gone)
    return records


def _event_json(value: Any) -> Any:
    """boto3's parsed stream record -> the JSON Lambda delivers (binary as base64, times as epoch seconds)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        stamp = value.timestamp()
        return int(stamp) if stamp == int(stamp) else stamp
    if isinstance(value, dict):
        return {k: _event_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_event_json(v) for v in value]
    return value


def lambda_record(record: dict, stream_arn: str) -> dict:
    """A GetRecords record -> a record of a Lambda DynamoDB stream event."""
    event = _event_json(record)
    event["eventSourceARN"] = stream_arn
    return event


def plain_record(record: dict) -> dict:
    """A GetRecords record -> event name, keys, old and new images as plain JSON values."""
    from ddbstream.items import from_ddb, to_jsonable

    ddb = record.get("dynamodb", {})

    def plain(image: dict | None) -> Any:
        return None if image is None else to_jsonable(from_ddb(image))

    created = ddb.get("ApproximateCreationDateTime")
    return {
        "eventName": record.get("eventName"),
        "eventID": record.get("eventID"),
        "sequenceNumber": ddb.get("SequenceNumber"),
        "approximateCreationDateTime": _event_json(created),
        "keys": plain(ddb.get("Keys")),
        "old": plain(ddb.get("OldImage")),
        "new": plain(ddb.get("NewImage")),
    }


def table_of_stream(stream_arn: str) -> str | None:
    """arn:aws:dynamodb:r:a:table/NAME/stream/LABEL -> NAME."""
    marker = ":table/"
    if marker not in stream_arn:
        return None
    return stream_arn.split(marker, 1)[1].split("/", 1)[0]


def current_items(dynamodb: Any, stream_arn: str, records: list[dict]) -> list[Any]:
    """Each record's item as the table holds it now (None when deleted), to judge staleness."""
    from ddbstream.items import from_ddb, to_jsonable

    table = table_of_stream(stream_arn)
    out = []
    for record in records:
        keys = record.get("dynamodb", {}).get("Keys")
        if not table or not keys:
            out.append(None)
            continue
        try:
            item = dynamodb.get_item(TableName=table, Key=keys, ConsistentRead=True).get("Item")
        except Exception:  # the table may be gone; the records still stand on their own
            out.append(None)
            continue
        out.append(None if item is None else to_jsonable(from_ddb(item)))
    return out


def mapping_filters(lambda_client: Any, function: str, stream_arn: str) -> list:
    """The compiled FilterCriteria of the function's mapping on this stream ([] when none)."""
    from ddbstream.patterns import parse_filter_criteria

    try:
        mappings = lambda_client.list_event_source_mappings(FunctionName=function, EventSourceArn=stream_arn)
    except Exception:
        return []
    for mapping in mappings.get("EventSourceMappings", []):
        try:
            return parse_filter_criteria(mapping.get("FilterCriteria"))
        except InvalidInput:
            return []
    return []


# ---------------------------------------------------------------- replay


@dataclass
class ReplayOutcome:
    message_id: str
    records: int
    ok: bool
    deleted: bool = False
    detail: str = ""
    failed_sequence_numbers: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "records": self.records,
            "ok": self.ok,
            "deleted": self.deleted,
            "detail": self.detail,
            "failedSequenceNumbers": self.failed_sequence_numbers,
        }


def invoke_consumer(lambda_client: Any, function: str, records: list[dict]) -> tuple[bool, str, list[str]]:
    """Invoke the function synchronously with a stream event; (succeeded, detail, failed sequence numbers)."""
    from botocore.exceptions import ClientError

    from ddbstream.items import dumps_plain

    try:
        response = lambda_client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=dumps_plain({"Records": records}).encode()
        )
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise NotFound(f"function {function} does not exist") from None
        return False, f"invoke failed: {exc}", []
    raw = response["Payload"].read() if response.get("Payload") is not None else b""
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    if response.get("FunctionError"):
        if isinstance(payload, dict):
            detail = f"{payload.get('errorType', response['FunctionError'])}: {payload.get('errorMessage', '')}"
        else:
            detail = response["FunctionError"]
        return False, f"the function failed ({detail.strip()})", []
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures:
        numbers = [str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)]
        return False, f"{len(failures)} of {len(records)} record(s) failed again", numbers
    return True, f"{len(records)} record(s) processed", []


def _function_timeout(lambda_client: Any, function: str) -> int:
    try:
        return int(lambda_client.get_function_configuration(FunctionName=function).get("Timeout") or 0)
    except Exception:  # Invoke reports a missing function clearly; the lease falls back to its default
        return 0


def replay(
    queue: DeadLetterQueue,
    streams: Any,
    lambda_client: Any,
    function: str,
    message_ids: set[str] | None,
    dry_run: bool = False,
) -> Iterator[ReplayOutcome]:
    """Replay messages (all when message_ids is None): one outcome per message, as each finishes."""
    lease = max(LEASE_SECONDS, _function_timeout(lambda_client, function) + 60) if not dry_run else LEASE_SECONDS
    with queue.lease(message_ids) as messages:
        for message in messages:
            batch = message.batch
            if batch is None:
                yield ReplayOutcome(message.message_id, 0, False, detail="not a stream on-failure message: kept")
                continue
            try:
                raw = hydrate(streams, batch)
            except RecordsGone as exc:
                yield ReplayOutcome(message.message_id, 0, False, detail=exc.message + ": kept")
                continue
            patterns = mapping_filters(lambda_client, function, batch["streamArn"])
            records = [lambda_record(r, batch["streamArn"]) for r in raw]
            if patterns:
                from ddbstream.patterns import record_matches

                records = [r for r in records if record_matches(patterns, r)]
            if dry_run:
                yield ReplayOutcome(
                    message.message_id,
                    len(records),
                    True,
                    detail=f"would invoke {function} with {len(records)} record(s)",
                )
                continue
            if not records:
                queue.delete(message)
                yield ReplayOutcome(
                    message.message_id, 0, True, True, "every record is filtered out by the mapping: deleted"
                )
                continue
            queue.extend(message, lease)
            ok, detail, failed = invoke_consumer(lambda_client, function, records)
            outcome = ReplayOutcome(message.message_id, len(records), ok, detail=detail, failed_sequence_numbers=failed)
            if ok:
                queue.delete(message)
                outcome.deleted = True
            yield outcome
