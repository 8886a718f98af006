"""The daemon's metric clock: CloudWatch's one-minute resolution, scaled for tests and demos.

``DDBSTREAM_CLOCK_SCALE`` multiplies every period the daemon lives by: metric aggregation
(60 s), alarm periods and how often alarms are evaluated. 0.02 makes a 300 s alarm period
6 s and a metric minute 1.2 s; at 1 (the default) the timing is AWS's.
"""

from __future__ import annotations

import math
import os

CLOCK_SCALE_ENV = "DDBSTREAM_CLOCK_SCALE"
RESOLUTION_SECONDS = 60  # CloudWatch's standard resolution: AWS services publish per minute
RETENTION_SECONDS = 3 * 3600  # what the daemon keeps (CloudWatch keeps one-minute data 15 days)
MIN_SCALED_SECONDS = 0.05  # below this a thread would spin


def clock_scale() -> float:
    """The factor from ``DDBSTREAM_CLOCK_SCALE`` (1 when unset, empty or not a positive number)."""
    raw = os.environ.get(CLOCK_SCALE_ENV, "").strip()
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        return 1.0
    return value if math.isfinite(value) and value > 0 else 1.0


def scaled(seconds: float, scale: float | None = None) -> float:
    """``seconds`` of AWS time as seconds of the daemon's clock."""
    factor = clock_scale() if scale is None else scale
    return max(MIN_SCALED_SECONDS, seconds * factor)
