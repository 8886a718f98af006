"""Metrics the daemon publishes, aggregated per (scaled) minute straight into moto's CloudWatch.

AWS services publish one datapoint per metric and minute (a statistic set: sum, minimum,
maximum, sample count). Here each sample is added to the current minute's datum, which sits
in moto's ``metric_data`` list from its first sample on, so GetMetricStatistics,
GetMetricData and ListMetrics answer with it while the minute is still open. The datum also
keeps the minute's values for percentiles (p90...): all of them up to ``MAX_SAMPLES``, then a
uniform sample of that many (percentiles are then estimates).

Memory stays bounded: datums older than RETENTION_SECONDS leave moto's list (the user's own
PutMetricData datapoints too), see ``prune``. Metrics are not journaled: after a restart the
daemon starts with none (alarms keep their state, emulator/alarms/).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import time
from typing import Any

from moto.cloudwatch.models import MetricAggregatedDatum, cloudwatch_backends

from ddbstream.emulator.metrics.clock import RESOLUTION_SECONDS, RETENTION_SECONDS, scaled

MAX_SAMPLES = 100  # values kept per datum for percentiles: all of them, or a uniform sample
Where = tuple[str, str]  # (account, region)
_sampling = random.Random()  # not moto's random source, which the store seeds per effect


class MinuteDatum(MetricAggregatedDatum):
    """One metric's statistic set for one minute, updated in place as samples arrive."""

    def __init__(self, namespace: str, name: str, dimensions: list[dict[str, str]], at: dt.datetime, unit: str):
        super().__init__(namespace, name, math.inf, -math.inf, 0.0, 0.0, dimensions, at, unit)
        self.samples: list[float] = []

    def add(self, value: float) -> None:
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self.sample_count += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(value)
        else:  # reservoir sampling: every value so far stays in with the same chance
            slot = _sampling.randrange(int(self.sample_count))
            if slot < MAX_SAMPLES:
                self.samples[slot] = value


def utc(seconds: float) -> dt.datetime:
    """A naive UTC datetime, as moto's CloudWatch keeps timestamps."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


class Recorder:
    """Adds samples to the current minute's datum of each metric (thread-safe)."""

    def __init__(self, account: str, region: str, scale: float | None = None):
        self.account = account
        self.region = region
        self.scale = scale
        self.resolution = scaled(RESOLUTION_SECONDS, scale)
        self.retention = RETENTION_SECONDS  # wall-clock time: `status` and `metrics` read real minutes
        self._lock = threading.Lock()
        self._open: dict[tuple, MinuteDatum] = {}
        self._last_minute: tuple[float, dt.datetime] = (math.nan, utc(0))

    def add(
        self,
        namespace: str,
        name: str,
        value: float,
        unit: str,
        dimensions: dict[str, str],
        *,
        where: Where | None = None,
        at: float | None = None,
    ) -> None:
        """One sample of a metric now (or at ``at``, epoch seconds), in ``where``'s (account, region)."""
        now = time.time() if at is None else at
        minute = self._minute_of(math.floor(now / self.resolution) * self.resolution)
        where = where or (self.account, self.region)
        key = (*where, namespace, name, unit, tuple(sorted(dimensions.items())))
        with self._lock:
            datum = self._open.get(key)
            if datum is None or datum.timestamp != minute:
                pairs = [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]
                datum = MinuteDatum(namespace, name, pairs, minute, unit)
                self._open[key] = datum
                cloudwatch_backends[where[0]][where[1]].metric_data.append(datum)
            datum.add(float(value))

    def _minute_of(self, start: float) -> dt.datetime:
        """utc(start), made once a minute rather than once a sample (a write records one)."""
        last = self._last_minute
        if last[0] != start:
            last = self._last_minute = (start, utc(start))
        return last[1]

    def prune(self, now: float | None = None) -> None:
        """Drop datums older than the retention from moto's lists, and closed minutes from ours."""
        cutoff = utc((time.time() if now is None else now) - self.retention)
        with self._lock:
            self._open = {key: datum for key, datum in self._open.items() if datum.timestamp >= cutoff}
        for regions in list(cloudwatch_backends.values()):
            for backend in list(regions.values()):
                _drop_older(backend.metric_data, cutoff)


def _drop_older(data: list[Any], cutoff: dt.datetime) -> None:
    """Remove the leading datums older than ``cutoff`` in place (the list is in arrival order;
    PutMetricData requests may append to it meanwhile, so it is never rebuilt)."""
    stale = 0
    for datum in data:
        if datum.timestamp >= cutoff:
            break
        stale += 1
    if stale:
        del data[:stale]
