"""Where each stream record of a load ended up: processed, in the dead-letter queue, filtered, or lost."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ddbstream.load.dlq_view import DlqView
from ddbstream.load.handler_log import HandlerLog, Invocation
from ddbstream.load.stream import StreamRecord
from ddbstream.patterns import record_matches


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


@dataclass
class Accounting:
    records: int = 0
    processed: int = 0
    in_dlq: int = 0
    filtered: int = 0
    pending: list[str] = field(default_factory=list)  # sequence numbers neither processed nor in the DLQ
    both: list[str] = field(default_factory=list)  # processed and in the DLQ
    dlq_twice: list[str] = field(default_factory=list)  # in more than one DLQ batch
    invocations: int = 0  # invocations that carried the run's records
    failed_invocations: int = 0  # of those, ended by a timeout, a crash or an unhandled error
    deliveries: int = 0  # handler lines for the run's records (every attempt)
    redeliveries: int = 0  # deliveries beyond the first, all caused by failures somewhere in a batch
    processed_again: int = 0  # successful processings beyond the first (retry duplicates)
    ledger_skips: int = 0  # redeliveries the handler recognised as duplicates
    unexplained: list[str] = field(default_factory=list)  # delivered again after a clean invocation
    order_violations: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    first_processed_ms: float | None = None
    last_processed_ms: float | None = None
    processed_ids: set[str] = field(default_factory=set)
    dlq_ids: set[str] = field(default_factory=set)

    @property
    def accounted(self) -> int:
        return self.processed + self.in_dlq + self.filtered

    @property
    def lost(self) -> int:
        return len(self.pending)

    def latency(self, p: float) -> float | None:
        return percentile(self.latencies_ms, p)


# One delivery of a record: (log order, CloudWatch timestamp ms, kind, invocation), where kind is
# ok, failed (its invocation or the record failed), open (invocation not ended yet) or skip (a duplicate).
Appearance = tuple[tuple, int, str, Invocation]


def account(
    records: list[StreamRecord],
    log: HandlerLog,
    dlq: DlqView | None,
    sent_ms: dict[int, float],
    filters: list | None = None,
) -> Accounting:
    """Where each record ended up (see ddbstream.load's docstring)."""
    result = Accounting(records=len(records))
    appearances = _appearances(log, {r.event_id for r in records}, result)
    dlq_count = _dlq_counts(dlq, {r.sequence_number: r for r in records})
    processed_at: dict[str, tuple] = {}
    for record in records:
        seen = appearances.get(record.event_id, [])
        in_dlq = dlq_count.get(record.event_id, 0)
        _count_deliveries(result, record, seen, in_dlq)
        successes = [s for s in seen if s[2] == "ok"]
        if successes:
            order, timestamp, _, _ = successes[0]
            processed_at[record.event_id] = order
            _processed(result, record, timestamp, sent_ms)
        elif in_dlq:
            result.in_dlq += 1
            result.dlq_ids.add(record.sequence_number)
        elif filters and record.lambda_event is not None and not record_matches(filters, record.lambda_event):
            result.filtered += 1
        else:
            result.pending.append(record.sequence_number)
    result.order_violations = _order_violations(records, processed_at)
    return result


def _appearances(log: HandlerLog, event_ids: set[str], result: Accounting) -> dict[str, list[Appearance]]:
    """Every appearance of a run's record in an invocation, in log order; counts the run's invocations."""
    appearances: dict[str, list[Appearance]] = defaultdict(list)
    for invocation in sorted(log.invocations.values(), key=lambda i: i.order):
        errors = {line["eventID"] for _, _, line in invocation.lines if line.get("level") == "ERROR"}
        if any(line["eventID"] in event_ids for _, _, line in invocation.lines):
            result.invocations += 1
            result.failed_invocations += invocation.closed and invocation.failed
        for order, timestamp, line in invocation.lines:
            event_id = line["eventID"]
            if event_id not in event_ids or line.get("level") == "ERROR":
                continue
            if line.get("duplicate"):
                kind = "skip"
            elif not invocation.closed:
                kind = "open"
            elif invocation.failed or event_id in errors:
                kind = "failed"
            else:
                kind = "ok"
            appearances[event_id].append((order, timestamp, kind, invocation))
    return appearances


def _dlq_counts(dlq: DlqView | None, by_sequence: dict[str, StreamRecord]) -> Counter:
    """How many DLQ batches hold each record (by event id)."""
    counts: Counter = Counter()
    if dlq is not None:
        for numbers in dlq.batches.values():
            for number in numbers:
                if number in by_sequence:
                    counts[by_sequence[number].event_id] += 1
    return counts


def _count_deliveries(result: Accounting, record: StreamRecord, seen: list[Appearance], in_dlq: int) -> None:
    """Redeliveries, duplicates and double fates of one record."""
    result.deliveries += len(seen)
    result.redeliveries += max(0, len(seen) - 1)
    result.ledger_skips += sum(1 for s in seen if s[2] == "skip")
    successes = [s for s in seen if s[2] == "ok"]
    result.processed_again += max(0, len(successes) - 1)
    clean = next((s for s in successes if s[3].clean), None)
    if clean is not None and any(s[0] > clean[0] and s[3] is not clean[3] for s in seen):
        result.unexplained.append(record.sequence_number)  # Lambda had checkpointed it
    if in_dlq > 1:
        result.dlq_twice.append(record.sequence_number)
    if successes and in_dlq:
        result.both.append(record.sequence_number)


def _processed(result: Accounting, record: StreamRecord, timestamp: int, sent_ms: dict[int, float]) -> None:
    """A record processed at ``timestamp`` (its first successful delivery): count it and its latency."""
    result.processed += 1
    result.processed_ids.add(record.sequence_number)
    sent = sent_ms.get(record.write) if record.write is not None else None
    if sent is not None:
        result.latencies_ms.append(timestamp - sent)
    result.first_processed_ms = min(result.first_processed_ms or timestamp, timestamp)
    result.last_processed_ms = max(result.last_processed_ms or timestamp, timestamp)


def _order_violations(records: list[StreamRecord], processed_at: dict[str, tuple]) -> list[str]:
    """Per key, successful processing must follow the stream's (= the writes') order."""
    violations = []
    last_by_key: dict[str, tuple[tuple, str]] = {}
    for record in records:  # sorted by sequence number
        order = processed_at.get(record.event_id)
        if order is None:
            continue
        previous = last_by_key.get(record.key_id)
        if previous is not None and order < previous[0]:
            violations.append(f"{record.sequence_number} processed before {previous[1]} (key {record.key_id})")
        last_by_key[record.key_id] = (order, record.sequence_number)
    return violations
