"""A metric's datapoints over consecutive periods, read from moto's CloudWatch backend.

moto's own GetMetricStatistics knows neither percentiles nor windows that end now; alarms
need both. A datapoint is a statistic (Sum, Average, Minimum, Maximum, SampleCount) or an
extended statistic (``p90``, ``p99.9``: nearest rank over the values kept, see recorder.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

from ddbstream.emulator.metrics.recorder import MinuteDatum, utc

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,2})?|100)$")


@dataclass(frozen=True)
class MetricId:
    """What names one metric: namespace, name, every dimension; and an optional unit filter."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str | None = None


@dataclass(frozen=True)
class Window:
    """One period's datapoint: its start, value (None: no data) and sample count."""

    start: dt.datetime
    value: float | None
    sample_count: float


def supported(statistic: str) -> bool:
    return statistic in STATISTICS or bool(PERCENTILE.match(statistic))


def windows(backend: Any, metric: MetricId, statistic: str, period: float, end: float, count: int) -> list[Window]:
    """``count`` periods of ``period`` seconds ending at ``end`` (epoch seconds), oldest first."""
    first = end - count * period
    datums = [d for d in _matching(backend.metric_data, metric) if d.timestamp >= utc(first)]
    result = []
    for i in range(count):
        start, stop = utc(first + i * period), utc(first + (i + 1) * period)
        inside = [d for d in datums if start <= d.timestamp < stop]
        value = statistic_of(inside, statistic) if inside else None
        result.append(Window(start, value, _sample_count(inside) if value is not None else 0.0))
    return result


def statistic_of(datums: list[Any], statistic: str) -> float | None:
    """The statistic over raw values (MetricDatum) and statistic sets (MetricAggregatedDatum)."""
    count = _sample_count(datums)
    if statistic == "SampleCount":
        return count
    if statistic in ("Sum", "Average"):
        total = sum(d.value if isinstance(d, MetricDatum) else d.sum for d in datums)
        return total if statistic == "Sum" else (total / count if count else None)
    if statistic == "Minimum":
        return min(d.value if isinstance(d, MetricDatum) else d.min for d in datums)
    if statistic == "Maximum":
        return max(d.value if isinstance(d, MetricDatum) else d.max for d in datums)
    match = PERCENTILE.match(statistic)
    return percentile(list(_values(datums)), float(match.group(1))) if match else None


def percentile(values: list[float], rank: float) -> float | None:
    """Nearest-rank percentile (``rank`` in 0..100); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, math.ceil(rank / 100 * len(ordered)) - 1)
    return ordered[min(index, len(ordered) - 1)]


def _matching(data: list[Any], metric: MetricId) -> Iterable[Any]:
    wanted = set(metric.dimensions)
    for datum in list(data):
        if datum.namespace != metric.namespace or datum.name != metric.name:
            continue
        if metric.unit and datum.unit != metric.unit:
            continue
        if {(d.name, d.value) for d in datum.dimensions} == wanted:
            yield datum


def _sample_count(datums: list[Any]) -> float:
    return float(sum(1 if isinstance(d, MetricDatum) else d.sample_count for d in datums))


def _values(datums: list[Any]) -> Iterable[float]:
    for datum in datums:
        if isinstance(datum, MetricDatum):
            yield datum.value
        elif isinstance(datum, MinuteDatum):
            yield from datum.samples
        elif isinstance(datum, MetricAggregatedDatum):
            continue  # a statistic set without its values has no percentile
