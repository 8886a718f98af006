"""The ESM's source: what one lane of a mapping reads from its stream.

A record belongs to the lane its partition key hashes to (ParallelizationFactor), so the
records of one key stay in order. A lane reads from its checkpoint and forms a batch:
records that match the mapping's FilterCriteria, up to BatchSize and Lambda's 6 MB payload,
gathered for up to MaximumBatchingWindowInSeconds, never across a tumbling window's end.
The stream wakes the reader on every write: there is no polling delay.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass, field
from typing import Protocol

from ddbstream.emulator.esm.model import Batch, MappingSettings
from ddbstream.emulator.esm.policy import Window, window_start_of
from ddbstream.emulator.streams import Record, Stream
from ddbstream.patterns import record_matches

log = logging.getLogger("ddbstream.emulator.esm")

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
EMPTY_EVENT_BYTES = len(b'{"Records":[]}')
IDLE_WAIT_SECONDS = 1.0

# Why a read pass stopped before the end of what the stream holds.
FULL = "full"
WINDOW_ENDS = "window ends"


class Subscription(Protocol):
    """What the source reads of its mapping."""

    uuid: str
    stream: Stream
    settings: MappingSettings

    @property
    def active(self) -> bool: ...

    def note_skipped(self) -> None: ...


class LanePosition(Protocol):
    """What the source reads and moves of its lane: the checkpoint, and the open tumbling window."""

    number: int
    cursor: int
    window: Window


def owns(record: Record, lane: int, factor: int) -> bool:
    """Whether ``record`` belongs to lane ``lane`` of ``factor`` (by its partition key's hash)."""
    return factor == 1 or zlib.crc32(record.partition_key.encode()) % factor == lane


@dataclass
class _Gathered:
    """What a read has collected so far, and where it reads next."""

    position: int
    records: list[Record] = field(default_factory=list)
    size: int = EMPTY_EVENT_BYTES
    window: float | None = None  # the tumbling window of the records gathered


def next_batch(mapping: Subscription, lane: LanePosition) -> Batch | None:
    """Read the next batch from the lane's checkpoint; None when there is nothing to do yet.

    The checkpoint moves past records skipped before the first one gathered (other lanes'
    records, filtered-out ones), as they are read.
    """
    settings = mapping.settings
    size = settings.tumbling_window_in_seconds
    gathered = _Gathered(lane.cursor)
    deadline: float | None = None
    while mapping.active and mapping.settings is settings:
        _skip_trimmed(mapping, gathered)
        stop = _gather(mapping, lane, settings, gathered)
        if gathered.records and stop:
            break
        if stop == WINDOW_ENDS or (not gathered.records and lane.window.is_over(time.time(), size)):
            return lane.window.closing_batch(lane.cursor)
        now = time.time()
        if gathered.records:
            if deadline is None:
                deadline = now + settings.maximum_batching_window_in_seconds
            if now >= deadline:
                break
            timeout = deadline - now
        else:
            timeout = lane.window.seconds_left(now, size, at_most=IDLE_WAIT_SECONDS)
        mapping.stream.wait(gathered.position, timeout)
    if not gathered.records or not mapping.active:
        return None  # nothing read, or disabled meanwhile: the checkpoint stays
    return Batch(gathered.records, end_index=gathered.position, window_start=gathered.window)


def _skip_trimmed(mapping: Subscription, gathered: _Gathered) -> None:
    stream = mapping.stream
    if stream.is_trimmed(gathered.position):
        log.warning("mapping %s: records past retention were lost before being read", mapping.uuid)
        stream.trim()
        gathered.position = max(gathered.position, stream.first_index)


def _gather(mapping: Subscription, lane: LanePosition, settings: MappingSettings, gathered: _Gathered) -> str | None:
    """Add what the stream holds to ``gathered``; FULL or WINDOW_ENDS when the batch cannot grow."""
    tumbling = settings.tumbling_window_in_seconds
    for record in mapping.stream.read(gathered.position, max(settings.batch_size, 100)):
        if not _wanted(mapping, lane.number, settings, record):
            gathered.position = record.index + 1
            if not gathered.records:
                lane.cursor = gathered.position  # the checkpoint moves past skipped records
            continue
        if tumbling:
            start = window_start_of(record.arrival, tumbling)
            current = lane.window.start if lane.window.is_open else gathered.window
            if current is not None and start != current:
                return WINDOW_ENDS
            gathered.window = start
        record_bytes = len(record.lambda_json) + 1
        if gathered.records and gathered.size + record_bytes > MAX_PAYLOAD_BYTES:
            return FULL
        gathered.records.append(record)
        gathered.size += record_bytes
        gathered.position = record.index + 1
        if len(gathered.records) >= settings.batch_size:
            return FULL
    return None


def _wanted(mapping: Subscription, lane: int, settings: MappingSettings, record: Record) -> bool:
    """The lane's record matching the filters; one of the lane's records filtered out counts as skipped."""
    if not owns(record, lane, settings.parallelization_factor):
        return False
    if not settings.patterns or record_matches(settings.patterns, record.event):  # decode only to filter
        return True
    mapping.note_skipped()  # filtered out: dropped, never delivered
    return False
