"""The two patches of moto's EventBridge (tests/test_event_bus.py exercises both).

- ``Rule.send_to_targets``: moto calls it for every rule of the bus an event was put on; it
  now hands the event to the installed ``EventBus`` (moto's own delivery is never used).
- ``EventsBackend.put_rule``: a pattern EventBridge refuses is refused the way it refuses it.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventsBackend, Rule

from ddbstream.patterns import InvalidEventPattern, parse_event_pattern

_lock = threading.Lock()
_originals: dict[str, Any] = {}
_active: list[Any] = []  # the installed EventBus (the latest install wins; moto's state is per process)


def install(bus: Any) -> None:
    """Route moto's deliveries to ``bus`` (patching moto once per process)."""
    with _lock:
        _active[:] = [bus]
        if _originals:
            return
        _originals["send"] = Rule.send_to_targets
        _originals["put_rule"] = EventsBackend.put_rule
        Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign,assignment]
        EventsBackend.put_rule = _put_rule  # type: ignore[method-assign,assignment]


def uninstall(bus: Any) -> None:
    """Stop routing to ``bus`` (a daemon shutting down); moto's classes stay patched."""
    with _lock:
        if _active and _active[0] is bus:
            _active.clear()


def _send_to_targets(rule: Rule, event: dict[str, Any], transform_input: bool = True) -> None:
    with _lock:
        bus = _active[0] if _active else None
    if bus is None:  # no daemon in this process (moto used on its own): moto's own delivery
        _originals["send"](rule, event, transform_input)
        return
    bus.deliver(rule, event)


def _put_rule(backend: EventsBackend, name: str, *args: Any, **kwargs: Any) -> Rule:
    pattern = kwargs.get("event_pattern", args[2] if len(args) > 2 else None)
    if pattern:
        try:
            parse_event_pattern(pattern)
        except InvalidEventPattern as exc:
            reason = str(exc).removeprefix("Event pattern is not valid. Reason: ")
            raise InvalidEventPatternException(reason) from None
    return _originals["put_rule"](backend, name, *args, **kwargs)
