"""The event bus: which rules an event matches, delivery to their targets, and the counts.

AWS counts, per rule, the events it matched (MatchedEvents), the target invocations it made
(Invocations) and those that failed (FailedInvocations); ``status`` shows them, and ``tail
--bus`` follows the recent deliveries (a bounded list, newest last, numbered for polling).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from ddbstream.emulator.events.targets import TargetError, envelope, send
from ddbstream.emulator.events.transform import target_input
from ddbstream.patterns import InvalidEventPattern, Pattern, parse_event_pattern

log = logging.getLogger("ddbstream.emulator.events")

RECENT_DELIVERIES = 1000


@dataclass
class RuleCounts:
    rule: str
    bus: str
    matched: int = 0
    delivered: int = 0
    failed: int = 0
    last_error: str | None = None


class EventBus:
    """Delivers the events moto hands over (one call per rule) and keeps the counts."""

    def __init__(self, region: str, account: str, runtime: Any):
        self.region = region
        self.account = account
        self.runtime = runtime
        self._lock = threading.Lock()
        self._patterns: dict[str, Pattern | None] = {}
        self._counts: dict[str, RuleCounts] = {}
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_DELIVERIES)
        self._sequence = 0

    def deliver(self, rule: Any, event: dict[str, Any]) -> None:
        """Send ``event`` to ``rule``'s targets if the rule is enabled and its pattern matches."""
        pattern = self._pattern(getattr(rule.event_pattern, "_raw_pattern", None))
        message = envelope(event)
        if rule.state != "ENABLED" or pattern is None or not pattern.matches(message):
            return
        counts = self._counts_of(rule)
        with self._lock:
            counts.matched += 1
        for target in list(rule.targets):
            self._deliver_one(rule, counts, target, message)

    def _deliver_one(self, rule: Any, counts: RuleCounts, target: dict[str, Any], message: dict[str, Any]) -> None:
        error = None
        try:
            body = target_input(target, message, rule.arn, rule.name)
            send(target["Arn"], target, body, message, self.runtime)
        except TargetError as exc:
            error = str(exc)
            log.warning("rule %s: delivery to %s failed: %s", rule.name, target["Arn"], error)
        with self._lock:
            if error is None:
                counts.delivered += 1
            else:
                counts.failed += 1
                counts.last_error = error
            self._sequence += 1
            self._recent.append(
                {
                    "sequence": self._sequence,
                    "at": time.time(),
                    "rule": rule.arn,
                    "target": target["Arn"],
                    "targetId": target.get("Id"),
                    "ok": error is None,
                    "error": error,
                    "event": message,
                }
            )

    def _pattern(self, source: str | None) -> Pattern | None:
        """The compiled pattern (cached by its text); None for a rule without one (a schedule)."""
        if not source:
            return None
        with self._lock:
            if source not in self._patterns:
                try:
                    self._patterns[source] = parse_event_pattern(source)
                except InvalidEventPattern:  # PutRule refuses these; one kept from before matches nothing
                    self._patterns[source] = None
            return self._patterns[source]

    def _counts_of(self, rule: Any) -> RuleCounts:
        with self._lock:
            counts = self._counts.get(rule.arn)
            if counts is None:
                counts = self._counts[rule.arn] = RuleCounts(rule.arn, rule.event_bus_name)
            return counts

    def counts(self) -> list[dict[str, Any]]:
        """Per rule that matched anything: matched, delivered and failed counts, the last error."""
        with self._lock:
            return [asdict(c) for c in self._counts.values()]

    def deliveries(self, after: int = 0, since: float = 0.0) -> list[dict[str, Any]]:
        """The kept deliveries numbered above ``after`` and made at or after ``since`` (epoch seconds)."""
        with self._lock:
            return [d for d in self._recent if d["sequence"] > after and d["at"] >= since]
