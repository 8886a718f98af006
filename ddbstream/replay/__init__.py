"""Replaying a stream: records already in it run through the function again, the mapping untouched.

``selection`` decides what runs (range, filters, batches: pure), ``reader`` reads the stream,
``run`` invokes each batch as the mapping would, ``on_failure`` sends a failed batch's record
to the mapping's destination (--to-dlq).
"""

from ddbstream.replay.run import BatchOutcome, Replay, ReplayOptions, start_replay
from ddbstream.replay.selection import check_range, compile_filter, parse_position

__all__ = ["BatchOutcome", "Replay", "ReplayOptions", "check_range", "compile_filter", "parse_position", "start_replay"]
