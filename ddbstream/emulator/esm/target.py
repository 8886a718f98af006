"""The ESM's target: the event handed to the function, the invoker, and the OnFailure destinations.

The invoker calls the Lambda runtime object it is given. OnFailure records (AWS's shape,
with DDBStreamBatchInfo) go to an SQS queue or SNS topic held by moto's backends in this
process, exactly as a SendMessage or Publish request would put them there.
"""

from __future__ import annotations

import json
import logging
import uuid as uuidlib
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from moto.backends import get_backend

from ddbstream.emulator.esm.model import Batch, MappingSettings
from ddbstream.emulator.esm.policy import RECORD_AGE_EXCEEDED, Window
from ddbstream.emulator.store.journal import JOURNAL
from ddbstream.emulator.streams import Stream
from ddbstream.errors import DdbstreamError

log = logging.getLogger("ddbstream.emulator.esm")


def iso_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event_payload(batch: Batch, window: Window, settings: MappingSettings, stream: Stream) -> bytes:
    """The event Lambda hands the function: the records, plus the window fields with tumbling windows."""
    records = b",".join(r.lambda_json for r in batch.records)
    tumbling = settings.tumbling_window_in_seconds
    if not tumbling:
        return b'{"Records":[' + records + b"]}"
    start = batch.window_start if batch.window_start is not None else window.start
    assert start is not None  # a batch of a tumbling window always knows its window
    extra = {
        "window": {"start": iso_seconds(start), "end": iso_seconds(start + tumbling)},
        "state": window.state,
        "shardId": stream.shard_id,
        "eventSourceARN": stream.arn,
        "isFinalInvokeForWindow": batch.final,
        "isWindowTerminatedEarly": batch.terminated_early,
    }
    return b'{"Records":[' + records + b"]," + json.dumps(extra, separators=(",", ":")).encode()[1:]


class Runtime(Protocol):
    """The Lambda runtime the invoker calls (the daemon's LambdaRuntime, a fake in tests)."""

    def invoke(self, function_name_or_arn: str, payload: bytes, invocation_type: str = ...) -> Any: ...


class Invoker:
    """Invokes a mapping's function synchronously; None when Lambda could not run it at all."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def invoke(self, function_arn: str, payload: bytes) -> Any:
        try:
            return self.runtime.invoke(function_arn, payload, invocation_type="RequestResponse")
        except DdbstreamError as exc:  # Lambda refused the call (function deleted, runtime stopping, ...)
            log.warning("invoking %s failed: %s", function_arn, exc.message)
            return None
        except Exception:
            log.exception("invoking %s failed", function_arn)
            return None


def failure_record(batch: Batch, condition: str, function_arn: str, stream: Stream, now: float) -> dict:
    """The OnFailure destination record (AWS's shape: the records themselves are not included).

    As recorded on AWS (tests/conformance): a batch discarded for its age has no responseContext
    and counts at least one invocation, even if it never reached the function.
    """
    result = batch.last_result
    response_context = {
        "statusCode": getattr(result, "status_code", 0) if result is not None else 0,
        "executedVersion": getattr(result, "executed_version", None) or "$LATEST",
        # null, not "", when the function answered (a bad batchItemFailures answer, say): as AWS records it
        "functionError": getattr(result, "function_error", None) or None,
    }
    first, last = batch.records[0], batch.records[-1]
    aged = condition == RECORD_AGE_EXCEEDED
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": getattr(result, "request_id", None) or str(uuidlib.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": max(batch.invokes, 1) if aged else batch.invokes,
        },
        **({} if aged else {"responseContext": response_context}),
        "version": "1.0",
        "timestamp": iso_millis(now),
        "DDBStreamBatchInfo": {
            "shardId": stream.shard_id,
            "startSequenceNumber": first.sequence_number,
            "endSequenceNumber": last.sequence_number,
            "approximateArrivalOfFirstRecord": iso_seconds(first.arrival),
            "approximateArrivalOfLastRecord": iso_seconds(last.arrival),
            "batchSize": len(batch.records),
            "streamArn": stream.arn,
        },
    }
    return record


class Destinations:
    """OnFailure destinations: SQS queues and SNS topics in moto's backends, reached in-process."""

    def send(self, destination: str, record: dict) -> None:
        """Deliver ``record`` as a JSON message; a missing queue or topic is logged, not raised."""
        delivery = {"destination": destination, "body": json.dumps(record)}
        try:
            JOURNAL.run("on-failure", delivery, partial(deliver, delivery))
        except Exception as exc:
            log.error("could not send an OnFailure record to %s: %s", destination, exc)


def deliver(delivery: dict) -> None:
    """Put one OnFailure message in its queue or topic (also how the durable store replays it)."""
    destination, body = delivery["destination"], delivery["body"]
    _, _, service, region, account, name = destination.split(":", 5)
    if service == "sqs":
        get_backend("sqs")[account][region].send_message(name, body)
    elif service == "sns":
        get_backend("sns")[account][region].publish(body, arn=destination)
    else:
        log.error("unsupported OnFailure destination %s", destination)


JOURNAL.register("on-failure", deliver)
