"""The consumer's log followed in a thread while the demo runs: every event shown, JSON lines kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddbstream.demo.view import DemoView
from ddbstream.errors import DdbstreamError, Unhealthy
from ddbstream.logs import LineParser, LogSource, Notice, Tail

WAIT_SECONDS = 10.0  # per step; the local pipeline answers in well under a second
HURRY_POLL_SECONDS = 0.02  # log polling while the demo waits for a line (the local daemon is cheap to ask)


@dataclass
class SeenLines:
    """The consumer's log lines (ddbstream.logs.Line) seen so far, for waiting on them."""

    lines: list[Any] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, line: Any) -> None:
        with self.changed:
            self.lines.append(line)
            self.changed.notify_all()

    def wait_for(
        self, predicate: Callable[[Any], bool], what: str, timeout: float = WAIT_SECONDS, count: int = 1
    ) -> Any | None:
        """The ``count``-th line matching ``predicate``; Unhealthy after ``timeout`` (None when ``what`` is empty)."""

        def found() -> Any | None:
            matches = [line for line in self.lines if predicate(line)]
            return matches[count - 1] if len(matches) >= count else None

        with self.changed:
            if not self.changed.wait_for(found, timeout):
                if not what:
                    return None
                raise Unhealthy(
                    f"the consumer did not log {what} within {timeout:.0f} s: "
                    "see 'ddbstream status' and .ddbstream/daemon.log"
                )
            return found()


class _Stopped(Exception):
    pass


class LogFollower:
    """Follows the function's log group in a thread: every event to the view, JSON lines to ``lines``."""

    def __init__(self, logs_client: Any, group: str, view: DemoView, since_ms: int):
        self.stop_flag = threading.Event()
        self.hurry = threading.Event()
        self.lines = SeenLines()
        self.view = view
        self.parser = LineParser()
        self.error: BaseException | None = None
        self.tail = Tail(LogSource(logs_client, group), since_ms=since_ms, follow=True, local=True, sleep=self._sleep)
        self.thread = threading.Thread(target=self._run, name="demo-log-follower", daemon=True)

    def _sleep(self, seconds: float) -> None:
        """The tail's pause between polls, cut short while the demo waits for a line (or to stop)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.stop_flag.wait(min(left, HURRY_POLL_SECONDS)):
                raise _Stopped()
            if self.hurry.is_set():
                return

    def wait_for(
        self, predicate: Callable[[Any], bool], what: str, timeout: float = WAIT_SECONDS, count: int = 1
    ) -> Any | None:
        """SeenLines.wait_for, polling the log group often meanwhile; the follower's own error if it died."""
        self.hurry.set()
        try:
            return self.lines.wait_for(predicate, what, timeout, count)
        except Unhealthy:
            if isinstance(self.error, DdbstreamError):
                raise self.error from None
            if self.error is not None:
                raise Unhealthy(f"following the consumer's log failed: {self.error}") from None
            raise
        finally:
            self.hurry.clear()

    def wait_report(self, line: Any, timeout: float = 2.0) -> None:
        """Best effort: until the REPORT line of ``line``'s invocation is shown (keeps the output in order)."""
        if line.request_id:
            self.wait_for(lambda other: other.kind == "report" and other.request_id == line.request_id, "", timeout)

    def _run(self) -> None:
        try:
            for event in self.tail.events():
                if isinstance(event, Notice):
                    continue  # "log group does not exist yet; waiting": expected before the first run
                self.view.log(event)
                self.lines.add(self.parser.parse(event))
                if self.stop_flag.is_set():
                    return
        except _Stopped:
            return
        except BaseException as exc:  # shown by the main thread when it times out
            self.error = exc

    def __enter__(self) -> LogFollower:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop_flag.set()
        self.thread.join(timeout=5)
