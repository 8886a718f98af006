"""DynamoDB Streams in the daemon, as AWS documents them, on top of moto's tables.

- store.py: Record, Stream, StreamRegistry (the records, kept for the retention period);
- api.py: the DynamoDB Streams API (DescribeStream, GetShardIterator, GetRecords) on the store;
- moto_patches.py: every patch of moto's internals (table changes -> stream records);
- checks.py: DynamoDB input checks moto lacks (unrelated to streams);
- answers.py: moto's DynamoDB answers corrected where AWS's recorded ones differ (tests/conformance);
- ttl.py: the Time to Live sweeper.

Records are built by the shared codec, ddbstream/stream_records.py.
"""

from __future__ import annotations

import os
from typing import Any

from ddbstream.emulator.streams.moto_patches import patch_moto
from ddbstream.emulator.streams.store import (
    DEFAULT_RETENTION_SECONDS,
    REGISTRY,
    RETENTION_ENV,
    Record,
    Stream,
    StreamError,
    StreamRegistry,
    retention_seconds,
)
from ddbstream.emulator.streams.ttl import DEFAULT_TTL_SWEEP_SECONDS, TTL_SWEEP_ENV, TtlSweeper, sweep_expired_items

__all__ = [
    "DEFAULT_RETENTION_SECONDS",
    "REGISTRY",
    "RETENTION_ENV",
    "Record",
    "Stream",
    "StreamError",
    "StreamRegistry",
    "TtlSweeper",
    "install",
    "patch_moto",
    "retention_seconds",
    "sweep_expired_items",
]


def install(emulator: Any) -> StreamRegistry:
    """Patch moto and start the TTL sweeper; return the registry the other components read."""
    patch_moto()
    interval = float(os.environ.get(TTL_SWEEP_ENV) or DEFAULT_TTL_SWEEP_SECONDS)
    sweeper = TtlSweeper(interval)
    sweeper.start()
    emulator.on_shutdown(sweeper.stop)
    return REGISTRY
