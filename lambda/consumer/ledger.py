"""Idempotency per eventID, remembered by this warm container only."""

from __future__ import annotations

from collections import OrderedDict


class Ledger:
    """Which steps ("process", "audit", "notify", "events") each eventID has completed.

    Bounded: the least recently touched eventIDs are forgotten first. Lives in memory, so a
    cold start (or another concurrent container) starts empty; see lambda/README.md.
    """

    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._steps: OrderedDict[str, set] = OrderedDict()

    def done(self, event_id: str | None) -> frozenset:
        if event_id is None or event_id not in self._steps:
            return frozenset()
        self._steps.move_to_end(event_id)
        return frozenset(self._steps[event_id])

    def mark(self, event_id: str | None, step: str) -> None:
        if event_id is None:
            return
        self._steps.setdefault(event_id, set()).add(step)
        self._steps.move_to_end(event_id)
        while len(self._steps) > self.capacity:
            self._steps.popitem(last=False)

    def clear(self) -> None:
        self._steps.clear()

    def __len__(self) -> int:
        return len(self._steps)
