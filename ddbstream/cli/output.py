"""Console output shared by every command: rich on a terminal, plain when piped, NO_COLOR honoured.

User data (items, names, log lines, messages) is only ever printed as text: through safe() as plain text
or in a rich Text, through escape() inside markup (note, spinner, console().print, table cells), and
JSON through safe_json() (emit_json does it).
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any

from ddbstream.terminal import escape, json_text, plain_text, safe, safe_json  # noqa: F401 (the CLI imports them from here)


@cache
def console():
    """The stdout console: every console the CLI prints through is made by _make_console."""
    return _make_console(stderr=False)


@cache
def err_console():
    return _make_console(stderr=True)


def _make_console(stderr: bool):
    """A rich Console; with NO_COLOR set it emits no ANSI styles at all (rich alone keeps bold,
    italic and dim), and piped output is plain because rich finds no terminal."""
    from rich.console import Console

    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}
    return Console(stderr=stderr, highlight=False, emoji=False, soft_wrap=True, **plain)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def emit_json(value: Any, pretty: bool | None = None) -> None:
    """Write a plain value as JSON on stdout: indented and highlighted on a terminal, one line when piped."""
    from ddbstream.items import dumps_plain

    pretty = stdout_is_terminal() if pretty is None else pretty
    text = dumps_plain(value, indent=2 if pretty else None)
    if pretty and stdout_is_terminal() and not os.environ.get("NO_COLOR"):
        console().print(json_text(text))
    else:
        sys.stdout.write(safe_json(text) + "\n")
        sys.stdout.flush()


def note(message: str) -> None:
    """A status line for people (stderr, so stdout stays clean for scripts); rich markup, data put in with escape()."""
    if sys.stderr.isatty():
        err_console().print(message)
    else:  # piped: plain text, and no need to load rich for one line
        sys.stderr.write(plain_text(message) + "\n")


def error(message: str) -> None:
    """The one line a failure prints (a message that spans lines is joined into one; data in it shown safe)."""
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    if not sys.stderr.isatty():
        sys.stderr.write(f"error: {safe(message)}\n")
        return
    err_console().print(f"[bold red]error:[/] {escape(message)}")


def spinner(message: str):
    """A spinner on a terminal (``message`` is markup, data put in with escape()); a no-op context when piped."""
    import contextlib

    if not sys.stderr.isatty():
        return contextlib.nullcontext(_Quiet())
    return err_console().status(message)


class _Quiet:
    def update(self, *args: Any, **kwargs: Any) -> None:
        pass
