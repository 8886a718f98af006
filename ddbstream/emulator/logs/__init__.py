"""CloudWatch Logs as AWS reads filter patterns: FilterLogEvents and StartLiveTail match events
with CloudWatch's filter pattern language and refuse the patterns it refuses.

- ``filter_pattern``: the language (terms, JSON and space-delimited patterns), parsed once per
  pattern; ``conditions``: the comparisons JSON and space-delimited patterns share.
- ``live_tail``: StartLiveTail as a live event stream (sessionStart, then sessionUpdates).
- ``moto_patch``: moto's logs backend matches and validates with the language and streams
  StartLiveTail.
"""

from __future__ import annotations

import threading
from typing import Any

from ddbstream.emulator.logs import moto_patch
from ddbstream.emulator.logs.filter_pattern import FilterPattern, InvalidFilterPattern, compile_pattern

__all__ = ["FilterPattern", "InvalidFilterPattern", "compile_pattern", "install"]


def install(emulator: Any) -> None:
    """Match and validate filter patterns in moto's logs backend as CloudWatch does; serve live tails
    until the daemon stops."""
    stopping = threading.Event()
    moto_patch.install(stopping)
    emulator.on_shutdown(lambda: moto_patch.release(stopping))
