"""The ESM's failure policy and tumbling-window rules: pure decisions, no threads, no clock.

After each invocation the lane asks ``after_invoke`` what to do with the batch, the way
Lambda decides for a DynamoDB stream: ReportBatchItemFailures (records before the lowest
failed one are done), BisectBatchOnFunctionError (a split is not a retry),
MaximumRetryAttempts (-1: until the record expires), MaximumRecordAgeInSeconds and the
OnFailure destination. Retries back off from 50 ms, doubling up to 1 s. The caller passes
the time and the stream's retention, so every rule here is a plain function of its inputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ddbstream.emulator.esm.model import Batch, MappingSettings
from ddbstream.emulator.streams import Record

BACKOFF_FIRST = 0.05
BACKOFF_MAX = 1.0
MAX_WINDOW_STATE_BYTES = 1024 * 1024

# LastProcessingResult values seen on AWS.
NO_RECORDS = "No records processed"
OK = "OK"
PROBLEM = "PROBLEM: Function call failed"

# The condition an OnFailure record names.
RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


class InvocationResult(Protocol):
    """What the policy reads of the runtime's answer (LambdaRuntime's InvokeResult)."""

    payload: bytes
    function_error: str | None


# ---------------------------------------------------------------- what an invocation meant


@dataclass(frozen=True)
class Outcome:
    """What an invocation meant for its batch: done (``failed_from`` None), or failed from that record on."""

    failed_from: int | None
    result: Any = None  # the runtime's answer (None: the function could not be invoked)
    response: Any = None  # the function's answer, parsed from JSON


def outcome_of(result: InvocationResult | None, batch: Batch, settings: MappingSettings) -> Outcome:
    """Read an invocation's result: a function error fails the whole batch; with
    ReportBatchItemFailures the response names the failed records."""
    if result is None or result.function_error:
        return Outcome(0, result)
    response = _parse_json(result.payload)
    if not settings.reports_item_failures or batch.final:
        return Outcome(None, result, response)
    return Outcome(lowest_failure(response, batch.records), result, response)


def lowest_failure(response: Any, records: list[Record]) -> int | None:
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


def processing_result(batch: Batch, outcome: Outcome) -> str:
    """The mapping's LastProcessingResult after this invocation."""
    if outcome.failed_from is not None:
        return PROBLEM
    return OK if batch.records or batch.final else NO_RECORDS


def _parse_json(payload: bytes | None) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


# ---------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Checkpoint:
    """The batch is done: the checkpoint moves to ``index``."""

    index: int


@dataclass(frozen=True)
class Retry:
    """Invoke ``batch`` again after ``backoff`` seconds; records before ``done_until`` succeeded."""

    batch: Batch
    backoff: float
    done_until: int | None = None


@dataclass(frozen=True)
class Bisect:
    """Invoke ``batches`` next, in this order, without backing off (a split is not a retry):
    the two halves of a failed batch, or what follows the lowest failed record."""

    batches: tuple[Batch, ...]
    done_until: int | None = None


@dataclass(frozen=True)
class Discard:
    """Give up on ``batch``: it goes to the OnFailure destination with ``condition`` and the
    checkpoint moves past it."""

    batch: Batch
    condition: str
    done_until: int | None = None


@dataclass(frozen=True)
class DropWindow:
    """The closing invocation of a tumbling window failed for good: the window and its state go."""


Decision = Checkpoint | Retry | Bisect | Discard | DropWindow


def after_invoke(
    batch: Batch, outcome: Outcome, settings: MappingSettings, failures: int, now: float, retention: float
) -> Decision:
    """What to do with ``batch`` after an invocation; ``failures``: the lane's consecutive retries so far."""
    if outcome.failed_from is None:
        return Checkpoint(batch.end_index)
    if not batch.final and outcome.failed_from > 0:
        # The checkpoint moved: the records from the failed one on are a new batch, and AWS counts
        # its attempts afresh (recorded: tests/conformance, partial_batch_failure).
        done_until = batch.records[outcome.failed_from].index
        rest = replace(batch, records=batch.records[outcome.failed_from :], retries=0, invokes=0)
        if settings.bisect_batch_on_function_error:
            return Bisect((rest,), done_until)  # split at the returned sequence number
        return Retry(rest, backoff(failures), done_until)
    if not batch.final and settings.bisect_batch_on_function_error and len(batch.records) > 1:
        return Bisect(halves(batch))
    rest = replace(batch, retries=batch.retries + 1)
    limit = settings.maximum_retry_attempts
    exhausted = limit != -1 and rest.retries > limit
    if rest.final:
        if exhausted or window_expired(rest, settings, now, retention):
            return DropWindow()
    elif exhausted:
        return Discard(rest, RETRIES_EXHAUSTED)
    return Retry(rest, backoff(failures))


def halves(batch: Batch) -> tuple[Batch, Batch]:
    """BisectBatchOnFunctionError: the two halves of a failed batch, each yet to be invoked."""
    middle = len(batch.records) // 2
    first, second = batch.records[:middle], batch.records[middle:]
    return (
        replace(batch, records=first, end_index=second[0].index, invokes=0),
        replace(batch, records=second, invokes=0),
    )


def backoff(failures: int) -> float:
    """The wait before the next retry after ``failures`` consecutive ones: 50 ms doubling to 1 s."""
    return min(BACKOFF_FIRST * 2.0**failures, BACKOFF_MAX)


# ---------------------------------------------------------------- record age


def max_record_age(settings: MappingSettings, retention: float) -> float:
    """How old a record may get before it is discarded: MaximumRecordAgeInSeconds, at most the retention."""
    limit = settings.maximum_record_age_in_seconds
    return retention if limit == -1 else min(limit, retention)


def split_expired(
    batch: Batch, settings: MappingSettings, now: float, retention: float
) -> tuple[Batch | None, Batch | None]:
    """(the records at the front too old to deliver, the rest to invoke); either may be None.

    The expired part goes to the OnFailure destination as RecordAgeExceeded; when the whole
    batch expired, its checkpoint is the batch's own.
    """
    horizon = now - max_record_age(settings, retention)
    count = 0
    for record in batch.records:
        if record.arrival >= horizon:
            break
        count += 1
    if count == 0:
        return None, batch
    if count == len(batch.records):
        return batch, None
    expired = replace(batch, records=batch.records[:count], end_index=batch.records[count - 1].index + 1)
    return expired, replace(batch, records=batch.records[count:])


def window_expired(batch: Batch, settings: MappingSettings, now: float, retention: float) -> bool:
    """A failing closing invocation is retried until its window's records would have expired."""
    end = (batch.window_start or 0.0) + settings.tumbling_window_in_seconds
    return now - end > max_record_age(settings, retention)


# ---------------------------------------------------------------- tumbling windows


def window_start_of(arrival: float, size: int) -> float:
    """The start of the ``size``-second tumbling window a record arriving at ``arrival`` belongs to."""
    return arrival - arrival % size


@dataclass
class Window:
    """A lane's tumbling window: whether one is open, when it started, the state its function returned."""

    is_open: bool = False
    start: float | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def open_for(self, batch: Batch, size: int) -> None:
        """The first batch of records of a window opens it, with an empty state."""
        if size and not batch.final and not self.is_open:
            self.start, self.state, self.is_open = batch.window_start, {}, True

    def close(self) -> None:
        self.is_open, self.state = False, {}

    def is_over(self, now: float, size: int) -> bool:
        """Open and past its end: time for the closing invocation."""
        return bool(size) and self.is_open and self.start is not None and now >= self.start + size

    def seconds_left(self, now: float, size: int, at_most: float) -> float:
        """How long a reader may wait for records before the window needs closing."""
        if not size or not self.is_open or self.start is None:
            return at_most
        return max(0.0, min(at_most, self.start + size - now))

    def closing_batch(self, checkpoint: int, early: bool = False) -> Batch:
        """The window's closing invocation (no records, isFinalInvokeForWindow)."""
        return Batch([], end_index=checkpoint, window_start=self.start, final=True, terminated_early=early)

    def after_success(self, batch: Batch, response: Any, size: int, checkpoint: int) -> Batch | None:
        """Keep the state the function returned; a closing invocation closes the window.

        Returns the closing batch to invoke next when the state grew past 1 MB (the window
        then ends early), else None.
        """
        if not size:
            return None
        if batch.final:
            self.close()
            return None
        state = response.get("state") if isinstance(response, dict) else None
        self.state = state if isinstance(state, dict) else {}
        if len(json.dumps(self.state)) > MAX_WINDOW_STATE_BYTES:
            return self.closing_batch(checkpoint, early=True)
        return None
