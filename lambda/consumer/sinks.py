"""Optional destinations for changes: an S3 audit log, SNS notifications, an EventBridge bus.

Every sink sends a list of changes and answers which of them failed ({position: error}),
so a sink failure fails only the records it concerns.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime

import boto3

from .changes import Change
from .settings import Settings

PUT_EVENTS_LIMIT = 10  # entries per PutEvents call


@functools.cache
def client(service: str):
    """A boto3 client made on first use; boto3 itself honours AWS_ENDPOINT_URL and the region."""
    return boto3.client(service)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class AuditSink:
    """One JSON-lines object per batch: <prefix>year=YYYY/month=MM/day=DD/<uuid>.jsonl.

    The date is the first record's approximate creation time (UTC), so objects land in the
    partition of the day the changes happened.
    """

    name = "audit"

    def __init__(self, bucket: str, prefix: str = ""):
        self.bucket = bucket
        self.prefix = prefix

    def applies(self, change: Change) -> bool:
        return True

    def object_key(self, moment: datetime | None) -> str:
        day = moment or datetime.now(UTC)
        return f"{self.prefix}year={day:%Y}/month={day:%m}/day={day:%d}/{uuid.uuid4()}.jsonl"

    def send(self, changes: list[Change]) -> dict[int, str]:
        body = "".join(change.to_json() + "\n" for change in changes)
        try:
            client("s3").put_object(
                Bucket=self.bucket,
                Key=self.object_key(changes[0].created),
                Body=body.encode("utf-8"),
                ContentType="application/x-ndjson",
            )
        except Exception as exc:  # any failure means none of these lines were stored
            return dict.fromkeys(range(len(changes)), describe(exc))
        return {}


class NotifySink:
    """One SNS message per change whose eventName was chosen (NOTIFY_EVENT_NAMES)."""

    name = "notify"

    def __init__(self, topic_arn: str, event_names: frozenset):
        self.topic_arn = topic_arn
        self.event_names = event_names

    def applies(self, change: Change) -> bool:
        return change.event_name in self.event_names

    def send(self, changes: list[Change]) -> dict[int, str]:
        failed = {}
        for i, change in enumerate(changes):
            attributes = {"eventName": {"DataType": "String", "StringValue": change.event_name}}
            if change.table:
                attributes["table"] = {"DataType": "String", "StringValue": change.table}
            subject = f"DynamoDB {change.event_name}" + (f" on {change.table}" if change.table else "")
            try:
                client("sns").publish(
                    TopicArn=self.topic_arn,
                    Subject=subject[:100],
                    Message=change.to_json(),
                    MessageAttributes=attributes,
                )
            except Exception as exc:
                failed[i] = describe(exc)
        return failed


class EventBusSink:
    """PutEvents to a bus: source "ddbstream.<table>", detail-type "<eventName>", detail = the change."""

    name = "events"

    def __init__(self, bus_name: str):
        self.bus_name = bus_name

    def applies(self, change: Change) -> bool:
        return True

    def entry(self, change: Change) -> dict:
        entry = {
            "Source": f"ddbstream.{change.table}" if change.table else "ddbstream",
            "DetailType": change.event_name,
            "Detail": change.to_json(),
            "EventBusName": self.bus_name,
        }
        if change.created is not None:
            entry["Time"] = change.created
        if change.source_arn:
            entry["Resources"] = [change.source_arn]
        return entry

    def send(self, changes: list[Change]) -> dict[int, str]:
        failed = {}
        for start in range(0, len(changes), PUT_EVENTS_LIMIT):
            chunk = changes[start : start + PUT_EVENTS_LIMIT]
            try:
                response = client("events").put_events(Entries=[self.entry(c) for c in chunk])
            except Exception as exc:
                failed.update(dict.fromkeys(range(start, start + len(chunk)), describe(exc)))
                continue
            results = response.get("Entries", [])
            if len(results) != len(chunk):
                failed.update(dict.fromkeys(range(start, start + len(chunk)), "PutEvents answered for fewer entries"))
                continue
            # Entries answer in request order; a failed one carries ErrorCode instead of EventId.
            for offset, result in enumerate(results):
                if result.get("ErrorCode"):
                    failed[start + offset] = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}"
        return failed


def enabled_sinks(settings: Settings) -> list:
    """The sinks the environment switches on, in the order they run."""
    sinks = []
    if settings.audit_bucket:
        sinks.append(AuditSink(settings.audit_bucket, settings.audit_prefix))
    if settings.topic_arn and settings.notify_event_names:
        sinks.append(NotifySink(settings.topic_arn, settings.notify_event_names))
    if settings.event_bus_name:
        sinks.append(EventBusSink(settings.event_bus_name))
    return sinks
