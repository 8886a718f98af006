"""How the demo shows itself, and the same view as the console a target reports through."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol


class DemoView(Protocol):
    """How the demo shows itself (the CLI renders; tests may record)."""

    def step(self, title: str) -> None: ...
    def note(self, text: str) -> None: ...
    def progress(self, text: str) -> None: ...
    def wrote(self, action: str, key: str, detail: Any) -> None: ...
    def log(self, event: Any) -> None: ...  # a ddbstream.logs.LogEvent, from the tail's thread
    def dead_letter(self, summary: dict[str, Any], records: list[dict[str, Any]]) -> None: ...
    def status(self, report: dict[str, Any]) -> None: ...
    def next_steps(self, steps: list[tuple[str, str]]) -> None: ...


class TargetView:
    """A DemoView as the TargetUI the local target reports through: its notes and progress lines."""

    def __init__(self, view: DemoView):
        self.view = view

    def note(self, message: str) -> None:
        self.view.note(message)

    def passing(self, message: str) -> None:
        self.view.note(message)

    @contextmanager
    def spinner(self, title: str) -> Iterator[Callable[[str], None]]:
        yield self.view.progress  # each step on its own line: the demo keeps its output as a log

    @contextmanager
    def activity(self, title: str) -> Iterator[Callable[[str], None]]:
        yield lambda line: None

    def confirm(self, question: str, shown: Sequence[str] = ()) -> bool:
        return False  # the demo never changes anything that asks
