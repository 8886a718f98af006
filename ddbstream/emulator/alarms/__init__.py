"""CloudWatch metric alarms evaluated in the daemon, as CloudWatch evaluates them.

- ``evaluator``: the rules, pure (datapoints in; state, reason, StateReasonData out).
- ``scheduler``: the thread evaluating every alarm once a (scaled) minute over the metrics in
  moto's CloudWatch (emulator/metrics/).
- ``state``: state changes (history, journaled), and moto's patches (initial state,
  PutMetricAlarm keeping the state, SetAlarmState with actions, DescribeAlarmHistory).
- ``actions``: the SNS notification of a state change, delivered to the topic's subscribers.
"""

from __future__ import annotations

from typing import Any

from ddbstream.emulator.alarms import state
from ddbstream.emulator.alarms.scheduler import AlarmScheduler

__all__ = ["AlarmScheduler", "install"]


def install(emulator: Any, runtime: Any, scale: float) -> AlarmScheduler:
    """Patch moto's CloudWatch and start evaluating alarms; stops with ``emulator``."""
    state.install(runtime)
    scheduler = AlarmScheduler(scale)
    scheduler.start()
    emulator.on_shutdown(scheduler.stop)
    return scheduler
