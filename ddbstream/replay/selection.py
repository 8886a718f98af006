"""What a replay runs (pure): its range in the stream, which records match, how they are batched.

A point in the stream is TRIM_HORIZON, a sequence number (compared as an integer, as they
grow within a shard) or a time (matched against the record's ApproximateCreationDateTime).
Shards are read parents first, as a mapping reads them; a batch never spans two shards.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddbstream.durations import parse_time
from ddbstream.errors import InvalidInput
from ddbstream.items import dumps_plain
from ddbstream.patterns import Pattern, parse_filter_criteria, record_matches

TRIM_HORIZON = "TRIM_HORIZON"
SEQUENCE = "sequence"
TIME = "time"
SEQUENCE_DIGITS = (21, 40)  # a stream sequence number's length (SequenceNumberRange)
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload: a batch is cut before it
EMPTY_EVENT_BYTES = len(b'{"Records":[]}')

BEFORE, INSIDE, AFTER = "before", "inside", "after"


@dataclass(frozen=True)
class Position:
    """One end of a replay's range, as the user gave it."""

    kind: str  # TRIM_HORIZON, SEQUENCE or TIME
    text: str
    sequence: int = 0
    time_ms: int = 0


def parse_position(text: str, option: str = "--from", now: float | None = None) -> Position:
    """--from / --to -> a Position (InvalidInput naming the option when it is none of the forms)."""
    raw = text.strip()
    if raw.upper() == TRIM_HORIZON:
        if option == "--to":
            raise InvalidInput("--to TRIM_HORIZON: a replay starts there; end it at a sequence number or a time")
        return Position(TRIM_HORIZON, raw)
    if raw.isdigit():
        low, high = SEQUENCE_DIGITS
        if not low <= len(raw) <= high:
            raise InvalidInput(
                f"invalid {option} {text!r}: a stream sequence number has {low} to {high} digits "
                "(a time is ISO 8601, such as 2024-05-01T12:00:00Z, or a duration back from now, such as 10m)"
            )
        return Position(SEQUENCE, raw, sequence=int(raw))
    try:
        return Position(TIME, raw, time_ms=parse_time(raw, option, now))
    except InvalidInput:
        start = "TRIM_HORIZON, " if option == "--from" else ""
        raise InvalidInput(
            f"invalid {option} {text!r}: use {start}a sequence number ({SEQUENCE_DIGITS[0]} to "
            f"{SEQUENCE_DIGITS[1]} digits), an ISO 8601 time such as 2024-05-01T12:00:00Z or a duration "
            "back from now such as 10m"
        ) from None


def check_range(start: Position, end: Position | None) -> None:
    """InvalidInput when --to comes before --from (only comparable when both are numbers or both times)."""
    if end is None or start.kind != end.kind:
        return
    if (start.kind == SEQUENCE and end.sequence < start.sequence) or (
        start.kind == TIME and end.time_ms < start.time_ms
    ):
        raise InvalidInput(f"--to {end.text} is before --from {start.text}")


def compile_filter(text: str | None) -> list[Pattern]:
    """--filter: one pattern in FilterCriteria's syntax ([] when not given)."""
    if text is None:
        return []
    try:
        return parse_filter_criteria({"Filters": [{"Pattern": text}]})
    except InvalidInput as exc:
        raise InvalidInput(f"--filter: {exc.message}") from None


def created_ms(record: dict) -> float:
    """A GetRecords record's ApproximateCreationDateTime in epoch milliseconds (botocore parses it)."""
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return created.timestamp() * 1000
    return float(created or 0) * 1000


def sequence_of(record: dict) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


@dataclass(frozen=True)
class Selection:
    """The records a replay runs: its range, its filters (all must match), and when it began.

    ``filters`` holds groups of patterns: the mapping's FilterCriteria (any of its filters) and
    --filter; a record runs when every group lets it through. Records created after the replay
    began are left out (a handler writing to its own table does not feed the replay forever).
    """

    start: Position
    end: Position | None
    filters: tuple[list[Pattern], ...]
    began_ms: float

    def shard_start(self, shard: dict) -> tuple[str, str | None] | None:
        """(iterator type, sequence number) to read ``shard`` from; None when it holds nothing in range."""
        numbers = shard.get("SequenceNumberRange") or {}
        first = int(numbers.get("StartingSequenceNumber") or 0)
        last = numbers.get("EndingSequenceNumber")
        if self.end is not None and self.end.kind == SEQUENCE and first > self.end.sequence:
            return None
        if self.start.kind != SEQUENCE or first >= self.start.sequence:
            return TRIM_HORIZON, None
        if last is not None and int(last) < self.start.sequence:
            return None
        return "AT_SEQUENCE_NUMBER", self.start.text

    def place(self, record: dict) -> str:
        """BEFORE the range (skip it), INSIDE, or AFTER it (the shard's reading ends there)."""
        created = created_ms(record)
        end = self.end
        if created >= (self.began_ms // 1000 + 1) * 1000:  # AWS rounds the creation time down to the second
            return AFTER
        if end is not None and (
            (end.kind == SEQUENCE and sequence_of(record) > end.sequence)
            or (end.kind == TIME and created > end.time_ms)
        ):
            return AFTER
        start = self.start
        if (start.kind == SEQUENCE and sequence_of(record) < start.sequence) or (
            start.kind == TIME and created < start.time_ms
        ):
            return BEFORE
        return INSIDE

    def matches(self, event_record: dict) -> bool:
        """Whether a record (Lambda's shape, what filters see) passes every group of filters."""
        return all(record_matches(patterns, event_record) for patterns in self.filters)


def shards_in_order(shards: list[dict]) -> list[dict]:
    """Parents before their children; otherwise by starting sequence number."""
    by_id = {shard["ShardId"]: shard for shard in shards}
    children: dict[str, list[str]] = {}
    ready: list[tuple[int, str]] = []
    for shard_id, shard in by_id.items():
        parent = shard.get("ParentShardId")
        if isinstance(parent, str) and parent in by_id:
            children.setdefault(parent, []).append(shard_id)
        else:
            heapq.heappush(ready, (_first_sequence(shard), shard_id))
    ordered: list[dict] = []
    while ready:
        _, shard_id = heapq.heappop(ready)
        ordered.append(by_id[shard_id])
        for child in children.get(shard_id, []):
            heapq.heappush(ready, (_first_sequence(by_id[child]), child))
    return ordered


def _first_sequence(shard: dict) -> int:
    return int((shard.get("SequenceNumberRange") or {}).get("StartingSequenceNumber") or 0)


def batches(records: Iterable[tuple[dict, dict]], batch_size: int) -> Iterator[list[tuple[dict, dict]]]:
    """(GetRecords record, Lambda record) pairs -> batches of at most ``batch_size`` and Lambda's 6 MB."""
    batch: list[tuple[dict, dict]] = []
    size = EMPTY_EVENT_BYTES
    for pair in records:
        record_bytes = len(dumps_plain(pair[1]).encode()) + 1
        if batch and (len(batch) >= batch_size or size + record_bytes > MAX_PAYLOAD_BYTES):
            yield batch
            batch, size = [], EMPTY_EVENT_BYTES
        batch.append(pair)
        size += record_bytes
    if batch:
        yield batch


def failed_positions(
    function_error: str | None, payload: Any, sequence_numbers: list[str], reports_failures: bool
) -> list[int]:
    """The positions of the batch's records that failed, as the mapping would judge the answer.

    A function error fails them all. With ReportBatchItemFailures, batchItemFailures names the
    failed ones; an entry that names no record of the batch (null, empty, unknown, a misspelled
    key) fails the whole batch, as on AWS. Without it, the answer is not read.
    """
    everything = list(range(len(sequence_numbers)))
    if function_error:
        return everything
    if not reports_failures or not isinstance(payload, dict):
        return []
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return []
    if not isinstance(failures, list):
        return everything
    positions = {number: index for index, number in enumerate(sequence_numbers)}
    found: set[int] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return everything
        found.add(positions[identifier])
    return sorted(found)
