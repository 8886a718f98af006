"""The event source mapping's failure policy and tumbling-window rules, decision by decision.

Pure functions of their inputs (ddbstream/emulator/esm/policy.py): no daemon, no threads, no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest

from ddbstream.emulator.esm import policy
from ddbstream.emulator.esm.model import REPORT_BATCH_ITEM_FAILURES, Batch, MappingSettings
from ddbstream.emulator.esm.policy import (
    RECORD_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    Bisect,
    Checkpoint,
    Discard,
    DropWindow,
    Outcome,
    Retry,
    Window,
)
from ddbstream.emulator.streams import Record

NOW = 1_000_000.0
RETENTION = 24 * 3600.0
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"


def records(count: int, arrival: float = NOW - 10, first_index: int = 10) -> list[Record]:
    """``count`` records at stream indexes 10, 12, 14... (the gaps: other lanes' or filtered-out records)."""
    return [
        Record(seq=100 + n, arrival=arrival, partition_key=f"k{n}", lambda_json=b"{}", index=first_index + 2 * n)
        for n in range(count)
    ]


def batch(count: int = 4, **fields) -> Batch:
    recs = fields.pop("records", None) or records(count)
    return Batch(recs, end_index=fields.pop("end_index", recs[-1].index + 5 if recs else 30), **fields)


def settings(**fields) -> MappingSettings:
    return MappingSettings(function_arn=FUNCTION, **fields)


@dataclass
class Result:
    payload: bytes
    function_error: str | None = None


def answer(body) -> Result:
    return Result(json.dumps(body).encode())


def seq(index: int) -> str:
    return str(100 + index)


# ---------------------------------------------------------------- what an invocation meant


@pytest.mark.parametrize(
    ("result", "reports", "failed_from"),
    [
        (None, False, 0),  # Lambda could not invoke the function at all
        (Result(b'{"errorMessage": "boom"}', "Unhandled"), False, 0),
        (Result(b'{"errorMessage": "boom"}', "Unhandled"), True, 0),
        (answer(None), False, None),
        (answer({"batchItemFailures": [{"itemIdentifier": seq(1)}]}), False, None),  # not asked to report
        (Result(b"not json"), True, None),
        (answer(None), True, None),
        (answer("a string"), True, None),
        (answer({}), True, None),
        (answer({"batchItemFailures": None}), True, None),
        (answer({"batchItemFailures": []}), True, None),
        (answer({"batchItemFailures": "all"}), True, 0),
        (answer({"batchItemFailures": [{"itemIdentifier": seq(2)}]}), True, 2),
        (answer({"batchItemFailures": [{"itemIdentifier": seq(3)}, {"itemIdentifier": seq(1)}]}), True, 1),
        (answer({"batchItemFailures": [{"itemIdentifier": "999"}]}), True, 0),  # unknown identifier
        (answer({"batchItemFailures": [{"itemIdentifier": ""}]}), True, 0),
        (answer({"batchItemFailures": [{"itemIdentifier": None}]}), True, 0),
        (answer({"batchItemFailures": [{"itemIdentifer": seq(2)}]}), True, 0),  # misspelled key
        (answer({"batchItemFailures": [seq(2)]}), True, 0),
    ],
)
def test_outcome_of_an_invocation(result, reports, failed_from):
    types = [REPORT_BATCH_ITEM_FAILURES] if reports else []
    outcome = policy.outcome_of(result, batch(4), settings(function_response_types=types))
    assert outcome.failed_from == failed_from
    assert outcome.result is result


def test_the_closing_invocation_of_a_window_never_fails_by_its_response():
    closing = Batch([], end_index=30, window_start=NOW - 60, final=True)
    reports = settings(function_response_types=[REPORT_BATCH_ITEM_FAILURES], tumbling_window_in_seconds=60)
    outcome = policy.outcome_of(answer({"batchItemFailures": "all", "state": {"n": 1}}), closing, reports)
    assert outcome.failed_from is None and outcome.response["state"] == {"n": 1}


@pytest.mark.parametrize(
    ("the_batch", "failed_from", "expected"),
    [
        (batch(2), None, policy.OK),
        (Batch([], end_index=30, final=True), None, policy.OK),
        (Batch([], end_index=30), None, policy.NO_RECORDS),
        (batch(2), 0, policy.PROBLEM),
        (batch(2), 1, policy.PROBLEM),
    ],
)
def test_last_processing_result(the_batch, failed_from, expected):
    assert policy.processing_result(the_batch, Outcome(failed_from)) == expected


# ---------------------------------------------------------------- decisions after an invocation


def decide(the_batch: Batch, failed_from: int | None, failures: int = 0, now: float = NOW, **setting_fields):
    return policy.after_invoke(the_batch, Outcome(failed_from), settings(**setting_fields), failures, now, RETENTION)


def test_success_moves_the_checkpoint_to_the_end_of_the_batch():
    done = batch(3, end_index=42)
    assert decide(done, None) == Checkpoint(42)


@pytest.mark.parametrize(
    ("retries", "limit", "decision"),
    [
        (0, -1, "retry"),
        (5000, -1, "retry"),  # -1: until the record expires
        (0, 0, "discard"),
        (0, 2, "retry"),
        (1, 2, "retry"),
        (2, 2, "discard"),  # the first try and two retries are done
    ],
)
def test_maximum_retry_attempts(retries, limit, decision):
    failed = batch(2, retries=retries)
    result = decide(failed, 0, maximum_retry_attempts=limit)
    if decision == "retry":
        assert result == Retry(replace(failed, retries=retries + 1), backoff=policy.BACKOFF_FIRST)
    else:
        assert result == Discard(replace(failed, retries=retries + 1), RETRIES_EXHAUSTED)


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0.05), (1, 0.1), (2, 0.2), (4, 0.8), (5, 1.0), (40, 1.0)])
def test_retries_back_off_from_50_ms_doubling_to_1_s(failures, seconds):
    assert policy.backoff(failures) == pytest.approx(seconds)
    decision = decide(batch(1), 0, failures=failures)
    assert isinstance(decision, Retry) and decision.backoff == pytest.approx(seconds)


def test_a_partial_failure_completes_the_records_before_the_lowest_failed_one():
    failed = batch(4)
    decision = decide(failed, 2, maximum_retry_attempts=3)
    rest = replace(failed, records=failed.records[2:], retries=0, invokes=0)  # a new batch: AWS counts afresh
    assert decision == Retry(rest, backoff=0.05, done_until=failed.records[2].index)


def test_a_partial_failure_with_bisect_splits_at_the_failed_record_without_a_retry():
    failed = batch(4, retries=1, invokes=2)
    decision = decide(failed, 1, bisect_batch_on_function_error=True, maximum_retry_attempts=1)
    rest = replace(failed, records=failed.records[1:], retries=0, invokes=0)
    assert decision == Bisect((rest,), done_until=failed.records[1].index)


def test_a_partial_failure_past_the_retries_starts_the_rest_afresh_and_discards_it_when_it_fails_whole():
    failed = batch(4, retries=2)
    decision = decide(failed, 3, maximum_retry_attempts=2)
    rest = replace(failed, records=failed.records[3:], retries=0, invokes=0)
    assert decision == Retry(rest, backoff=0.05, done_until=failed.records[3].index)
    exhausted = replace(rest, retries=2)
    assert decide(exhausted, 0, maximum_retry_attempts=2) == Discard(
        replace(exhausted, retries=3), RETRIES_EXHAUSTED, None
    )
    assert decision.batch.end_index == failed.end_index


def test_bisect_halves_a_failed_batch_and_resets_its_invoke_count():
    failed = batch(5, retries=1, invokes=3, end_index=99)
    decision = decide(failed, 0, bisect_batch_on_function_error=True, maximum_retry_attempts=0)
    first, second = failed.records[:2], failed.records[2:]
    assert decision == Bisect(
        (
            replace(failed, records=first, end_index=second[0].index, invokes=0),
            replace(failed, records=second, end_index=99, invokes=0),
        )
    )


def test_bisect_of_a_single_record_is_a_retry():
    failed = batch(1)
    decision = decide(failed, 0, bisect_batch_on_function_error=True, maximum_retry_attempts=1)
    assert decision == Retry(replace(failed, retries=1), backoff=0.05)
    assert decide(replace(failed, retries=1), 0, bisect_batch_on_function_error=True, maximum_retry_attempts=1) == (
        Discard(replace(failed, retries=2), RETRIES_EXHAUSTED)
    )


@pytest.mark.parametrize(
    ("retries", "limit", "window_ended_ago", "max_age", "decision"),
    [
        (0, -1, 10, -1, "retry"),
        (0, 1, 10, -1, "retry"),
        (1, 1, 10, -1, "drop"),  # retries exhausted
        (0, -1, 120, 60, "drop"),  # its records would have expired
        (0, -1, RETENTION + 1, -1, "drop"),  # past the stream's retention
    ],
)
def test_a_failing_closing_invocation_of_a_window(retries, limit, window_ended_ago, max_age, decision):
    closing = Batch([], end_index=30, window_start=NOW - window_ended_ago - 60, final=True, retries=retries)
    result = decide(
        closing,
        0,
        tumbling_window_in_seconds=60,
        maximum_retry_attempts=limit,
        maximum_record_age_in_seconds=max_age,
    )
    if decision == "retry":
        assert result == Retry(replace(closing, retries=retries + 1), backoff=0.05)
    else:
        assert result == DropWindow()


# ---------------------------------------------------------------- record age


@pytest.mark.parametrize(
    ("max_age", "retention", "expected"),
    [(-1, RETENTION, RETENTION), (60, RETENTION, 60), (604_800, RETENTION, RETENTION), (60, 30.0, 30.0)],
)
def test_maximum_record_age_is_bounded_by_the_retention(max_age, retention, expected):
    assert policy.max_record_age(settings(maximum_record_age_in_seconds=max_age), retention) == expected


def test_no_expired_record_leaves_the_batch_as_it_is():
    fresh = batch(3)
    assert policy.split_expired(fresh, settings(maximum_record_age_in_seconds=60), NOW, RETENTION) == (None, fresh)


def test_expired_records_at_the_front_are_split_off():
    old, young = records(2, arrival=NOW - 120), records(2, arrival=NOW - 5, first_index=20)
    mixed = batch(records=old + young, invokes=2)
    expired, rest = policy.split_expired(mixed, settings(maximum_record_age_in_seconds=60), NOW, RETENTION)
    assert expired == replace(mixed, records=old, end_index=old[-1].index + 1)
    assert rest == replace(mixed, records=young)
    assert expired.invokes == 2  # the OnFailure record's approximateInvokeCount


def test_a_batch_entirely_expired_is_discarded_whole():
    stale = batch(records=records(3, arrival=NOW - RETENTION - 1))
    assert policy.split_expired(stale, settings(), NOW, RETENTION) == (stale, None)


def test_the_discard_condition_names_are_aws_ones():
    assert (RETRIES_EXHAUSTED, RECORD_AGE_EXCEEDED) == ("RetryAttemptsExhausted", "RecordAgeExceeded")


# ---------------------------------------------------------------- tumbling windows


@pytest.mark.parametrize(
    ("arrival", "size", "start"), [(1000.0, 60, 960.0), (1020.5, 60, 1020.0), (1019.9, 60, 960.0), (7.0, 1, 7.0)]
)
def test_window_start_of_a_record(arrival, size, start):
    assert policy.window_start_of(arrival, size) == start


def test_the_first_batch_of_records_opens_the_window_with_an_empty_state():
    window = Window(state={"left": "over"})
    window.open_for(batch(2, window_start=960.0), size=60)
    assert (window.is_open, window.start, window.state) == (True, 960.0, {})
    window.state = {"n": 2}
    window.open_for(batch(2, window_start=1020.0), size=60)  # already open: unchanged
    assert (window.start, window.state) == (960.0, {"n": 2})


@pytest.mark.parametrize(
    "the_batch", [Batch([], end_index=30, window_start=960.0, final=True), batch(2, window_start=960.0)]
)
def test_no_window_opens_for_a_closing_batch_or_without_windows(the_batch):
    window = Window()
    window.open_for(the_batch, size=0 if the_batch.records else 60)
    assert not window.is_open


@pytest.mark.parametrize(
    ("response", "state"),
    [({"state": {"n": 3}}, {"n": 3}), ({"state": "text"}, {}), ({}, {}), (None, {}), ([1], {})],
)
def test_the_window_keeps_the_state_the_function_returned(response, state):
    window = Window(is_open=True, start=960.0, state={"n": 1})
    assert window.after_success(batch(2), response, size=60, checkpoint=30) is None
    assert window.is_open and window.state == state


def test_a_successful_closing_invocation_closes_the_window():
    window = Window(is_open=True, start=960.0, state={"n": 1})
    closing = window.closing_batch(checkpoint=30)
    assert closing == Batch([], end_index=30, window_start=960.0, final=True, terminated_early=False)
    assert window.after_success(closing, {"state": {"n": 9}}, size=60, checkpoint=30) is None
    assert (window.is_open, window.state) == (False, {})


def test_a_state_over_1_mb_ends_the_window_early(monkeypatch):
    monkeypatch.setattr(policy, "MAX_WINDOW_STATE_BYTES", 50)
    window = Window(is_open=True, start=960.0)
    closing = window.after_success(batch(1), {"state": {"blob": "x" * 100}}, size=60, checkpoint=31)
    assert closing == Batch([], end_index=31, window_start=960.0, final=True, terminated_early=True)
    assert window.state == {"blob": "x" * 100}  # handed to the closing invocation


@pytest.mark.parametrize(
    ("window", "now", "over", "left"),
    [
        (Window(), 2000.0, False, 1.0),
        (Window(is_open=True, start=960.0), 1000.0, False, 1.0),
        (Window(is_open=True, start=960.0), 1019.5, False, 0.5),
        (Window(is_open=True, start=960.0), 1020.0, True, 0.0),
        (Window(is_open=True, start=960.0), 1100.0, True, 0.0),
    ],
)
def test_when_an_open_window_needs_closing(window, now, over, left):
    assert window.is_over(now, size=60) is over
    assert window.seconds_left(now, size=60, at_most=1.0) == pytest.approx(left)
    assert window.is_over(now, size=0) is False  # windows turned off
