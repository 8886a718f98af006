"""--to-dlq: a failed replay batch sent to the mapping's OnFailure destination, in the shape the mapping sends.

The record says where the batch lies in the stream (DDBStreamBatchInfo), not what it holds,
so `ddbstream dlq show --records` and `dlq replay` read it back as they do the mapping's.
With ReportBatchItemFailures it covers the batch from its first failed record on: the part
the mapping would have retried.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.errors import AwsError, InvalidInput, NotFound
from ddbstream.logs import error_code
from ddbstream.replay.selection import created_ms

CONDITION = "RetryAttemptsExhausted"  # a replay makes one attempt, and retries none


def check_destination(destination: str | None) -> str:
    """The mapping's OnFailure destination when --to-dlq can send there (an SQS queue or SNS topic)."""
    if not destination:
        raise InvalidInput("--to-dlq: the mapping has no on-failure destination (DestinationConfig.OnFailure)")
    service = destination.split(":")[2] if destination.count(":") >= 5 else ""
    if service not in ("sqs", "sns"):
        raise InvalidInput(f"--to-dlq sends to an SQS queue or SNS topic; the mapping's destination is {destination}")
    return destination


def failure_record(records: list[dict], result: Any, function_arn: str, stream_arn: str, shard_id: str) -> dict:
    """The OnFailure record of ``records`` (GetRecords shape) after the invocation ``result`` (an InvokeResult)."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": CONDITION,
            "approximateInvokeCount": 1,
        },
        "responseContext": {
            "statusCode": result.status_code,
            "executedVersion": result.executed_version or "$LATEST",
            "functionError": result.function_error or None,
        },
        "version": "1.0",
        "timestamp": _iso(datetime.now(UTC), millis=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(_moment(records[0])),
            "approximateArrivalOfLastRecord": _iso(_moment(records[-1])),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def _moment(record: dict) -> datetime:
    return datetime.fromtimestamp(created_ms(record) / 1000, UTC)


def _iso(moment: datetime, millis: bool = False) -> str:
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def send(pipeline: Any, destination: str, record: dict) -> None:
    """Deliver ``record`` as a JSON message to the queue or topic ``destination`` names."""
    _, _, service, _, account, name = destination.split(":", 5)
    body = json.dumps(record)
    try:
        if service == "sqs":
            sqs = pipeline.client("sqs")
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        else:
            pipeline.client("sns").publish(TopicArn=destination, Message=body)
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound"):
            raise NotFound(f"the on-failure destination {destination} does not exist") from None
        raise AwsError(f"sending the on-failure record to {destination} failed: {exc}") from None
