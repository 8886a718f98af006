"""The event source mapping engine: DynamoDB stream records -> Lambda, with AWS's semantics.

Each enabled mapping runs ParallelizationFactor *lanes*, each a thread looping over
source -> target -> policy: read a batch from its checkpoint (source.py), invoke the function
(target.py), and do what the failure policy decides (policy.py): move the checkpoint, retry
after a backoff, bisect, or discard to the OnFailure destination. Retries back off inside
their lane only, so other lanes and mappings keep going.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ddbstream.emulator.esm.model import Batch, MappingSettings
from ddbstream.emulator.esm.policy import (
    BACKOFF_MAX,
    NO_RECORDS,
    RECORD_AGE_EXCEEDED,
    Bisect,
    Checkpoint,
    Decision,
    Discard,
    DropWindow,
    Outcome,
    Retry,
    Window,
    after_invoke,
    outcome_of,
    processing_result,
    split_expired,
)
from ddbstream.emulator.esm.source import next_batch
from ddbstream.emulator.esm.target import Destinations, Invoker, event_payload, failure_record
from ddbstream.emulator.streams import Stream, StreamRegistry, retention_seconds

log = logging.getLogger("ddbstream.emulator.esm")

SHUTDOWN_WAIT_SECONDS = 60.0


class Lane:
    """One of a mapping's ParallelizationFactor consumers of the shard; a thread of its own."""

    def __init__(self, mapping: Mapping, number: int, start_index: int):
        self.mapping = mapping
        self.number = number
        self.cursor = start_index  # checkpoint: the next stream index not yet done
        self.pending: list[Batch] = []  # retries and bisected halves, next one last
        self.failures = 0  # consecutive retries, for the backoff
        self.window = Window()
        self.busy = False
        self.thread = threading.Thread(target=self._run, name=f"ddbstream-esm-{mapping.uuid[:8]}-{number}", daemon=True)

    def _run(self) -> None:
        mapping = self.mapping
        while not mapping.stopped:
            if not mapping.active:
                mapping.stream.wait(1 << 62, 0.2)  # woken by enable/stop through the stream
                continue
            try:
                batch = self.pending.pop() if self.pending else next_batch(mapping, self)
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

    def _process(self, batch: Batch) -> None:
        mapping = self.mapping
        settings = mapping.settings
        expired, rest = split_expired(batch, settings, time.time(), retention_seconds())
        if expired is not None:
            self._discard(expired, RECORD_AGE_EXCEEDED)
        if rest is None:
            return
        self.window.open_for(rest, settings.tumbling_window_in_seconds)
        outcome = mapping.invoke(rest, self.window)
        rest.invokes += 1
        rest.last_result = outcome.result
        mapping.last_result = processing_result(rest, outcome)
        decision = after_invoke(rest, outcome, settings, self.failures, time.time(), retention_seconds())
        self._apply(decision, rest, outcome)

    def _apply(self, decision: Decision, batch: Batch, outcome: Outcome) -> None:
        if isinstance(decision, Checkpoint):
            self.failures = 0
            self._commit(decision.index)
            size = self.mapping.settings.tumbling_window_in_seconds
            closing = self.window.after_success(batch, outcome.response, size, self.cursor)
            if closing is not None:
                self.pending.append(closing)
            return
        if isinstance(decision, DropWindow):
            log.warning("mapping %s: the final invoke of a tumbling window failed; window dropped", self.mapping.uuid)
            self.window.close()
            return
        if decision.done_until is not None:
            self._commit(decision.done_until)  # the records before the lowest failed one are done
        if isinstance(decision, Bisect):
            self.pending.extend(reversed(decision.batches))
        elif isinstance(decision, Discard):
            self._discard(decision.batch, decision.condition)
        elif isinstance(decision, Retry):
            self.pending.append(decision.batch)
            self.failures += 1
            self._sleep(decision.backoff)

    def _discard(self, batch: Batch, condition: str) -> None:
        self.mapping.send_to_destination(batch, condition)
        self._commit(batch.end_index)

    def _commit(self, index: int) -> None:
        if index > self.cursor:
            self.cursor = index
            self.mapping.engine.saved_checkpoint(self.mapping)

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
    """One event source mapping: its API-visible configuration, state, counters and lanes."""

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
        self.lanes = self._start_lanes(start_index)

    @property
    def enabled(self) -> bool:
        return self.state in ("Enabled", "Updating")

    @property
    def active(self) -> bool:
        return self.enabled and not self.stopped

    def _start_lanes(self, start_index: int) -> list[Lane]:
        lanes = [Lane(self, n, start_index) for n in range(self.settings.parallelization_factor)]
        self.lanes = lanes  # before they run: a lane's first checkpoint reads every lane's
        for lane in lanes:
            lane.thread.start()
        return lanes

    # ------------------------------------------------------------ control

    def set_enabled(self, enabled: bool) -> None:
        self.state = "Enabled" if enabled else "Disabled"
        self.state_reason = "User action"
        self.last_modified = time.time()
        self.engine.saved(self)
        self.stream.wake()

    def update_settings(self, settings: MappingSettings) -> None:
        """New settings; a new ParallelizationFactor re-partitions from the lowest checkpoint."""
        if settings.parallelization_factor != self.settings.parallelization_factor:
            self._stop_lanes()
            start = self.checkpoint()
            self.settings = settings
            self.stopped = False
            self.lanes = self._start_lanes(start)
        else:
            self.settings = settings
        self.last_modified = time.time()
        self.engine.saved(self)
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

    def checkpoint(self) -> int:
        """The lowest checkpoint of the lanes: every record before it is done."""
        return min(lane.cursor for lane in self.lanes)

    # ------------------------------------------------------------ invocation

    def invoke(self, batch: Batch, window: Window) -> Outcome:
        payload = event_payload(batch, window, self.settings, self.stream)
        result = self.engine.invoker.invoke(self.settings.function_arn, payload)
        outcome = outcome_of(result, batch, self.settings)
        now = time.time()
        with self._lock:
            self.counters["invocations"] += 1
            self.counters["records_delivered"] += len(batch.records)
            if batch.records:
                self.iterator_age_ms = int((now - batch.records[-1].arrival) * 1000)
            if outcome.failed_from is not None:
                self.counters["failed_invocations"] += 1
        if batch.records and self.engine.on_iterator_age:  # AWS/Lambda IteratorAge (emulator/metrics/)
            self.engine.on_iterator_age(self.settings.function_arn, self.uuid, self.iterator_age_ms)
        return outcome

    def note_skipped(self) -> None:
        with self._lock:
            self.counters["records_skipped"] += 1

    def send_to_destination(self, batch: Batch, condition: str) -> None:
        with self._lock:
            self.counters["sent_to_destination"] += 1
        destination = self.settings.on_failure
        if not destination or not batch.records:
            log.warning("mapping %s: discarding %d record(s) (%s)", self.uuid, len(batch.records), condition)
            return
        record = failure_record(batch, condition, self.settings.function_arn, self.stream, time.time())
        self.engine.destinations.send(destination, record)

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
            "PendingRecords": max(0, end - self.checkpoint()),
            "InFlight": any(lane.busy for lane in self.lanes),
            "Lanes": [
                {"Lane": lane.number, "Checkpoint": lane.cursor, "Retrying": bool(lane.pending)} for lane in self.lanes
            ],
            **{_camel(k): v for k, v in counters.items()},
        }


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


class MappingStore(Protocol):
    """Where mappings and their checkpoints are kept across restarts (emulator/store/)."""

    def save(self, mapping: Mapping) -> None: ...

    def forget(self, mapping_uuid: str) -> None: ...

    def checkpoint(self, mapping_uuid: str, cursor: int) -> None: ...


class Engine:
    """Every mapping of the daemon, with the streams they read, the invoker and the destinations."""

    def __init__(self, streams: StreamRegistry, invoker: Invoker, destinations: Destinations):
        self.streams = streams
        self.invoker = invoker
        self.destinations = destinations
        self.mappings: dict[str, Mapping] = {}
        self.lock = threading.RLock()
        self.store: MappingStore | None = None  # set by the daemon when it keeps a store
        self.on_iterator_age: Callable[[str, str, int], None] | None = None  # set by the daemon (metrics)

    def saved(self, mapping: Mapping) -> None:
        """Keep ``mapping``'s definition (created, updated, enabled or disabled)."""
        if self.store is not None:
            self.store.save(mapping)

    def saved_checkpoint(self, mapping: Mapping) -> None:
        """Keep ``mapping``'s lowest checkpoint (it may lag: records are then delivered again)."""
        if self.store is not None:
            self.store.checkpoint(mapping.uuid, mapping.checkpoint())

    def add(self, mapping: Mapping) -> None:
        with self.lock:
            self.mappings[mapping.uuid] = mapping
        self.saved(mapping)

    def get(self, mapping_uuid: str) -> Mapping | None:
        with self.lock:
            return self.mappings.get(mapping_uuid)

    def remove(self, mapping_uuid: str) -> Mapping | None:
        with self.lock:
            mapping = self.mappings.pop(mapping_uuid, None)
        if mapping is not None and self.store is not None:
            self.store.forget(mapping_uuid)
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
