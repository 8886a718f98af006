"""What the daemon measures, with AWS's namespaces, metric names, dimensions and units.

- ``LambdaMetrics``: AWS/Lambda per function (FunctionName): Invocations, Errors, Throttles,
  Duration, ConcurrentExecutions; IteratorAge per function and per event source mapping
  (EventSourceMappingUUID). The runtime and the ESM engine call it (one hook each).
- ``QueueSampler``: AWS/SQS per queue (QueueName), sampled once a (scaled) minute from moto's
  queues: ApproximateNumberOfMessagesVisible, ApproximateNumberOfMessagesNotVisible,
  ApproximateAgeOfOldestMessage, NumberOfMessagesSent (messages that appeared since the last
  sample: one sent and deleted between two samples is not counted).
- ``TableMetrics``: AWS/DynamoDB per table (TableName): ConsumedWriteCapacityUnits and
  ConsumedReadCapacityUnits (dynamodb.py counts them), ConditionalCheckFailedRequests;
  ReturnedRecordsCount for each GetRecords of the Streams API (Operation, StreamLabel,
  TableName); UserErrors per account and region, no dimension (user_errors.py counts both).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from ddbstream.emulator.metrics.recorder import Recorder, Where
from ddbstream.emulator.periodic import Periodic

log = logging.getLogger("ddbstream.emulator.metrics")

COUNT, MILLISECONDS, SECONDS = "Count", "Milliseconds", "Seconds"


class LambdaMetrics:
    """AWS/Lambda: the runtime's invocations and the mappings' iterator age."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def invoked(self, invocation: Any, result: Any, concurrency: int) -> None:
        """One invocation that ran (successfully or with a function error), from its worker's handover."""
        config = invocation.config
        handed = invocation.handed_at
        duration_ms = (time.monotonic() - handed) * 1000 if handed is not None else 0.0
        on = {"FunctionName": config.name}
        add = self.recorder.add
        where = (config.account, config.region)
        add("AWS/Lambda", "Invocations", 1, COUNT, on, where=where)
        add("AWS/Lambda", "Errors", 1 if result.function_error else 0, COUNT, on, where=where)
        add("AWS/Lambda", "Duration", round(duration_ms, 2), MILLISECONDS, on, where=where)
        add("AWS/Lambda", "ConcurrentExecutions", concurrency, COUNT, on, where=where)

    def throttled(self, config: Any) -> None:
        """One invocation refused over the function's reserved concurrency."""
        where = (config.account, config.region)
        self.recorder.add("AWS/Lambda", "Throttles", 1, COUNT, {"FunctionName": config.name}, where=where)

    def iterator_age(self, function_arn: str, mapping_uuid: str, age_ms: int) -> None:
        """The age of the last record of a batch a mapping handed to its function."""
        parts = function_arn.split(":")
        name = parts[6] if len(parts) > 6 else function_arn
        where = (parts[4], parts[3]) if len(parts) > 6 else None
        add = self.recorder.add
        add("AWS/Lambda", "IteratorAge", age_ms, MILLISECONDS, {"FunctionName": name}, where=where)
        add("AWS/Lambda", "IteratorAge", age_ms, MILLISECONDS, {"EventSourceMappingUUID": mapping_uuid}, where=where)


class TableMetrics:
    """AWS/DynamoDB: capacity consumed, records returned by GetRecords, client errors."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def changed(self, table: str, region: str, account: str, item_bytes: int) -> None:
        """One item written: a write capacity unit per KB (rounded up, at least one)."""
        units = max(1, math.ceil(item_bytes / 1024))
        where = (account, region)
        self.recorder.add("AWS/DynamoDB", "ConsumedWriteCapacityUnits", units, COUNT, {"TableName": table}, where=where)

    def read(self, table: str, region: str, account: str, units: float) -> None:
        where = (account, region)
        self.recorder.add("AWS/DynamoDB", "ConsumedReadCapacityUnits", units, COUNT, {"TableName": table}, where=where)

    def user_error(self, where: Where) -> None:
        """One request to DynamoDB or DynamoDB Streams answered with HTTP 400 (see user_errors.py)."""
        self.recorder.add("AWS/DynamoDB", "UserErrors", 1, COUNT, {}, where=where)

    def condition_failed(self, table: str, where: Where) -> None:
        """One PutItem, UpdateItem or DeleteItem refused because its condition was false."""
        on = {"TableName": table}
        self.recorder.add("AWS/DynamoDB", "ConditionalCheckFailedRequests", 1, COUNT, on, where=where)

    def records_returned(self, stream: Any, count: int) -> None:
        """One GetRecords call of the DynamoDB Streams API (the mappings read the store directly)."""
        on = {"Operation": "GetRecords", "StreamLabel": stream.label, "TableName": stream.table_name}
        parts = stream.arn.split(":")
        self.recorder.add("AWS/DynamoDB", "ReturnedRecordsCount", count, COUNT, on, where=(parts[4], parts[3]))


class QueueSampler(Periodic):
    """Samples every SQS queue of moto's backends once a (scaled) minute, in a thread."""

    def __init__(self, recorder: Recorder):
        super().__init__("ddbstream-sqs-metrics", recorder.resolution, self._sample_and_prune, log)
        self.recorder = recorder
        self._seen: dict[str, set[str]] = {}  # queue ARN -> message ids at the last sample

    def _sample_and_prune(self) -> None:
        self.sample()
        self.recorder.prune()

    def sample(self, now: float | None = None) -> None:
        """One sample of every queue (also called directly by tests)."""
        from moto.sqs.models import sqs_backends

        at = time.time() if now is None else now
        arns = set()
        for account, regions in list(sqs_backends.items()):
            for region, backend in list(regions.items()):
                for queue in list(backend.queues.values()):
                    arns.add(queue.queue_arn)
                    self._sample_queue(queue, account, region, at)
        self._seen = {arn: ids for arn, ids in self._seen.items() if arn in arns}

    def _sample_queue(self, queue: Any, account: str, region: str, at: float) -> None:
        messages = list(queue._messages)
        ids = {message.id for message in messages}
        sent = len(ids - self._seen.get(queue.queue_arn, set()))
        self._seen[queue.queue_arn] = ids
        oldest = min((m.sent_timestamp for m in messages if m.sent_timestamp), default=None)
        age = max(0, int(at - oldest / 1000)) if oldest else 0
        on = {"QueueName": queue.name}
        add = self.recorder.add
        where = (account, region)
        add("AWS/SQS", "NumberOfMessagesSent", sent, COUNT, on, where=where, at=at)
        add(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            queue.approximate_number_of_messages,
            COUNT,
            on,
            where=where,
            at=at,
        )
        not_visible = queue.approximate_number_of_messages_not_visible
        add("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", not_visible, COUNT, on, where=where, at=at)
        add("AWS/SQS", "ApproximateAgeOfOldestMessage", age, SECONDS, on, where=where, at=at)
