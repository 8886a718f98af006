"""The context one journaled effect runs in, so that replaying it reproduces it exactly.

An effect (a mutating request, a log write, an OnFailure delivery, a TTL deletion) runs with
moto's clock frozen at its start time and moto's random source seeded for it alone: replayed
with the same time and seed, moto makes the same stream labels, message ids and timestamps.
What comes from outside moto (a stream record's sequence number and arrival time, a stream's
shard id, the messages an SQS DeleteMessage removed) is *stamped*: ``stamp`` makes the value
and notes it while journaling, and hands back the noted value while replaying.

Only the thread running the effect is affected; other threads see the real clock and moto's
shared random source.
"""

from __future__ import annotations

import datetime as _datetime
import random
import threading
import types
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()
_patch_lock = threading.Lock()
_patched = False


@dataclass
class Effect:
    """One effect being run: its frozen time and random source, and its stamps."""

    at: float
    seed: int
    replaying: bool
    stamps: list[list[Any]] = field(default_factory=list)  # [kind, value], in order (journaling)
    recorded: dict[str, deque] = field(default_factory=dict)  # kind -> values to hand back (replaying)
    _rng: random.Random | None = None

    @property
    def rng(self) -> random.Random:
        """The effect's own random source, made on first use (most effects draw nothing from it)."""
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng


def current() -> Effect | None:
    return getattr(_local, "effect", None)


@contextmanager
def running(at: float, seed: int, stamps: list[list[Any]] | None = None) -> Iterator[Effect]:
    """Run the body as one effect at time ``at`` with ``seed``; ``stamps`` given: replaying them."""
    install_patches()
    effect = Effect(at, seed, replaying=stamps is not None)
    for kind, value in stamps or []:
        effect.recorded.setdefault(kind, deque()).append(value)
    previous, _local.effect = current(), effect
    try:
        yield effect
    finally:
        _local.effect = previous


def stamp(kind: str, make: Callable[[], T]) -> T:
    """``make()``'s value, noted for the journal; when replaying, the value noted then."""
    effect = current()
    if effect is None:
        return make()
    if effect.replaying:
        values = effect.recorded.get(kind)
        if values:
            return values.popleft()
        return make()
    value = make()
    effect.stamps.append([kind, value])
    return value


def replaying() -> bool:
    effect = current()
    return effect is not None and effect.replaying


# ---------------------------------------------------------------- moto's clock and random source


class _ClockedDatetime(_datetime.datetime):
    """datetime whose now() is the running effect's time (moto.core.utils.utcnow calls it)."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        effect = current()
        if effect is None:
            return _datetime.datetime.now(tz)
        return _datetime.datetime.fromtimestamp(effect.at, tz)


def install_patches() -> None:
    """Point moto's clock and random source at the running effect (idempotent)."""
    global _patched
    if _patched:
        return
    with _patch_lock:
        if _patched:
            return
        import moto.core.utils as moto_utils
        from moto.moto_api._internal import mock_random

        clock = types.ModuleType("datetime")
        clock.__dict__.update(_datetime.__dict__)
        clock.datetime = _ClockedDatetime  # type: ignore[attr-defined]
        moto_utils.datetime = clock

        shared = type(mock_random)

        def getrandbits(k: int) -> int:
            effect = current()
            return effect.rng.getrandbits(k) if effect is not None else shared.getrandbits(mock_random, k)

        def random_float() -> float:
            effect = current()
            return effect.rng.random() if effect is not None else shared.random(mock_random)

        mock_random.getrandbits = getrandbits  # type: ignore[method-assign]
        mock_random.random = random_float  # type: ignore[method-assign]
        _patched = True
