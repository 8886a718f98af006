"""A daemon thread that does one thing every few seconds until the daemon stops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


class Periodic:
    """Calls ``tick`` every ``interval`` seconds in a thread; a failing tick is logged, never fatal
    (a backend changing under it must not end the work for the daemon's lifetime)."""

    def __init__(self, name: str, interval: float, tick: Callable[[], None], log: logging.Logger):
        self.interval = interval
        self._tick = tick
        self._log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._tick()
            except Exception:
                self._log.exception("%s failed", self._thread.name)
