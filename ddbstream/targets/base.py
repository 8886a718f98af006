"""What every deployment target offers (``Target``) and what it needs from its caller (``TargetUI``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ddbstream.pipeline import Pipeline
    from ddbstream.plan import Plan
    from ddbstream.spec import Spec

Progress = Callable[[str], None]


class TargetUI(Protocol):
    """How a target talks to a person while it works: the CLI gives it a console, the demo its view."""

    def note(self, message: str) -> None:
        """One status line."""

    def passing(self, message: str) -> None:
        """A status line only a person watching needs (waiting for a lock): a script's stderr stays for errors."""

    def spinner(self, title: str) -> AbstractContextManager[Progress]:
        """A spinner for a long step; yields the callback that replaces its text."""

    def activity(self, title: str) -> AbstractContextManager[Progress]:
        """A spinner while an external tool runs; yields the callback that receives the tool's output lines."""

    def confirm(self, question: str, shown: Sequence[str] = ()) -> bool:
        """Whether the person agrees to ``question`` (False: they refused), asked after ``shown`` (a plan)."""


class Target(Protocol):
    """A place the pipeline runs: ``local`` (the embedded daemon) or ``aws`` (Terraform)."""

    name: str

    def prepare(self) -> None:
        """Start what takes long and needs no spec, while the caller reads the spec (local: boot the daemon)."""

    def cancel(self) -> None:
        """Undo ``prepare()`` when no ``up()`` follows (the spec turned out invalid, say)."""

    def up(self, spec: Spec) -> tuple[Pipeline, list[str]]:
        """Apply the spec's plan (each change said through the UI); returns the pipeline and notes on drift
        that could not be fixed."""

    def plan(self, spec: Spec) -> Plan:
        """What ``up(spec)`` would change, resource by resource, changing nothing."""

    def down(self) -> bool:
        """Stop the pipeline, keeping what the next ``up()`` brings back; True when something was stopped."""

    def destroy(self, spec: Spec | None = None) -> bool:
        """Delete the pipeline and its data (aws needs the spec Terraform applied); True when anything went."""


def bring_up(target: Target, read_spec: Callable[[], Spec]) -> tuple[Pipeline, list[str]]:
    """``target.up()`` with the spec read while the target prepares (a new local daemon boots meanwhile)."""
    target.prepare()
    try:
        spec = read_spec()
    except BaseException:
        target.cancel()
        raise
    return target.up(spec)
