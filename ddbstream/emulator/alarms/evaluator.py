"""CloudWatch's metric alarm rules, pure: datapoints in; state, reason and reason data out.

The rules (Amazon CloudWatch User Guide, "Evaluating an alarm" and "Configuring how alarms
treat missing data"):

- the last EvaluationPeriods (N) periods are evaluated; the alarm is in ALARM when at least
  DatapointsToAlarm (M) of them breach the threshold, else OK;
- TreatMissingData: ``breaching`` / ``notBreaching`` count a missing period as such;
  ``missing`` / ``ignore`` evaluate the N most recent datapoints present in the evaluation
  range (which reaches a few periods further back); with no datapoint at all, ``missing``
  goes to INSUFFICIENT_DATA, ``ignore`` keeps the state, ``breaching`` goes to ALARM and
  ``notBreaching`` to OK;
- a premature ALARM: when the oldest breaching datapoint of the N periods is at least M
  periods old and every more recent one is breaching or missing, ``missing`` goes to ALARM
  even with fewer than M datapoints.

The state reason and the StateReasonData JSON are written as CloudWatch writes them.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
TREAT_MISSING = ("missing", "ignore", "breaching", "notBreaching")
EXTRA_PERIODS = 2  # how much further back than N the evaluation range reaches

COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}


@dataclass(frozen=True)
class Rule:
    """What an alarm compares, as PutMetricAlarm sets it."""

    comparison: str
    threshold: float
    evaluation_periods: int
    period: int  # seconds, as configured (the daemon's clock may be scaled)
    statistic: str  # "Sum"... or an extended statistic ("p90")
    datapoints_to_alarm: int | None = None
    treat_missing: str = "missing"
    unit: str | None = None

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def range_length(self) -> int:
        """How many periods to fetch: the N evaluated and the look-back."""
        return self.evaluation_periods + EXTRA_PERIODS


@dataclass(frozen=True)
class Datapoint:
    start: dt.datetime  # the period's start, UTC
    value: float | None  # None: no data in the period
    sample_count: float = 0.0


@dataclass(frozen=True)
class Evaluation:
    state: str | None  # None: keep the current state (TreatMissingData ignore)
    reason: str
    reason_data: dict[str, Any]


def evaluate(rule: Rule, points: Sequence[Datapoint], current: str, query_date: dt.datetime) -> Evaluation:
    """The state ``rule`` puts the alarm in given ``points`` (the evaluation range, oldest first)."""
    if rule.comparison not in COMPARISONS:
        raise ValueError(f"comparison operator {rule.comparison} needs an anomaly detection band")
    recent = list(points[-rule.evaluation_periods :])
    filled = rule.treat_missing in ("breaching", "notBreaching")  # missing periods count as such
    present = [p for p in (recent if filled else points) if p.value is not None]
    if not present:
        return _all_missing(rule, recent, current, query_date)
    evaluated = recent if filled else present[-rule.evaluation_periods :]
    flags = [_breaches(rule, p) for p in evaluated]
    if flags.count(True) >= rule.m or (rule.treat_missing == "missing" and _premature(rule, recent)):
        state = ALARM
    else:
        state = OK
    reason = _crossed_reason(rule, evaluated, flags, current, state)
    return Evaluation(state, reason, reason_data(rule, evaluated, query_date))


def _breaches(rule: Rule, point: Datapoint) -> bool:
    if point.value is None:
        return rule.treat_missing == "breaching"
    compare = COMPARISONS[rule.comparison][0]
    return compare(point.value, rule.threshold)


def _premature(rule: Rule, recent: list[Datapoint]) -> bool:
    """The oldest breaching datapoint is M or more periods old; every later one breaches or is missing."""
    for index, point in enumerate(recent):
        if point.value is not None and _breaches(rule, point):
            later = recent[index + 1 :]
            old_enough = len(recent) - index >= rule.m
            return old_enough and all(p.value is None or _breaches(rule, p) for p in later)
        if point.value is not None:
            return False
    return False


def _all_missing(rule: Rule, recent: list[Datapoint], current: str, query_date: dt.datetime) -> Evaluation:
    n = rule.evaluation_periods
    how = {"missing": "Missing", "ignore": "Ignore", "breaching": "Breaching", "notBreaching": "NonBreaching"}
    details = (
        f"no datapoints were received for {n} period{_s(n)} and {n} missing datapoint{'s were' if n > 1 else ' was'}"
        f" treated as [{how.get(rule.treat_missing, 'Missing')}]."
    )
    data = reason_data(rule, recent, query_date, start_date=False)
    if rule.treat_missing == "breaching":
        return Evaluation(ALARM, f"Threshold Crossed: {details}", data)
    if rule.treat_missing == "notBreaching":
        return Evaluation(OK, f"Threshold Crossed: {details}", data)
    if rule.treat_missing == "ignore":
        return Evaluation(None, f"Threshold Crossed: {details}", data)
    return Evaluation(INSUFFICIENT_DATA, f"Insufficient Data: {details}", data)


def _crossed_reason(rule: Rule, evaluated: list[Datapoint], flags: list[bool], current: str, state: str) -> str:
    """'Threshold Crossed: 1 out of the last 1 datapoints [5.0 (29/11/26 10:00:00)] was ...'."""
    counted = [p for p, flag in zip(evaluated, flags, strict=True) if flag == (state == ALARM)]
    shown = [p for p in reversed(counted) if p.value is not None]
    listed = f" [{', '.join(f'{_number(p.value)} ({p.start:%d/%m/%y %H:%M:%S})' for p in shown)}]" if shown else ""
    k = len(counted)
    verb = "was" if k == 1 else "were"
    phrase = COMPARISONS[rule.comparison][1]
    crossed = phrase if state == ALARM else f"not {phrase}"
    threshold = _number(rule.threshold)
    if current not in (OK, ALARM) or current == state:
        return f"Threshold Crossed: {k} datapoint{_s(k)}{listed} {verb} {crossed} the threshold ({threshold})."
    needed = rule.m if state == ALARM else rule.evaluation_periods - rule.m + 1
    return (
        f"Threshold Crossed: {k} out of the last {len(evaluated)} datapoints{listed} {verb} {crossed} the threshold"
        f" ({threshold}) (minimum {needed} datapoint{_s(needed)} for {current} -> {state} transition)."
    )


def reason_data(
    rule: Rule, evaluated: Sequence[Datapoint], query_date: dt.datetime, start_date: bool = True
) -> dict[str, Any]:
    """StateReasonData, with CloudWatch's keys in its order."""
    data: dict[str, Any] = {"version": "1.0", "queryDate": aws_date(query_date)}
    if start_date and evaluated:
        data["startDate"] = aws_date(evaluated[0].start)
    if rule.unit:
        data["unit"] = rule.unit
    data["extendedStatistic" if rule.statistic.startswith("p") else "statistic"] = rule.statistic
    data["period"] = rule.period
    data["recentDatapoints"] = [p.value for p in evaluated if p.value is not None]
    data["threshold"] = float(rule.threshold)
    data["evaluatedDatapoints"] = [_evaluated(p) for p in reversed(evaluated)]
    return data


def _evaluated(point: Datapoint) -> dict[str, Any]:
    if point.value is None:
        return {"timestamp": aws_date(point.start)}
    return {"timestamp": aws_date(point.start), "sampleCount": float(point.sample_count), "value": point.value}


def aws_date(moment: dt.datetime) -> str:
    """2026-11-29T10:00:00.000+0000, CloudWatch's format in StateReasonData."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def _number(value: float | None) -> str:
    return repr(float(value or 0.0))


def _s(count: int) -> str:
    return "" if count == 1 else "s"
