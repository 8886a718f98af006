"""The journal: effects on the daemon's state, written in the order they happened.

``JOURNAL`` is the daemon's one journal. Without a store file attached (tests running a
daemon in a thread) it only runs the effects. With one, each effect runs under the journal's
lock (so the file's order is the order the effects happened in), inside its own context
(context.py), and is in the file before ``run`` returns, that is before anyone is told it
happened; a *deferred* effect (an invocation's log events, which no client is told were kept)
is in it within db.WRITE_BEHIND_SECONDS. In-process effects (log events, OnFailure
deliveries, TTL deletions) name a *kind* whose replayer the owning module registers; HTTP
requests are journaled by http_journal.py.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ddbstream.emulator.store.context import running
from ddbstream.emulator.store.db import Entry, StoreFile

log = logging.getLogger("ddbstream.emulator.store")

T = TypeVar("T")
Replayer = Callable[[Any], object]
# Effects' seeds only make moto's random values replayable: no secret, so no system call each.
_seeds = random.Random()


class Journal:
    """Runs effects and keeps them in the attached store file."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.file: StoreFile | None = None
        self._replayers: dict[str, Replayer] = {}

    def register(self, kind: str, replayer: Replayer) -> None:
        """``replayer(payload)`` redoes an effect of ``kind`` (its module registers it at import)."""
        self._replayers[kind] = replayer

    def run(self, kind: str, payload: Any, action: Callable[[], T], defer: bool = False) -> T:
        """Run ``action`` (an effect described by the JSON-able ``payload``) and journal it.

        ``defer``: its entry may reach the file after ``run`` returns (db.WRITE_BEHIND_SECONDS).
        Waits while the journal is replayed at start (the TTL sweeper already runs then).
        """
        with self.lock:
            file = self.file
            if file is None:
                return action()
            at, seed = self.new_effect()
            with running(at, seed) as effect:
                result = action()
            try:
                file.append(kind, at, seed, payload, effect.stamps, defer)
            except Exception:  # the effect happened; only its durability is lost (a full disk, say)
                log.exception("could not journal a %s effect", kind)
        return result

    @staticmethod
    def new_effect() -> tuple[float, int]:
        """The time and random seed of an effect starting now."""
        return time.time(), _seeds.getrandbits(63)

    def replay(self, entry: Entry, http: Replayer) -> None:
        """Redo one journaled effect as it happened (``http`` redoes a request)."""
        replayer = http if entry.kind == "http" else self._replayers.get(entry.kind)
        if replayer is None:
            log.warning("journal entry of unknown kind %r skipped", entry.kind)
            return
        with running(entry.at, entry.seed, entry.stamps):
            replayer(entry.payload)


JOURNAL = Journal()
