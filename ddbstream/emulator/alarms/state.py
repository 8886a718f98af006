"""Alarm state changes on moto's alarms, as CloudWatch makes them, and the patches they need.

``change_state`` sets the state, reason and StateReasonData, stamps the transition, keeps a
history item (DescribeAlarmHistory) and runs the actions. The evaluator's changes are journaled
as ``alarm-state`` effects (emulator/store/): after a restart each alarm is back in its state,
and its notifications were delivered once.

moto's patches (``install``), so that alarms behave as CloudWatch's:

- a new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"); PutMetricAlarm
  on an existing alarm replaces its configuration but keeps its state and history;
- SetAlarmState goes through ``change_state`` (history, actions), after moto's own checks;
- DescribeAlarmHistory answers from the kept history (moto has no such action).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ddbstream.emulator.alarms.actions import notify
from ddbstream.emulator.store.journal import JOURNAL

HISTORY_ITEMS = 100  # per alarm (CloudWatch keeps 30 days)
INITIAL_REASON = "Unchecked: Initial alarm creation"

_lock = threading.Lock()
_installed = False
_runtime: Any = None  # the Lambda runtime SNS's Lambda subscribers run on (set by install)


def _utcnow() -> dt.datetime:
    from moto.core.utils import utcnow

    return utcnow()  # the journaled effect's frozen time while one runs


def history_of(alarm: Any) -> deque[dict[str, Any]]:
    history = getattr(alarm, "ddbstream_history", None)
    if history is None:
        history = alarm.ddbstream_history = deque(maxlen=HISTORY_ITEMS)
    return history


def change_state(alarm: Any, state: str, reason: str, reason_data: str | None) -> None:
    """Move ``alarm`` to ``state`` now, keep it in its history, run the new state's actions."""
    at = _utcnow()
    old = alarm.state_value
    old_reason = alarm.state_reason
    alarm.state_value, alarm.state_reason = state, reason
    alarm.state_reason_data = reason_data
    alarm.state_updated_timestamp = at
    if old != state:
        alarm.state_transitioned_timestamp = at
    new_state: dict[str, Any] = {"stateValue": state, "stateReason": reason}
    if reason_data:
        new_state["stateReasonData"] = json.loads(reason_data)
    _remember(
        alarm,
        at,
        "StateUpdate",
        f"Alarm updated from {old} to {state}",
        {"version": "1.0", "oldState": {"stateValue": old, "stateReason": old_reason}, "newState": new_state},
    )
    for topic in notify(alarm, old, at, _runtime) if old != state else []:
        _remember(
            alarm,
            at,
            "Action",
            f"Successfully executed action {topic}",
            {
                "actionState": "Succeeded",
                "notificationResource": topic,
                "stateUpdateTimestamp": int(at.timestamp() * 1000),
            },
        )


def _remember(alarm: Any, at: dt.datetime, kind: str, summary: str, data: dict[str, Any]) -> None:
    history_of(alarm).append(
        {
            "AlarmName": alarm.name,
            "AlarmType": "MetricAlarm",
            "Timestamp": at,
            "HistoryItemType": kind,
            "HistorySummary": summary,
            "HistoryData": json.dumps(data),
        }
    )


def journaled_change(account: str, region: str, alarm: Any, state: str, reason: str, reason_data: str) -> None:
    """``change_state`` as an effect kept in the durable store (the evaluator's changes); made only
    if the alarm is still in the state it was evaluated in (SetAlarmState or the store's replay at
    start may have moved it meanwhile)."""
    payload = {
        "account": account,
        "region": region,
        "name": alarm.name,
        "from": alarm.state_value,
        "state": state,
        "reason": reason,
        "reason_data": reason_data,
    }
    JOURNAL.run("alarm-state", payload, lambda: _replay_change(payload))


def _replay_change(payload: dict[str, Any]) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    alarm = cloudwatch_backends[payload["account"]][payload["region"]].alarms.get(payload["name"])
    if alarm is not None and alarm.state_value == payload["from"]:  # else deleted or moved since
        change_state(alarm, payload["state"], payload["reason"], payload["reason_data"])


JOURNAL.register("alarm-state", _replay_change)


# ---------------------------------------------------------------- moto's patches


def _put_metric_alarm(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if previous is None:
            alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", INITIAL_REASON
            alarm.state_reason_data = None
            alarm.state_transitioned_timestamp = alarm.state_updated_timestamp
        else:
            for attribute in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp"):
                setattr(alarm, attribute, getattr(previous, attribute))
            alarm.state_transitioned_timestamp = getattr(previous, "state_transitioned_timestamp", None)
            alarm.ddbstream_history = history_of(previous)
        return alarm

    return put_metric_alarm


def _set_alarm_state(original: Callable[..., Any]) -> Callable[..., Any]:
    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        before = (alarm.state_value, alarm.state_reason) if alarm is not None else None
        original(self, alarm_name, reason, reason_data, state_value)  # moto's checks, then its own update
        alarm = self.alarms[alarm_name]
        alarm.history.clear()  # moto's unbounded list, which it never serves
        alarm.state_value, alarm.state_reason = before or (alarm.state_value, alarm.state_reason)
        change_state(alarm, state_value, reason, reason_data)

    return set_alarm_state


def _describe_alarm_history(self: Any) -> Any:
    from moto.core.responses import ActionResult

    backend = self.cloudwatch_backend
    name = self._get_param("AlarmName")
    kind = self._get_param("HistoryItemType")
    start, end = self._get_param("StartDate"), self._get_param("EndDate")
    items = [item for alarm in backend.alarms.values() if not name or alarm.name == name for item in history_of(alarm)]
    items = [i for i in items if (not kind or i["HistoryItemType"] == kind) and _within(i["Timestamp"], start, end)]
    items.sort(key=lambda i: i["Timestamp"], reverse=self._get_param("ScanBy") != "TimestampAscending")
    limit = self._get_int_param("MaxRecords") or 100
    return ActionResult({"AlarmHistoryItems": items[:limit]})


def _within(at: dt.datetime, start: Any, end: Any) -> bool:
    def naive(value: Any) -> dt.datetime:
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value

    return (start is None or at >= naive(start)) and (end is None or at <= naive(end))


def install(runtime: Any) -> None:
    """Patch moto's CloudWatch (idempotent); SNS Lambda subscribers run on ``runtime``."""
    global _installed, _runtime
    _runtime = runtime
    with _lock:
        if _installed:
            return
        import moto.core.responses as moto_responses
        from moto.cloudwatch.models import CloudWatchBackend
        from moto.cloudwatch.responses import CloudWatchResponse

        CloudWatchBackend.put_metric_alarm = _put_metric_alarm(CloudWatchBackend.put_metric_alarm)  # type: ignore[method-assign]
        CloudWatchBackend.set_alarm_state = _set_alarm_state(CloudWatchBackend.set_alarm_state)  # type: ignore[method-assign]
        CloudWatchResponse.describe_alarm_history = _describe_alarm_history  # type: ignore[attr-defined]
        names = moto_responses.method_names_from_class
        if hasattr(names, "cache_clear"):  # the store caches each class's action names
            names.cache_clear()
        _installed = True
