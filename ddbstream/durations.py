"""Points in time for --since / --until: relative (30s, 10m, 2h, 1d, 1w), ISO 8601, or "now"."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from ddbstream.errors import InvalidInput

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """'10m' -> 600.0 seconds."""
    match = _RELATIVE.match(text)
    if not match:
        raise InvalidInput(f"invalid duration {text!r}: use a number and a unit s, m, h, d or w (e.g. 10m)")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]


def parse_time(text: str, option: str = "--since", now: float | None = None) -> int:
    """A user's point in time -> epoch milliseconds.

    Relative values count back from now ("10m" = ten minutes ago); ISO 8601 times without
    a zone are UTC, like CloudWatch shows them.
    """
    now = time.time() if now is None else now
    raw = text.strip()
    if raw.lower() == "now":
        return int(now * 1000)
    if _RELATIVE.match(raw):
        return int((now - parse_duration(raw)) * 1000)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"invalid {option} {text!r}: use a duration such as 10m, 2h, 1d or an ISO 8601 time "
            "such as 2024-05-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def iso_ms(epoch_ms: int | float) -> str:
    """Epoch milliseconds -> '2024-05-01T12:00:00.123Z'."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch_ms) % 1000:03d}Z"


def humanize_seconds(seconds: float) -> str:
    """3725 -> '1h 2m'; negative values read as 'gone'."""
    if seconds < 0:
        return "gone"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
