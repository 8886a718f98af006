"""The pipeline's CloudWatch metrics over a time range (`metrics`, and `status`'s sparklines).

Read with GetMetricData, one request for every metric, on either target: on AWS the services
publish them; locally the daemon does (emulator/metrics/), with the same names.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ddbstream.pipeline import Pipeline

MAX_POINTS = 180  # per metric: a longer range gets longer periods (multiples of a minute)
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Metric:
    key: str  # the query id and JSON key
    label: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    unit: str  # how values are shown: count, ms, s


def pipeline_metrics(pipeline: Pipeline) -> list[Metric]:
    """The metrics of the pipeline's function, table and dead-letter queue, in display order."""
    found: list[Metric] = []
    if pipeline.function is not None:
        on = (("FunctionName", pipeline.function.name),)
        found += [
            Metric("invocations", "invocations", "AWS/Lambda", "Invocations", on, "Sum", "count"),
            Metric("errors", "errors", "AWS/Lambda", "Errors", on, "Sum", "count"),
            Metric("throttles", "throttles", "AWS/Lambda", "Throttles", on, "Sum", "count"),
            Metric("duration", "duration (max)", "AWS/Lambda", "Duration", on, "Maximum", "ms"),
            Metric("concurrency", "concurrency (max)", "AWS/Lambda", "ConcurrentExecutions", on, "Maximum", "count"),
            Metric("iteratorAge", "iterator age (max)", "AWS/Lambda", "IteratorAge", on, "Maximum", "ms"),
        ]
    if pipeline.table is not None:
        on = (("TableName", pipeline.table.name),)
        found.append(
            Metric("writeUnits", "write units", "AWS/DynamoDB", "ConsumedWriteCapacityUnits", on, "Sum", "count")
        )
    if pipeline.queue is not None:
        on = (("QueueName", pipeline.queue.name),)
        found += [
            Metric(
                "dlqDepth", "dlq depth (max)", "AWS/SQS", "ApproximateNumberOfMessagesVisible", on, "Maximum", "count"
            ),
            Metric("dlqSent", "dlq messages sent", "AWS/SQS", "NumberOfMessagesSent", on, "Sum", "count"),
            Metric("dlqOldest", "dlq oldest (max)", "AWS/SQS", "ApproximateAgeOfOldestMessage", on, "Maximum", "s"),
        ]
    return found


def period_for(seconds: float) -> int:
    """A minute, or the multiple of a minute that keeps the range within MAX_POINTS periods."""
    return max(1, math.ceil(seconds / 60 / MAX_POINTS)) * 60


def read(cloudwatch: Any, metrics: list[Metric], since_seconds: float, now: float | None = None) -> dict[str, Any]:
    """Each metric's datapoints (oldest first, one per period, missing periods left out)."""
    period = period_for(since_seconds)
    end = (math.floor((time.time() if now is None else now) / period) + 1) * period
    start = end - math.ceil(since_seconds / period) * period
    queries = [
        {
            "Id": f"m{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": metric.namespace,
                    "MetricName": metric.name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in metric.dimensions],
                },
                "Period": period,
                "Stat": metric.statistic,
            },
            "ReturnData": True,
        }
        for index, metric in enumerate(metrics)
    ]
    results: dict[str, dict[int, float]] = {}
    if queries:
        pages = cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries,
            StartTime=datetime.fromtimestamp(start, UTC),
            EndTime=datetime.fromtimestamp(end, UTC),
            ScanBy="TimestampAscending",
        )
        for page in pages:
            for result in page.get("MetricDataResults", []):
                points = results.setdefault(result["Id"], {})
                for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    points[int(stamp.timestamp())] = value
    return {
        "start": start,
        "end": end,
        "period": period,
        "metrics": [_series(metric, results.get(f"m{index}", {})) for index, metric in enumerate(metrics)],
    }


def _series(metric: Metric, points: dict[int, float]) -> dict[str, Any]:
    return {
        "key": metric.key,
        "label": metric.label,
        "namespace": metric.namespace,
        "metric": metric.name,
        "dimensions": dict(metric.dimensions),
        "statistic": metric.statistic,
        "unit": metric.unit,
        "datapoints": [{"timestamp": at, "value": points[at]} for at in sorted(points)],
    }


def sparkline(series: dict[str, Any], start: int, end: int, period: int) -> str:
    """One character per period from ``start`` to ``end``: ▁ (lowest) to █ (highest), space without data."""
    values = {point["timestamp"]: point["value"] for point in series["datapoints"]}
    top = max(values.values(), default=0.0)
    line = []
    for at in range(start, end, period):
        value = values.get(at)
        if value is None:
            line.append(" ")
        else:
            line.append(SPARK[min(len(SPARK) - 1, int(value / top * (len(SPARK) - 1)))] if top > 0 else SPARK[0])
    return "".join(line)


def summary(series: dict[str, Any]) -> tuple[float | None, float | None]:
    """(the whole range's total for a Sum, else its peak; the latest value)."""
    values = [point["value"] for point in series["datapoints"]]
    if not values:
        return None, None
    overall = sum(values) if series["statistic"] == "Sum" else max(values)
    return overall, values[-1]


def key_metrics(cloudwatch: Any, pipeline: Pipeline, minutes: int = 15) -> dict[str, Any]:
    """`status`'s sparklines: invocations, errors, iterator age and DLQ depth over the last minutes."""
    wanted = ("invocations", "errors", "iteratorAge", "dlqDepth")
    metrics = [m for m in pipeline_metrics(pipeline) if m.key in wanted]
    found = read(cloudwatch, metrics, minutes * 60)
    for series in found["metrics"]:
        series["sparkline"] = sparkline(series, found["start"], found["end"], found["period"])
        series["total"], series["latest"] = summary(series)
    return {"minutes": minutes, "metrics": found["metrics"]}
