"""The daemon's metric recorder and queries (emulator/metrics/) on moto's CloudWatch backend."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends

from ddbstream.emulator.metrics import clock
from ddbstream.emulator.metrics.query import MetricId, percentile, windows
from ddbstream.emulator.metrics.recorder import MAX_SAMPLES, Recorder

ACCOUNT, REGION = "123456789012", "us-east-1"
T0 = 1_795_000_020.0  # a minute boundary
ON = {"FunctionName": "f"}


@pytest.fixture
def recorder():
    with mock_aws():
        yield Recorder(ACCOUNT, REGION, scale=1.0)


def test_samples_aggregate_per_minute_and_get_metric_statistics_reads_them(recorder: Recorder) -> None:
    for at, value in [(T0, 100.0), (T0 + 10, 300.0), (T0 + 70, 50.0)]:
        recorder.add("AWS/Lambda", "Duration", value, "Milliseconds", ON, at=at)
    backend = cloudwatch_backends[ACCOUNT][REGION]
    assert len(backend.metric_data) == 2  # one statistic set per minute
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    start = dt.datetime.fromtimestamp(T0, dt.UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=[{"Name": "FunctionName", "Value": "f"}],
        StartTime=start,
        EndTime=start + dt.timedelta(minutes=2),
        Period=60,
        Statistics=["Maximum", "SampleCount", "Sum"],
    )["Datapoints"]
    first, second = sorted(points, key=lambda p: p["Timestamp"])
    assert (first["Maximum"], first["SampleCount"], first["Sum"], first["Unit"]) == (300.0, 2.0, 400.0, "Milliseconds")
    assert second["Sum"] == 50.0


def test_windows_with_statistics_and_percentiles(recorder: Recorder) -> None:
    for value in range(1, 11):
        recorder.add("AWS/Lambda", "Duration", float(value), "Milliseconds", ON, at=T0 + value)
    backend = cloudwatch_backends[ACCOUNT][REGION]
    metric = MetricId("AWS/Lambda", "Duration", (("FunctionName", "f"),))
    [p90] = windows(backend, metric, "p90", 60, T0 + 60, 1)
    assert (p90.value, p90.sample_count) == (9.0, 10.0)
    assert windows(backend, metric, "Average", 60, T0 + 60, 1)[0].value == 5.5
    two = windows(backend, metric, "Sum", 60, T0 + 120, 2)
    assert [w.value for w in two] == [55.0, None]
    other = MetricId("AWS/Lambda", "Duration", (("FunctionName", "g"),))
    assert windows(backend, other, "Sum", 60, T0 + 60, 1)[0].value is None


def test_percentile_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5.0], 99.9) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0


def test_retention_bounds_memory(recorder: Recorder) -> None:
    recorder.add("AWS/SQS", "NumberOfMessagesSent", 1, "Count", {"QueueName": "q"}, at=T0)
    recorder.add("AWS/SQS", "NumberOfMessagesSent", 1, "Count", {"QueueName": "q"}, at=T0 + 4 * 3600)
    recorder.prune(now=T0 + 4 * 3600)
    backend = cloudwatch_backends[ACCOUNT][REGION]
    assert [d.sum for d in backend.metric_data] == [1.0]
    assert backend.metric_data[0].timestamp == dt.datetime.fromtimestamp(T0 + 4 * 3600, dt.UTC).replace(tzinfo=None)


@pytest.mark.parametrize(("raw", "scale"), [("", 1.0), ("0.02", 0.02), ("fast", 1.0), ("-1", 1.0), ("nan", 1.0)])
def test_clock_scale(monkeypatch: pytest.MonkeyPatch, raw: str, scale: float) -> None:
    monkeypatch.setenv(clock.CLOCK_SCALE_ENV, raw)
    assert clock.clock_scale() == scale
    assert clock.scaled(300) == 300 * scale


def test_a_busy_minute_keeps_a_bounded_sample_for_percentiles(recorder: Recorder) -> None:
    for value in range(10_000):
        recorder.add("AWS/Lambda", "Duration", float(value), "Milliseconds", ON, at=T0)
    [datum] = cloudwatch_backends[ACCOUNT][REGION].metric_data
    assert (datum.sample_count, datum.sum, datum.max) == (10_000, sum(range(10_000)), 9999.0)
    assert len(datum.samples) == MAX_SAMPLES
    assert 6000 < percentile(datum.samples, 90) <= 9999  # an estimate from a uniform sample
