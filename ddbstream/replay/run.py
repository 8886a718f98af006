"""`ddbstream replay`: records already in the stream run through the function again.

The mapping is only read (its BatchSize, FilterCriteria, ReportBatchItemFailures and
OnFailure destination), never changed: its checkpoint stays where it is. Each batch is
invoked once, synchronously (RequestResponse), with the event the mapping would send.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.dlq import plain_record
from ddbstream.errors import AwsError, InvalidInput, NoStack, NotFound
from ddbstream.invoke import invoke_function
from ddbstream.logs import error_code
from ddbstream.patterns import parse_filter_criteria
from ddbstream.pipeline import Pipeline
from ddbstream.replay.on_failure import check_destination, failure_record, send
from ddbstream.replay.reader import check_retained, describe_shards, shard_records
from ddbstream.replay.selection import AFTER, INSIDE, Position, Selection, batches, failed_positions, shards_in_order
from ddbstream.stream_records import lambda_record


@dataclass(frozen=True)
class ReplayMapping:
    """What a replay reads of the event source mapping."""

    uuid: str
    function_arn: str
    stream_arn: str
    batch_size: int
    filter_criteria: dict | None
    reports_failures: bool
    destination: str | None

    @classmethod
    def from_api(cls, mapping: dict) -> ReplayMapping:
        destination = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        return cls(
            uuid=mapping["UUID"],
            function_arn=mapping["FunctionArn"],
            stream_arn=mapping["EventSourceArn"],
            batch_size=int(mapping.get("BatchSize") or 100),
            filter_criteria=mapping.get("FilterCriteria") or None,
            reports_failures="ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
            destination=destination or None,
        )


def find_mapping(lambda_client: Any, function: str, stream_arn: str | None) -> ReplayMapping:
    """The function's mapping on the table's stream (else its only DynamoDB stream mapping)."""
    found: list[dict] = []
    kwargs: dict[str, Any] = {"FunctionName": function}
    try:
        while True:
            page = lambda_client.list_event_source_mappings(**kwargs)
            found += page.get("EventSourceMappings") or []
            if not page.get("NextMarker"):
                break
            kwargs["Marker"] = page["NextMarker"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise NotFound(f"function {function} does not exist") from None
        raise AwsError(f"ListEventSourceMappings failed: {exc}") from None
    streams = [m for m in found if ":dynamodb:" in m.get("EventSourceArn", "") and "/stream/" in m["EventSourceArn"]]
    chosen = [m for m in streams if m["EventSourceArn"] == stream_arn] or streams
    if not chosen:
        raise NotFound(
            f"function {function} has no event source mapping on a DynamoDB stream: replay runs records with "
            "the mapping's settings (run 'ddbstream up')"
        )
    return ReplayMapping.from_api(chosen[0])


@dataclass(frozen=True)
class ReplayOptions:
    start: Position
    end: Position | None = None
    filters: list = field(default_factory=list)  # --filter, compiled (selection.compile_filter)
    function: str | None = None
    dry_run: bool = False
    to_dlq: bool = False


@dataclass
class BatchOutcome:
    """One batch: its records, which failed, and where its on-failure record went (--to-dlq)."""

    shard_id: str
    records: list[dict]  # GetRecords shape
    failed: list[str] = field(default_factory=list)  # sequence numbers
    detail: str = ""
    sent_to: str | None = None

    @property
    def sequence_numbers(self) -> list[str]:
        return [r["dynamodb"]["SequenceNumber"] for r in self.records]

    def as_json(self, dry_run: bool) -> dict[str, Any]:
        numbers = self.sequence_numbers
        document: dict[str, Any] = {"shardId": self.shard_id, "records": len(numbers)}
        document.update(firstSequenceNumber=numbers[0], lastSequenceNumber=numbers[-1])
        if dry_run:
            document["changes"] = [plain_record(r) for r in self.records]
        else:
            document.update(failedSequenceNumbers=self.failed, detail=self.detail, sentTo=self.sent_to)
        return document


@dataclass
class Replay:
    """A replay under way: the mapping it follows, and what it has run so far (the summary)."""

    pipeline: Pipeline
    options: ReplayOptions
    function: str
    mapping: ReplayMapping
    outcomes: list[BatchOutcome] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        failed = [number for outcome in self.outcomes for number in outcome.failed]
        return {
            "function": self.function,
            "mappingUuid": self.mapping.uuid,
            "streamArn": self.mapping.stream_arn,
            "dryRun": self.options.dry_run,
            "batches": len(self.outcomes),
            "records": sum(len(o.records) for o in self.outcomes),
            "failures": len(failed),
            "failedSequenceNumbers": failed,
            "sentToDlq": sum(1 for o in self.outcomes if o.sent_to),
            "details": [o.as_json(self.options.dry_run) for o in self.outcomes],
        }

    def run(self) -> Iterator[BatchOutcome]:
        """Run (or with dry_run, list) each batch in stream order; yields each as it finishes."""
        options, mapping = self.options, self.mapping
        mapping_filters = parse_filter_criteria(mapping.filter_criteria)
        selection = Selection(options.start, options.end, (mapping_filters, options.filters), time.time() * 1000)
        streams = self.pipeline.client("dynamodbstreams")
        stream = describe_shards(streams, mapping.stream_arn)
        check_retained(stream, options.start)
        for shard in shards_in_order(stream.shards):
            start = selection.shard_start(shard)
            if start is None:
                continue
            raw = shard_records(streams, mapping.stream_arn, shard["ShardId"], *start)
            for batch in batches(_selected(raw, selection, mapping.stream_arn), mapping.batch_size):
                outcome = BatchOutcome(shard["ShardId"], [pair[0] for pair in batch])
                if not options.dry_run:
                    self._invoke(outcome, [pair[1] for pair in batch])
                self.outcomes.append(outcome)
                yield outcome

    def _invoke(self, outcome: BatchOutcome, events: list[dict]) -> None:
        mapping = self.mapping
        result = invoke_function(self.pipeline, {"Records": events}, mapping.function_arn)
        numbers = outcome.sequence_numbers
        positions = failed_positions(result.function_error, result.payload, numbers, mapping.reports_failures)
        outcome.failed = [numbers[p] for p in positions]
        if result.function_error:
            outcome.detail = f"the function failed ({result.function_error}): {result.error_summary()}"
        elif positions:
            outcome.detail = f"{len(positions)} of {len(numbers)} record(s) reported as failed"
        else:
            outcome.detail = f"{len(numbers)} record(s) processed"
        if positions and self.options.to_dlq:
            destination = check_destination(mapping.destination)
            record = failure_record(
                outcome.records[positions[0] :], result, mapping.function_arn, mapping.stream_arn, outcome.shard_id
            )
            send(self.pipeline, destination, record)
            outcome.sent_to = destination


def _selected(raw: Iterator[dict], selection: Selection, stream_arn: str) -> Iterator[tuple[dict, dict]]:
    """(GetRecords record, Lambda record) of each record in range that passes the filters."""
    for record in raw:
        place = selection.place(record)
        if place == AFTER:
            return
        if place != INSIDE:
            continue
        event = lambda_record(record, stream_arn)
        if selection.matches(event):
            yield record, event


def start_replay(pipeline: Pipeline, options: ReplayOptions) -> Replay:
    """Check what the replay needs (a function, its mapping, a destination for --to-dlq) before anything runs."""
    function = options.function or (pipeline.function.name if pipeline.function else None)
    if not function:
        raise NoStack("no function has been provisioned: run 'ddbstream up' or pass --function")
    stream_arn = pipeline.table.stream_arn if pipeline.table else None
    mapping = find_mapping(pipeline.client("lambda"), function, stream_arn)
    if options.to_dlq and not options.dry_run:
        check_destination(mapping.destination)
    try:
        parse_filter_criteria(mapping.filter_criteria)
    except InvalidInput as exc:
        raise InvalidInput(f"the mapping's FilterCriteria: {exc.message}") from None
    return Replay(pipeline, options, function, mapping)
