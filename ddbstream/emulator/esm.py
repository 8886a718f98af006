"""The event source mapping engine: DynamoDB stream records -> Lambda, with AWS's semantics.

Each enabled mapping runs ParallelizationFactor *lanes* over its stream's shard. A record
belongs to the lane its partition key hashes to, so records of one key stay in order; each
lane reads the shard itself (the stream wakes it on every write: no polling delay), forms
batches (BatchSize, MaximumBatchingWindowInSeconds, 6 MB, FilterCriteria, tumbling windows),
invokes the function through the runtime component and handles failures the way Lambda does:
ReportBatchItemFailures, BisectBatchOnFunctionError (a split is not a retry),
MaximumRetryAttempts (-1: until the record expires), MaximumRecordAgeInSeconds, and the
OnFailure destination (SQS or SNS) with the DDBStreamBatchInfo record. Retries back off
(50 ms doubling to 1 s) inside their lane only, so other lanes and mappings keep going.

The HTTP API (CreateEventSourceMapping & co.) is in esm_api.py; this module is the engine.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid as uuidlib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ddbstream.emulator.streams import Record, Stream, StreamRegistry, retention_seconds
from ddbstream.errors import DdbstreamError
from ddbstream.patterns import Pattern, record_matches

log = logging.getLogger("ddbstream.emulator.esm")

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_WINDOW_STATE_BYTES = 1024 * 1024
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 1.0
SHUTDOWN_WAIT_SECONDS = 60.0
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"

# LastProcessingResult values seen on AWS.
NO_RECORDS = "No records processed"
OK = "OK"
PROBLEM = "PROBLEM: Function call failed"

RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


def iso_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class MappingSettings:
    """The processing settings of a mapping (AWS's parameter names in snake case)."""

    function_arn: str
    batch_size: int = 100
    maximum_batching_window_in_seconds: int = 0
    parallelization_factor: int = 1
    maximum_record_age_in_seconds: int = -1
    bisect_batch_on_function_error: bool = False
    maximum_retry_attempts: int = -1
    tumbling_window_in_seconds: int = 0
    function_response_types: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    on_failure: str | None = None  # destination ARN (SQS queue or SNS topic)

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types


@dataclass
class Batch:
    """Records handed to one invocation, and how often they were tried."""

    records: list[Record]
    end_index: int  # the lane's checkpoint once this batch is done
    retries: int = 0
    invokes: int = 0
    last_result: Any = None
    window_start: float | None = None  # tumbling windows: the window the records belong to
    final: bool = False  # the closing invocation of a tumbling window (no records)
    terminated_early: bool = False


@dataclass
class Outcome:
    """What an invocation meant for its batch: done, or failed from record ``failed_from`` on."""

    failed_from: int | None
    result: Any
    response: Any = None


class Lane:
    """One of a mapping's ParallelizationFactor consumers of the shard; a thread of its own."""

    def __init__(self, mapping: Mapping, number: int, start_index: int):
        self.mapping = mapping
        self.number = number
        self.cursor = start_index  # checkpoint: the next stream index not yet done
        self.pending: list[Batch] = []  # retries and bisected halves, next one last
        self.failures = 0  # consecutive failed invocations, for the backoff
        self.window_start: float | None = None
        self.window_state: dict = {}
        self.window_open = False
        self.busy = False
        self.thread = threading.Thread(target=self._run, name=f"ddbstream-esm-{mapping.uuid[:8]}-{number}", daemon=True)

    # ------------------------------------------------------------ loop

    def _run(self) -> None:
        mapping = self.mapping
        while not mapping.stopped:
            if not mapping.active:
                mapping.stream.wait(1 << 62, 0.2)  # woken by enable/stop through the stream
                continue
            try:
                batch = self.pending.pop() if self.pending else self._next_batch()
                if batch is None:
                    continue
                self.busy = True
                try:
                    self._process(batch)
                finally:
                    self.busy = False
            except Exception:  # a bug must not kill the lane silently; back off and go on
                log.exception("mapping %s lane %s failed", mapping.uuid, self.number)
                self._sleep(BACKOFF_MAX)

    def _owns(self, record: Record) -> bool:
        factor = self.mapping.settings.parallelization_factor
        return factor == 1 or zlib.crc32(record.partition_key.encode()) % factor == self.number

    def _window_of(self, record: Record) -> float:
        size = self.mapping.settings.tumbling_window_in_seconds
        return record.arrival - record.arrival % size

    def _next_batch(self) -> Batch | None:
        """Read the next batch from the checkpoint; None when there is nothing to do yet."""
        mapping = self.mapping
        settings = mapping.settings
        stream = mapping.stream
        tumbling = settings.tumbling_window_in_seconds
        records: list[Record] = []
        size = len(b'{"Records":[]}')
        position = self.cursor
        deadline: float | None = None
        window: float | None = None
        while not mapping.stopped and mapping.active and mapping.settings is settings:
            if stream.is_trimmed(position):
                log.warning("mapping %s: records past retention were lost before being read", mapping.uuid)
                stream.trim()
                position = max(position, stream.first_index)
            full = False
            window_ends = False
            for record in stream.read(position, max(settings.batch_size, 100)):
                owned = self._owns(record)
                if not owned or not record_matches(settings.patterns, record.event):
                    if owned:
                        mapping.note_skipped()  # filtered out: dropped, never delivered
                    position = record.index + 1
                    if not records:
                        self.cursor = position  # the checkpoint moves past skipped records
                    continue
                if tumbling:
                    start = self._window_of(record)
                    current = self.window_start if self.window_open else window
                    if current is not None and start != current:
                        window_ends = True
                        break
                    window = start
                if size + len(record.lambda_json) + 1 > MAX_PAYLOAD_BYTES and records:
                    full = True
                    break
                records.append(record)
                size += len(record.lambda_json) + 1
                position = record.index + 1
                if len(records) >= settings.batch_size:
                    full = True
                    break
            if records and (full or window_ends):
                break
            if window_ends and not records:
                return self._final_batch()
            now = time.time()
            if tumbling and self.window_open and not records and now >= self.window_start + tumbling:
                return self._final_batch()
            if records:
                if deadline is None:
                    deadline = now + settings.maximum_batching_window_in_seconds
                if now >= deadline:
                    break
                timeout = deadline - now
            else:
                timeout = 1.0
                if tumbling and self.window_open:
                    timeout = max(0.0, min(timeout, self.window_start + tumbling - now))
            stream.wait(position, timeout)
        if not records or mapping.stopped or not mapping.active:
            return None  # nothing read, or disabled meanwhile: the checkpoint stays
        return Batch(records, end_index=position, window_start=window)

    def _final_batch(self) -> Batch:
        return Batch([], end_index=self.cursor, window_start=self.window_start, final=True)

    # ------------------------------------------------------------ one batch

    def _process(self, batch: Batch) -> None:
        mapping = self.mapping
        settings = mapping.settings
        if batch.records:
            expired = self._expired_prefix(batch.records)
            if expired:
                head = Batch(
                    batch.records[:expired],
                    end_index=batch.records[expired - 1].index + 1,
                    invokes=batch.invokes,
                    last_result=batch.last_result,
                )
                mapping.send_to_destination(head, RECORD_AGE_EXCEEDED, self)
                if expired == len(batch.records):
                    self._commit(batch.end_index)
                    return
                batch.records = batch.records[expired:]
        if settings.tumbling_window_in_seconds and not batch.final and not self.window_open:
            self.window_start = batch.window_start
            self.window_state = {}
            self.window_open = True
        outcome = mapping.invoke(batch, self)
        batch.invokes += 1
        batch.last_result = outcome.result
        if outcome.failed_from is None:
            self.failures = 0
            self._commit(batch.end_index)
            mapping.note_result(OK if batch.records or batch.final else NO_RECORDS, batch)
            self._after_window_invoke(batch, outcome.response)
            return
        mapping.note_result(PROBLEM, batch)
        self._failed(batch, outcome.failed_from)

    def _after_window_invoke(self, batch: Batch, response: Any) -> None:
        if not self.mapping.settings.tumbling_window_in_seconds:
            return
        if batch.final:
            self.window_open = False
            self.window_state = {}
            return
        state = response.get("state") if isinstance(response, dict) else None
        self.window_state = state if isinstance(state, dict) else {}
        if len(json.dumps(self.window_state)) > MAX_WINDOW_STATE_BYTES:
            # The window ends early: a final invoke with what there is, then a fresh state.
            self.pending.append(
                Batch([], end_index=self.cursor, window_start=self.window_start, final=True, terminated_early=True)
            )

    def _failed(self, batch: Batch, failed_from: int) -> None:
        settings = self.mapping.settings
        if batch.final:
            rest = batch
        elif failed_from > 0:
            # Partial failure: the records before the lowest failed one are done.
            self._commit(batch.records[failed_from].index)
            rest = Batch(
                batch.records[failed_from:],
                batch.end_index,
                batch.retries,
                batch.invokes,
                batch.last_result,
                batch.window_start,
            )
            if settings.bisect_batch_on_function_error:
                self.pending.append(rest)  # split at the returned sequence number: not a retry
                return
        else:
            rest = batch
            if settings.bisect_batch_on_function_error and len(batch.records) > 1:
                middle = len(batch.records) // 2
                first, second = batch.records[:middle], batch.records[middle:]
                self.pending.append(
                    Batch(second, batch.end_index, batch.retries, 0, batch.last_result, batch.window_start)
                )
                self.pending.append(
                    Batch(first, second[0].index, batch.retries, 0, batch.last_result, batch.window_start)
                )
                return
        rest.retries += 1
        limit = settings.maximum_retry_attempts
        if (limit != -1 and rest.retries > limit) or (rest.final and self._window_expired(rest)):
            if rest.final:
                log.warning(
                    "mapping %s: the final invoke of a tumbling window failed; window dropped", self.mapping.uuid
                )
                self.window_open = False
                self.window_state = {}
            else:
                self.mapping.send_to_destination(rest, RETRIES_EXHAUSTED, self)
                self._commit(rest.end_index)
            return
        self.pending.append(rest)
        self.failures += 1
        self._sleep(min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX))

    def _max_age(self) -> float:
        max_age = self.mapping.settings.maximum_record_age_in_seconds
        return retention_seconds() if max_age == -1 else min(max_age, retention_seconds())

    def _window_expired(self, batch: Batch) -> bool:
        """A failing final invoke is retried until its window's records would have expired."""
        end = (batch.window_start or 0.0) + self.mapping.settings.tumbling_window_in_seconds
        return time.time() - end > self._max_age()

    def _expired_prefix(self, records: list[Record]) -> int:
        """How many records at the front are past MaximumRecordAgeInSeconds or the retention."""
        horizon = time.time() - self._max_age()
        count = 0
        for record in records:
            if record.arrival >= horizon:
                break
            count += 1
        return count

    def _commit(self, index: int) -> None:
        self.cursor = max(self.cursor, index)

    def _sleep(self, seconds: float) -> None:
        """Back off without holding up shutdown or a disable."""
        deadline = time.monotonic() + seconds
        mapping = self.mapping
        while not mapping.stopped and mapping.active:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with mapping.stream.cond:
                mapping.stream.cond.wait(left)


class Mapping:
    """One event source mapping: its API-visible configuration, state and its lanes."""

    def __init__(
        self,
        engine: Engine,
        mapping_uuid: str,
        stream: Stream,
        api: dict,
        settings: MappingSettings,
        start_index: int,
        enabled: bool,
    ):
        self.engine = engine
        self.uuid = mapping_uuid
        self.stream = stream
        self.api = api  # the EventSourceMappingConfiguration fields given by the user
        self.settings = settings
        self.state = "Enabled" if enabled else "Disabled"
        self.state_reason = "User action"
        self.last_modified = time.time()
        self.last_result = NO_RECORDS
        self.stopped = False
        self.iterator_age_ms = 0
        self.counters = {
            "invocations": 0,
            "records_delivered": 0,
            "records_skipped": 0,
            "failed_invocations": 0,
            "sent_to_destination": 0,
        }
        self._lock = threading.Lock()
        self.lanes = [Lane(self, n, start_index) for n in range(settings.parallelization_factor)]
        for lane in self.lanes:
            lane.thread.start()

    @property
    def enabled(self) -> bool:
        return self.state in ("Enabled", "Updating")

    @property
    def active(self) -> bool:
        return self.enabled and not self.stopped

    # ------------------------------------------------------------ control

    def set_enabled(self, enabled: bool) -> None:
        self.state = "Enabled" if enabled else "Disabled"
        self.state_reason = "User action"
        self.last_modified = time.time()
        self.stream.wake()

    def update_settings(self, settings: MappingSettings) -> None:
        """New settings; a new ParallelizationFactor re-partitions from the lowest checkpoint."""
        old = self.settings
        if settings.parallelization_factor != old.parallelization_factor:
            self._stop_lanes()
            start = min(lane.cursor for lane in self.lanes)
            self.settings = settings
            self.stopped = False
            self.lanes = [Lane(self, n, start) for n in range(settings.parallelization_factor)]
            for lane in self.lanes:
                lane.thread.start()
        else:
            self.settings = settings
        self.last_modified = time.time()
        self.stream.wake()

    def stop(self, timeout: float) -> None:
        """Stop the lanes; an invocation in flight finishes first (bounded wait)."""
        self._stop_lanes(timeout)

    def _stop_lanes(self, timeout: float = SHUTDOWN_WAIT_SECONDS) -> None:
        self.stopped = True
        self.stream.wake()
        deadline = time.monotonic() + timeout
        for lane in self.lanes:
            lane.thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------ invocation

    def event_payload(self, batch: Batch, lane: Lane) -> bytes:
        records = b",".join(r.lambda_json for r in batch.records)
        tumbling = self.settings.tumbling_window_in_seconds
        if not tumbling:
            return b'{"Records":[' + records + b"]}"
        start = batch.window_start if batch.window_start is not None else lane.window_start
        extra = {
            "window": {"start": iso_seconds(start), "end": iso_seconds(start + tumbling)},
            "state": lane.window_state,
            "shardId": self.stream.shard_id,
            "eventSourceARN": self.stream.arn,
            "isFinalInvokeForWindow": batch.final,
            "isWindowTerminatedEarly": batch.terminated_early,
        }
        return b'{"Records":[' + records + b"]," + json.dumps(extra, separators=(",", ":")).encode()[1:]

    def invoke(self, batch: Batch, lane: Lane) -> Outcome:
        payload = self.event_payload(batch, lane)
        result = self.engine.invoke(self.settings.function_arn, payload)
        now = time.time()
        with self._lock:
            self.counters["invocations"] += 1
            self.counters["records_delivered"] += len(batch.records)
            if batch.records:
                self.iterator_age_ms = int((now - batch.records[-1].arrival) * 1000)
        if result is None or result.function_error:
            with self._lock:
                self.counters["failed_invocations"] += 1
            return Outcome(0, result)
        response = _parse_json(result.payload)
        if not self.settings.reports_item_failures or batch.final:
            return Outcome(None, result, response)
        failed_from = _lowest_failure(response, batch.records)
        if failed_from is not None:
            with self._lock:
                self.counters["failed_invocations"] += 1
        return Outcome(failed_from, result, response)

    def note_result(self, result: str, batch: Batch) -> None:
        self.last_result = result

    def note_skipped(self) -> None:
        with self._lock:
            self.counters["records_skipped"] += 1

    def send_to_destination(self, batch: Batch, condition: str, lane: Lane) -> None:
        with self._lock:
            self.counters["sent_to_destination"] += 1
        destination = self.settings.on_failure
        if not destination or not batch.records:
            log.warning("mapping %s: discarding %d record(s) (%s)", self.uuid, len(batch.records), condition)
            return
        self.engine.send_on_failure(destination, self.failure_record(batch, condition))

    def failure_record(self, batch: Batch, condition: str) -> dict:
        """The OnFailure destination record (AWS's shape: the records themselves are not included)."""
        result = batch.last_result
        response_context = {
            "statusCode": getattr(result, "status_code", 0) if result is not None else 0,
            "executedVersion": getattr(result, "executed_version", None) or "$LATEST",
            "functionError": (getattr(result, "function_error", None) or "") if result is not None else "",
        }
        first, last = batch.records[0], batch.records[-1]
        return {
            "requestContext": {
                "requestId": getattr(result, "request_id", None) or str(uuidlib.uuid4()),
                "functionArn": self.settings.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invokes,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": iso_millis(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": self.stream.shard_id,
                "startSequenceNumber": first.sequence_number,
                "endSequenceNumber": last.sequence_number,
                "approximateArrivalOfFirstRecord": iso_seconds(first.arrival),
                "approximateArrivalOfLastRecord": iso_seconds(last.arrival),
                "batchSize": len(batch.records),
                "streamArn": self.stream.arn,
            },
        }

    def metrics(self) -> dict:
        """Iterator age and counters (served at GET /_ddbstream/mappings/{uuid}/metrics)."""
        end = self.stream.end_index
        with self._lock:
            counters = dict(self.counters)
        return {
            "UUID": self.uuid,
            "State": self.state,
            "LastProcessingResult": self.last_result,
            "IteratorAgeMilliseconds": self.iterator_age_ms,
            "PendingRecords": max(0, end - min(lane.cursor for lane in self.lanes)),
            "InFlight": any(lane.busy for lane in self.lanes),
            "Lanes": [
                {"Lane": lane.number, "Checkpoint": lane.cursor, "Retrying": bool(lane.pending)} for lane in self.lanes
            ],
            **{_camel(k): v for k, v in counters.items()},
        }


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _parse_json(payload: bytes | None) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


def _lowest_failure(response: Any, records: list[Record]) -> int | None:
    """ReportBatchItemFailures: the index of the lowest failed record, 0 when the whole batch
    failed (empty, null or unknown identifier, misspelled key), None when everything succeeded."""
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return None
    if not isinstance(failures, list):
        return 0
    positions = {r.sequence_number: i for i, r in enumerate(records)}
    lowest: int | None = None
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return 0
        index = positions[identifier]
        lowest = index if lowest is None else min(lowest, index)
    return lowest


class Engine:
    """Every mapping of the daemon (the "esm" component)."""

    def __init__(self, emulator: Any, streams: StreamRegistry):
        self.emulator = emulator
        self.streams = streams
        self.mappings: dict[str, Mapping] = {}
        self.lock = threading.RLock()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def invoke(self, function_arn: str, payload: bytes) -> Any:
        runtime = self.emulator.components.get("runtime")
        if runtime is None:
            log.error("no Lambda runtime in the daemon: cannot invoke %s", function_arn)
            return None
        try:
            return runtime.invoke(function_arn, payload, invocation_type="RequestResponse")
        except DdbstreamError as exc:  # Lambda refused the call (function deleted, runtime stopping, ...)
            log.warning("invoking %s failed: %s", function_arn, exc.message)
            return None
        except Exception:
            log.exception("invoking %s failed", function_arn)
            return None

    def add(self, mapping: Mapping) -> None:
        with self.lock:
            self.mappings[mapping.uuid] = mapping

    def get(self, mapping_uuid: str) -> Mapping | None:
        with self.lock:
            return self.mappings.get(mapping_uuid)

    def remove(self, mapping_uuid: str) -> Mapping | None:
        with self.lock:
            mapping = self.mappings.pop(mapping_uuid, None)
        if mapping is not None:
            # Lanes finish their in-flight invocation in the background; the API does not wait.
            threading.Thread(target=mapping.stop, args=(SHUTDOWN_WAIT_SECONDS,), daemon=True).start()
        return mapping

    def all(self) -> list[Mapping]:
        with self.lock:
            return list(self.mappings.values())

    def shutdown(self, timeout: float = SHUTDOWN_WAIT_SECONDS) -> None:
        """Stop every mapping; in-flight batches finish within ``timeout`` seconds in total."""
        mappings = self.all()
        for mapping in mappings:
            mapping.stopped = True
            mapping.stream.wake()
        deadline = time.monotonic() + timeout
        for mapping in mappings:
            mapping.stop(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------ destinations

    def _client(self, service: str) -> Any:
        with self._clients_lock:
            client = self._clients.get(service)
            if client is None:
                from ddbstream.clients import local_client

                client = local_client(service, self.emulator.endpoint, self.emulator.region)
                self._clients[service] = client
            return client

    def send_on_failure(self, destination: str, record: dict) -> None:
        """Deliver an OnFailure record to an SQS queue or SNS topic of the daemon (by its API)."""
        body = json.dumps(record)
        try:
            parts = destination.split(":")
            if parts[2] == "sqs":
                sqs = self._client("sqs")
                url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody=body)
            elif parts[2] == "sns":
                self._client("sns").publish(TopicArn=destination, Message=body)
            else:
                log.error("unsupported OnFailure destination %s", destination)
        except Exception as exc:
            log.error("could not send an OnFailure record to %s: %s", destination, exc)


def install(emulator: Any) -> None:
    """The "esm" component: the engine plus the event source mapping routes."""
    from ddbstream.emulator import esm_api

    engine = Engine(emulator, emulator.components["streams"])
    emulator.components["esm"] = engine
    esm_api.add_routes(emulator, engine)
    emulator.on_shutdown(engine.shutdown)
