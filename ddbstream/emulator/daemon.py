"""The daemon assembled: the emulator (routes, shutdown hooks, health) and its components,
each handed what it needs explicitly.

The streams come first (moto's tables write to them), then the Lambda runtime, then the
event source mapping engine, which reads the streams and invokes through the runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ddbstream.emulator import alarms, apigw, esm, events, logs, metrics, runtime, streams, table_size
from ddbstream.emulator.alarms import AlarmScheduler
from ddbstream.emulator.apigw import ApiGateway
from ddbstream.emulator.esm import Engine
from ddbstream.emulator.events import EventBus
from ddbstream.emulator.metrics import Metrics
from ddbstream.emulator.runtime import LambdaRuntime
from ddbstream.emulator.server import Emulator
from ddbstream.emulator.store import restore
from ddbstream.emulator.streams import StreamRegistry


@dataclass
class Daemon:
    """The emulator the HTTP server serves, and the components installed on it."""

    emulator: Emulator
    streams: StreamRegistry
    runtime: LambdaRuntime
    engine: Engine
    bus: EventBus | None = None  # EventBridge delivery (emulator/events/)
    apis: ApiGateway | None = None  # the HTTP APIs' listener (emulator/apigw/)
    metrics: Metrics | None = None  # AWS/Lambda, AWS/SQS... metrics in moto's CloudWatch (emulator/metrics/)
    alarms: AlarmScheduler | None = None  # the alarm evaluator (emulator/alarms/)


def build_daemon(region: str = "us-east-1", secret: str = "testing") -> Daemon:
    """A new emulator with every component installed and wired together; ``secret`` guards it."""
    emulator = Emulator(region=region, secret=secret)
    registry = streams.install(emulator)
    table_size.install()  # DescribeTable's TableSizeBytes (moto answers 0)
    lambda_runtime = runtime.install(emulator)
    engine = esm.install(emulator, streams=registry, runtime=lambda_runtime)
    bus = events.install(emulator, runtime=lambda_runtime)
    gateway = apigw.install(emulator, runtime=lambda_runtime)
    logs.install(emulator)  # CloudWatch's filter patterns in FilterLogEvents and StartLiveTail
    watched = metrics.install(emulator, runtime=lambda_runtime, engine=engine)
    evaluator = alarms.install(emulator, runtime=lambda_runtime, scale=watched.recorder.scale or 1.0)
    emulator.component_names = ["alarms", "apigw", "esm", "events", "logs", "metrics", "runtime", "streams"]
    return Daemon(emulator, registry, lambda_runtime, engine, bus, gateway, watched, evaluator)


def keep_in_store(daemon: Daemon, path: Path, progress: Callable[[], None] = lambda: None) -> Callable[[], None]:
    """Restore the daemon from the durable store at ``path`` and keep every change in it (emulator/store/).

    Sets what came back (or why nothing did) as the health document's ``restored``; returns
    what closes the store once the daemon has drained.
    """
    file, unreadable = restore.open_store(path)
    restored = restore.restore(file, daemon.emulator, daemon.streams, daemon.engine, progress)
    daemon.emulator.restored = unreadable or restored
    return lambda: restore.close(file, daemon.engine)
