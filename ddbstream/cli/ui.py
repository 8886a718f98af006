"""The console a target talks through (ddbstream.targets.TargetUI): spinners, status lines, a confirmation."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from ddbstream.cli.output import console, err_console, escape, note, safe, spinner
from ddbstream.errors import Cancelled


class ConsoleUI:
    """The CLI's spinner, status lines and confirmation; ``assume_yes`` (--yes) agrees without asking."""

    def __init__(self, verbose: bool = False, assume_yes: bool = False):
        self.verbose = verbose
        self.assume_yes = assume_yes

    def note(self, message: str) -> None:
        note(escape(message))

    def passing(self, message: str) -> None:
        if sys.stderr.isatty():  # like a spinner: shown on a terminal only
            self.note(message)

    @contextmanager
    def spinner(self, title: str) -> Iterator[Callable[[str], None]]:
        """A spinner titled ``title``; yields the callback that replaces its text."""
        with spinner(escape(title)) as status:
            yield lambda text: status.update(escape(text))

    @contextmanager
    def activity(self, title: str) -> Iterator[Callable[[str], None]]:
        """A spinner titled ``title``; yields the callback that receives a tool's output lines (Terraform's)."""
        if not self.verbose and not sys.stderr.isatty():
            self.note(f"{title} ...")  # no spinner when piped: one line per step
        with spinner(escape(title)) as status:

            def on_line(line: str) -> None:
                if self.verbose:
                    err_console().print(escape(line))
                elif line.strip():
                    status.update(f"{escape(title)}: {escape(line.strip()[:100])}")

            yield on_line

    def confirm(self, question: str, shown: Sequence[str] = ()) -> bool:
        """Ask on the terminal (or read the answer from stdin) after ``shown`` (a plan). No answer at all
        is a refusal: ``shown`` then goes to stdout, and the refusal is one error line."""
        if self.assume_yes:
            return True
        if sys.stdin.isatty():
            self._ask(question, shown)
            answer = sys.stdin.readline()
        else:
            answer = sys.stdin.readline()  # first: whether there is an answer decides where the plan goes
            if answer:
                self._ask(question, shown)
                sys.stderr.write(safe(answer.rstrip("\n")) + "\n")  # a piped answer is not echoed by a terminal
            else:
                for line in shown:
                    console().print(escape(line), highlight=False)
        if not answer:
            raise Cancelled(f"no answer to '{question}' (stdin is closed): pass --yes to go ahead without asking")
        return answer.strip().lower() in ("y", "yes")

    def _ask(self, question: str, shown: Sequence[str]) -> None:
        for line in shown:
            self.note(line)
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
