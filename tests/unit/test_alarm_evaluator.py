"""The alarm evaluator (emulator/alarms/evaluator.py) on recorded datapoints: CloudWatch's rules."""

from __future__ import annotations

import datetime as dt

import pytest

from ddbstream.emulator.alarms.evaluator import ALARM, INSUFFICIENT_DATA, OK, Datapoint, Rule, evaluate

T0 = dt.datetime(2026, 11, 29, 10, 0, 0)
QUERY = dt.datetime(2026, 11, 29, 10, 30, 0)


def points(*values: float | None) -> list[Datapoint]:
    """Five-minute periods from T0, oldest first (None: no data)."""
    return [
        Datapoint(T0 + dt.timedelta(minutes=5 * i), value, 1.0 if value is not None else 0.0)
        for i, value in enumerate(values)
    ]


def rule(n: int = 1, m: int | None = None, treat: str = "missing", op: str = "GreaterThanThreshold") -> Rule:
    return Rule(op, 1.0, n, 300, "Sum", m, treat)


def test_one_breaching_datapoint_from_insufficient_data() -> None:
    result = evaluate(rule(), points(None, None, 5.0), INSUFFICIENT_DATA, QUERY)
    assert result.state == ALARM
    assert (
        result.reason
        == "Threshold Crossed: 1 datapoint [5.0 (29/11/26 10:10:00)] was greater than the threshold (1.0)."
    )
    assert result.reason_data == {
        "version": "1.0",
        "queryDate": "2026-11-29T10:30:00.000+0000",
        "startDate": "2026-11-29T10:10:00.000+0000",
        "statistic": "Sum",
        "period": 300,
        "recentDatapoints": [5.0],
        "threshold": 1.0,
        "evaluatedDatapoints": [{"timestamp": "2026-11-29T10:10:00.000+0000", "sampleCount": 1.0, "value": 5.0}],
    }


def test_ok_to_alarm_names_the_transition() -> None:
    result = evaluate(rule(op="GreaterThanOrEqualToThreshold"), points(None, None, 5.0), OK, QUERY)
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (29/11/26 10:10:00)] was greater than or equal to "
        "the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )


def test_alarm_to_ok() -> None:
    result = evaluate(rule(), points(None, None, 0.0), ALARM, QUERY)
    assert result.state == OK
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (29/11/26 10:10:00)] was not greater than "
        "the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )


@pytest.mark.parametrize(
    ("op", "value", "state"),
    [
        ("GreaterThanThreshold", 1.0, OK),
        ("GreaterThanOrEqualToThreshold", 1.0, ALARM),
        ("LessThanThreshold", 1.0, OK),
        ("LessThanThreshold", 0.5, ALARM),
        ("LessThanOrEqualToThreshold", 1.0, ALARM),
    ],
)
def test_every_comparison_operator(op: str, value: float, state: str) -> None:
    assert evaluate(rule(op=op), points(value), INSUFFICIENT_DATA, QUERY).state == state


def test_band_operators_are_refused() -> None:
    with pytest.raises(ValueError, match="anomaly detection band"):
        evaluate(rule(op="LessThanLowerOrGreaterThanUpperThreshold"), points(1.0), OK, QUERY)


def test_m_of_n() -> None:
    """2 of 3: two breaching datapoints out of three alarm, one does not."""
    two = evaluate(rule(3, 2), points(None, None, 5.0, 0.0, 3.0), OK, QUERY)
    assert two.state == ALARM
    assert two.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [3.0 (29/11/26 10:20:00), 5.0 (29/11/26 10:10:00)] were "
        "greater than the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition)."
    )
    assert evaluate(rule(3, 2), points(None, None, 5.0, 0.0, 0.0), OK, QUERY).state == OK
    back = evaluate(rule(3, 2), points(None, None, 5.0, 0.0, 0.0), ALARM, QUERY)
    assert back.reason.endswith("(minimum 2 datapoints for ALARM -> OK transition).")


@pytest.mark.parametrize(
    ("treat", "state", "reason"),
    [
        (
            "missing",
            INSUFFICIENT_DATA,
            "Insufficient Data: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Missing].",
        ),
        (
            "ignore",
            None,
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Ignore].",
        ),
        (
            "breaching",
            ALARM,
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].",
        ),
        (
            "notBreaching",
            OK,
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [NonBreaching].",
        ),
    ],
)
def test_no_data_at_all(treat: str, state: str | None, reason: str) -> None:
    result = evaluate(rule(2, treat=treat), points(None, None, None, None), OK, QUERY)
    assert (result.state, result.reason) == (state, reason)
    assert "startDate" not in result.reason_data
    assert result.reason_data["evaluatedDatapoints"] == [
        {"timestamp": "2026-11-29T10:15:00.000+0000"},
        {"timestamp": "2026-11-29T10:10:00.000+0000"},
    ]


@pytest.mark.parametrize(
    ("treat", "state"),
    [("missing", OK), ("ignore", OK), ("breaching", ALARM), ("notBreaching", OK)],
)
def test_some_periods_missing(treat: str, state: str) -> None:
    """2 of 3 with "0 - -": the two missing periods alarm only when treated as breaching."""
    result = evaluate(rule(3, 2, treat=treat), points(None, None, 0.0, None, None), OK, QUERY)
    assert result.state == state


def test_missing_looks_further_back() -> None:
    """missing/ignore evaluate the most recent datapoints present, beyond the last N periods."""
    data = points(5.0, None, None)  # one breaching datapoint, two periods ago
    assert evaluate(rule(1, treat="missing"), data, OK, QUERY).state == ALARM
    assert evaluate(rule(1, treat="notBreaching"), data, ALARM, QUERY).state == OK


def test_premature_alarm() -> None:
    """2 of 3, "- - X - -"... the oldest breaching datapoint is M periods old and the rest are missing."""
    data = points(None, None, None, 5.0, None)
    assert evaluate(rule(3, 2, treat="missing"), data, OK, QUERY).state == ALARM
    assert evaluate(rule(3, 2, treat="ignore"), data, OK, QUERY).state == OK
    assert evaluate(rule(3, 2, treat="missing"), points(None, None, None, None, 5.0), OK, QUERY).state == OK


def test_extended_statistic_and_unit_in_reason_data() -> None:
    result = evaluate(
        Rule("GreaterThanThreshold", 100.0, 1, 60, "p90", None, "missing", "Milliseconds"), points(250.0), OK, QUERY
    )
    assert result.reason_data["extendedStatistic"] == "p90"
    assert result.reason_data["unit"] == "Milliseconds"
    assert "statistic" not in result.reason_data
