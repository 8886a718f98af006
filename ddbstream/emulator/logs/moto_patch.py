"""The patches of moto's CloudWatch Logs (tests/daemon/test_logs_filter.py and test_live_tail.py
exercise them).

moto reads a filter pattern as a few plain terms and matches everything else, so
``{ $.level = "ERROR" }`` or ``-START`` returned every event; and its StartLiveTail answers the
events already there, in one response that ends. Here:

- ``moto.logs.models.EventMessageFilter`` (what FilterLogEvents and StartLiveTail match each
  event with) is our pattern language (filter_pattern.py);
- ``LogsBackend.filter_log_events`` and ``start_live_tail`` refuse a pattern CloudWatch refuses,
  with its InvalidParameterException, before looking at any event;
- ``LogsBackend._find_live_tail_log_group`` finds the group an identifier names (moto's answers
  the last group whatever it is given);
- ``LogsResponse.start_live_tail`` answers a live session (live_tail.py) after moto's checks.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.logs import models
from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.responses import LogsResponse

from ddbstream.emulator.logs.filter_pattern import InvalidFilterPattern, compile_pattern
from ddbstream.emulator.logs.live_tail import CONTENT_TYPE, Session

_lock = threading.Lock()
_originals: dict[str, Any] = {}
_stopping: list[threading.Event] = []  # set when the installed daemon stops: its live tails end


class EventFilter:
    """moto's EventMessageFilter interface over our pattern language."""

    def __init__(self, pattern: str | None):
        self.pattern = checked(pattern)

    def matches(self, message: str) -> bool:
        return self.pattern.matches(message)


def checked(pattern: str | None) -> Any:
    """The compiled pattern, or moto's InvalidParameterException carrying AWS's message."""
    try:
        return compile_pattern(pattern)
    except InvalidFilterPattern as exc:
        raise InvalidParameterException(str(exc)) from None


def install(stopping: threading.Event) -> None:
    """Patch moto once per process; live tails end when ``stopping`` is set (the latest install wins)."""
    with _lock:
        _stopping[:] = [stopping]
        if _originals:
            return
        _originals["filter"] = models.EventMessageFilter
        _originals["filter_log_events"] = models.LogsBackend.filter_log_events
        _originals["start_live_tail"] = models.LogsBackend.start_live_tail
        _originals["live_tail_response"] = LogsResponse.start_live_tail
        _originals["find_group"] = models.LogsBackend._find_live_tail_log_group
        models.EventMessageFilter = EventFilter  # type: ignore[misc,assignment]
        models.LogsBackend.filter_log_events = _filter_log_events  # type: ignore[method-assign,assignment]
        models.LogsBackend.start_live_tail = _start_live_tail  # type: ignore[method-assign,assignment]
        LogsResponse.start_live_tail = _live_tail_response  # type: ignore[method-assign,assignment]
        models.LogsBackend._find_live_tail_log_group = _find_live_tail_group  # type: ignore[method-assign,assignment]


def _filter_log_events(backend: Any, *args: Any, **kwargs: Any) -> Any:
    pattern = kwargs["filter_pattern"] if "filter_pattern" in kwargs else args[6] if len(args) > 6 else None
    checked(pattern)
    return _originals["filter_log_events"](backend, *args, **kwargs)


def _start_live_tail(backend: Any, *args: Any, **kwargs: Any) -> Any:
    pattern = kwargs["log_event_filter_pattern"] if "log_event_filter_pattern" in kwargs else args[3]
    checked(pattern)
    return _originals["start_live_tail"](backend, *args, **kwargs)


def release(stopping: threading.Event) -> None:
    """The daemon that installed ``stopping`` stops: its live tails end, and moto answers alone again."""
    stopping.set()
    with _lock:
        if stopping in _stopping:
            _stopping.remove(stopping)


def _find_live_tail_group(backend: Any, identifier: str) -> Any:
    """The group whose ARN (without moto's trailing ":*") or name is ``identifier``."""
    for group in backend.groups.values():
        if identifier in (group.arn.removesuffix(":*"), group.name):
            return group
    raise ResourceNotFoundException()


def _live_tail_response(response: LogsResponse) -> Any:
    """A streamed eventstream response (moto joins its body into one); moto's backend checks the request."""
    with _lock:
        stopping = _stopping[0] if _stopping else None
    if stopping is None:  # no daemon serves this process (moto used in-process, as by tests): moto's answer
        return _originals["live_tail_response"](response)
    identifiers = response._get_param("logGroupIdentifiers")
    names = response._get_param("logStreamNames")
    prefixes = response._get_param("logStreamNamePrefixes")
    pattern = response._get_param("logEventFilterPattern")
    backend = response.logs_backend
    start, _ = backend.start_live_tail(
        log_group_identifiers=identifiers,
        log_stream_names=names,
        log_stream_name_prefixes=prefixes,
        log_event_filter_pattern=pattern,
    )
    groups = [backend._find_live_tail_log_group(identifier) for identifier in identifiers]
    session = Session(backend, groups, names or [], prefixes or [], compile_pattern(pattern), stopping)
    return 200, {"Content-Type": CONTENT_TYPE}, session.frames(start)
