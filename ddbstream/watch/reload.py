"""`up --watch`: on each save under lambda/ or infra/, apply the spec again (the plan/apply of `up`).

Handler code goes out as UpdateFunctionCode: the runtime retires the warm workers of the old code
and the next batch runs the new one, while the mapping keeps its checkpoint (nothing is delivered
again or skipped). Function and mapping settings go out as UpdateFunctionConfiguration and
UpdateEventSourceMapping. A syntax error in a saved source file stops the deploy until it is fixed:
the code deployed before keeps running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ddbstream.errors import DdbstreamError
from ddbstream.watch.syntax import SyntaxChecker
from ddbstream.watch.watched import CODE, Watched

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ddbstream.spec import Spec
    from ddbstream.targets import Target

STEP_MS = 30  # a save is reported once no more changes came for this long (an editor writes in steps)
DEBOUNCE_MS = 1_000  # saves are grouped over at most this long
READY_MS = 100  # how long the watcher waits for a change before its loop turns (an empty step)


@dataclass
class Reload:
    """One reload: the files saved, how long it took, what the apply changed, or why nothing was applied."""

    files: str  # "lambda/handler.py, infra/terraform.tfvars"
    seconds: float
    applied: list[str] = field(default_factory=list)  # one line per change the apply made
    notes: list[str] = field(default_factory=list)  # drift the apply could not fix, a restored stack...
    error: str | None = None  # not applied: a syntax error, an invalid setting, a refused deletion
    syntax: bool = False  # the error is a syntax error (it names its file itself)

    def line(self) -> str:
        """The reload's one line."""
        took = f"{self.seconds:.2f} s"
        if self.error is not None:
            return f"not reloaded: {self.error}" if self.syntax else f"not reloaded ({self.files}): {self.error}"
        if not self.applied:
            return f"{self.files}: no changes to deploy ({took})"
        return f"reloaded in {took} ({self.files}): {'; '.join(self.applied)}"


class QuietUI:
    """The TargetUI a reload applies through: no spinners; the change lines are kept for its one line."""

    def __init__(self, assume_yes: bool) -> None:
        self.assume_yes = assume_yes  # without --yes a reload never deletes a table, queue or bucket
        self.lines: list[str] = []

    def note(self, message: str) -> None:
        self.lines.append(message)

    def passing(self, message: str) -> None:
        pass

    @contextmanager
    def spinner(self, title: str) -> Iterator[Callable[[str], None]]:
        yield lambda _: None

    activity = spinner

    def confirm(self, question: str, shown: object = ()) -> bool:
        return self.assume_yes

    def take(self) -> list[str]:
        taken, self.lines = self.lines, []
        return taken


class DevLoop:
    """Watches ``watched`` and applies ``read_spec()`` through ``target`` on each relevant save."""

    def __init__(self, target: Target, read_spec: Callable[[], Spec], watched: Watched, assume_yes: bool = False):
        self.target = target
        self.read_spec = read_spec
        self.watched = watched
        self.ui = QuietUI(assume_yes)
        target.ui = self.ui  # type: ignore[attr-defined]  # both targets keep the UI they talk through
        self.checker = SyntaxChecker()
        self.broken: dict[Path, str] = {}  # source files whose last save did not parse -> the error

    def run(
        self,
        on_reload: Callable[[Reload], None],
        stop: threading.Event | None = None,
        on_ready: Callable[[], None] | None = None,
        baseline: dict[Path, tuple[int, int]] | None = None,
    ) -> None:
        """Reload on every relevant save until ``stop`` is set (or Ctrl-C: KeyboardInterrupt).

        ``on_ready`` is called once the watcher is in place (a save from then on is seen); what was
        saved between ``baseline`` (a snapshot taken before the first `up`) and then is reloaded first.
        """
        from watchfiles import watch

        roots = self.watched.roots()
        ready = False
        # The watcher starts at the first step of the generator: a short timeout makes that step
        # return soon, so readiness is known (and said) at once.
        for changes in watch(
            *roots, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop, yield_on_timeout=True, rust_timeout=READY_MS
        ):
            paths = {Path(path) for _, path in changes}
            if not ready:
                ready = True
                if baseline is not None:
                    paths |= self.watched.changed_since(baseline)
                if on_ready is not None:
                    on_ready()
            if not paths:
                continue
            reload = self.reload(paths)
            if reload is not None:
                on_reload(reload)

    def reload(self, paths: Iterable[Path]) -> Reload | None:
        """Check, then apply, what ``paths`` changed; None when none of them deploys anything."""
        started = time.monotonic()
        kinds = {path: self.watched.kind(path) for path in paths}
        relevant = {path: kind for path, kind in kinds.items() if kind}
        if not relevant:
            return None
        files = self.watched.described(relevant)
        broken = self._check([path for path, kind in relevant.items() if kind == CODE])
        if broken:
            said = f"{broken}; the code deployed before keeps running"
            return Reload(files, time.monotonic() - started, error=said, syntax=True)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            _, notes = self.target.up(self.read_spec())
        except DdbstreamError as exc:
            self.ui.take()
            return Reload(files, time.monotonic() - started, error=exc.message)
        except (BotoCoreError, ClientError) as exc:  # an answer the provisioning does not translate
            self.ui.take()
            return Reload(files, time.monotonic() - started, error=str(exc))
        seconds = time.monotonic() - started
        applied = [line for line in self.ui.take() if not line.startswith("No changes.")]
        return Reload(files, seconds, applied=applied, notes=notes)

    def _check(self, saved: list[Path]) -> str | None:
        """The first syntax error among the saved files and those still broken, as one line."""
        for path in [*saved, *self.broken]:
            error = self.checker.error(path)
            if error:
                self.broken[path] = error
            else:
                self.broken.pop(path, None)
        if not self.broken:
            return None
        first, error = next(iter(self.broken.items()))
        more = f" (and {len(self.broken) - 1} more file(s))" if len(self.broken) > 1 else ""
        separator = ":" if error[:1].isdigit() else ": "  # path:line:column: message
        return f"{self.watched.shown(first)}{separator}{error}{more}"
