"""The alarm evaluator's thread: every (scaled) minute, each metric alarm of moto's CloudWatch is
evaluated against the metrics kept there, and moved to the state the rules give.

Periods are aligned as CloudWatch aligns them (multiples of the period since the epoch); the
last one is the current, still open, period. A period lasts ``period x DDBSTREAM_CLOCK_SCALE``
seconds of the daemon's clock. Alarms on metric math, composite alarms, anomaly detection
bands and statistics other than the five and percentiles are not evaluated (they keep their
state), and the daemon logs it once per alarm.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from ddbstream.emulator.alarms.evaluator import COMPARISONS, TREAT_MISSING, Datapoint, Rule, evaluate
from ddbstream.emulator.alarms.state import journaled_change
from ddbstream.emulator.metrics.clock import RESOLUTION_SECONDS, scaled
from ddbstream.emulator.metrics.query import MetricId, supported, windows
from ddbstream.emulator.metrics.recorder import utc
from ddbstream.emulator.periodic import Periodic

log = logging.getLogger("ddbstream.emulator.alarms")


def rule_of(alarm: Any) -> Rule | None:
    """The evaluator's rule for a moto alarm; None when the daemon cannot evaluate it."""
    statistic = alarm.extended_statistic or alarm.statistic
    if alarm.rule is not None or alarm.metric_data_queries or not alarm.metric_name:
        return None
    if alarm.comparison_operator not in COMPARISONS or not statistic or not supported(statistic):
        return None
    treat = alarm.treat_missing_data if alarm.treat_missing_data in TREAT_MISSING else "missing"
    return Rule(
        comparison=alarm.comparison_operator,
        threshold=float(alarm.threshold),
        evaluation_periods=int(alarm.evaluation_periods),
        period=int(alarm.period),
        statistic=statistic,
        datapoints_to_alarm=int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
        treat_missing=treat,
        unit=alarm.unit,
    )


class AlarmScheduler(Periodic):
    """Evaluates every metric alarm once a (scaled) minute, in a thread."""

    def __init__(self, scale: float):
        super().__init__("ddbstream-alarms", scaled(RESOLUTION_SECONDS, scale), self.evaluate_all, log)
        self.scale = scale
        self._skipped: set[str] = set()

    def evaluate_all(self, now: float | None = None) -> None:
        """Evaluate every alarm of every account and region once (tests call it directly)."""
        from moto.cloudwatch.models import cloudwatch_backends

        at = time.time() if now is None else now
        for account, regions in list(cloudwatch_backends.items()):
            for region, backend in list(regions.items()):
                for alarm in list(backend.alarms.values()):
                    self._evaluate(backend, account, region, alarm, at)

    def _evaluate(self, backend: Any, account: str, region: str, alarm: Any, now: float) -> None:
        rule = rule_of(alarm)
        if rule is None:
            if alarm.alarm_arn not in self._skipped:
                self._skipped.add(alarm.alarm_arn)
                log.info("alarm %s is not evaluated locally (metric math, composite or band)", alarm.name)
            return
        period = scaled(rule.period, self.scale)
        end = (math.floor(now / period) + 1) * period
        dimensions = tuple(sorted((d.name, d.value) for d in alarm.dimensions))
        metric = MetricId(alarm.namespace, alarm.metric_name, dimensions, alarm.unit)
        found = windows(backend, metric, rule.statistic, period, end, rule.range_length)
        points = [Datapoint(w.start, w.value, w.sample_count) for w in found]
        result = evaluate(rule, points, alarm.state_value, utc(now))
        if result.state is None or result.state == alarm.state_value:
            return
        log.info("alarm %s: %s -> %s (%s)", alarm.name, alarm.state_value, result.state, result.reason)
        journaled_change(account, region, alarm, result.state, result.reason, json.dumps(result.reason_data))
