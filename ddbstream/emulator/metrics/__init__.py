"""Metrics the daemon publishes into its CloudWatch (moto's), as AWS's services publish them.

- ``clock``: DDBSTREAM_CLOCK_SCALE, the factor on every period (metric minutes, alarm periods).
- ``recorder``: ``Recorder``, per-minute statistic sets put straight into moto's CloudWatch
  backend (no HTTP), where GetMetricData and GetMetricStatistics find them; bounded retention.
- ``sources``: what is measured: AWS/Lambda (runtime, event source mappings), AWS/SQS
  (queues sampled once a minute), AWS/DynamoDB (writes, GetRecords).
- ``dynamodb``: consumed read and write capacity from moto's table operations.
- ``user_errors``: UserErrors and ConditionalCheckFailedRequests from the daemon's answers.
- ``query``: a metric's datapoints over periods, with any statistic or percentile (alarms).

The runtime, the ESM engine, the Streams API and the server's way to moto each get one hook, set here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ddbstream.emulator.metrics import dynamodb
from ddbstream.emulator.metrics.clock import CLOCK_SCALE_ENV, clock_scale, scaled
from ddbstream.emulator.metrics.recorder import Recorder
from ddbstream.emulator.metrics.sources import LambdaMetrics, QueueSampler, TableMetrics
from ddbstream.emulator.metrics.user_errors import DynamoErrors
from ddbstream.emulator.streams import api as streams_api

__all__ = ["CLOCK_SCALE_ENV", "Metrics", "Recorder", "clock_scale", "install", "scaled"]


@dataclass
class Metrics:
    """The daemon's recorder and the sources feeding it."""

    recorder: Recorder
    functions: LambdaMetrics
    tables: TableMetrics
    queues: QueueSampler


def install(emulator: Any, *, runtime: Any, engine: Any) -> Metrics:
    """Record what ``runtime`` and ``engine`` do and sample the queues; stops with ``emulator``."""
    recorder = Recorder(emulator.account, emulator.region, clock_scale())
    functions = LambdaMetrics(recorder)
    runtime.observer = functions
    engine.on_iterator_age = functions.iterator_age
    tables = TableMetrics(recorder)
    dynamodb.install(tables)
    streams_api.records_returned = tables.records_returned
    emulator.around_moto = DynamoErrors(tables)
    queues = QueueSampler(recorder)
    queues.start()
    emulator.on_shutdown(queues.stop)
    return Metrics(recorder, functions, tables, queues)
