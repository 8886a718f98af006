"""A saved handler file's syntax, checked before it is deployed: Python compiled here, Node.js by
``node --check``. The first error comes back as one line; nothing is deployed while one remains."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ddbstream.errors import RuntimeUnavailable
from ddbstream.interpreters import local_node

PYTHON_SUFFIXES = (".py",)
NODE_SUFFIXES = (".js", ".cjs", ".mjs")
NODE_CHECK_TIMEOUT = 10.0


class SyntaxChecker:
    """Checks source files by their suffix; finds node once, on the first JavaScript file."""

    def __init__(self) -> None:
        self._node: str | None = None
        self._node_looked = False

    def error(self, path: Path) -> str | None:
        """``path:line:column: message`` for the file's first syntax error; None when it parses (or is
        no source file, or is gone)."""
        if not path.is_file():
            return None
        if path.suffix in PYTHON_SUFFIXES:
            return _python_error(path)
        if path.suffix in NODE_SUFFIXES:
            node = self._node_executable()
            return _node_error(node, path) if node else None
        return None

    def _node_executable(self) -> str | None:
        if not self._node_looked:
            self._node_looked = True
            try:
                self._node = local_node("nodejs").executable
            except RuntimeUnavailable:
                self._node = None  # the deploy says there is no node; nothing to check with
        return self._node


def _python_error(path: Path) -> str | None:
    """Compiled by this interpreter (the one that runs the function locally unless python3.N is on PATH)."""
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{exc.lineno}:{exc.offset}" if exc.offset else f"{exc.lineno}"
        return f"{where}: {type(exc).__name__}: {exc.msg}"
    except (ValueError, OSError) as exc:  # a null byte; the file went away meanwhile
        return f"{type(exc).__name__}: {exc}"
    return None


def _node_error(node: str, path: Path) -> str | None:
    """``node --check`` prints ``file:line``, the line, a caret, then ``SyntaxError: message``."""
    try:
        checked = subprocess.run(
            [node, "--check", str(path)],
            capture_output=True,
            text=True,
            timeout=NODE_CHECK_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if checked.returncode == 0:
        return None
    lines = [line.strip() for line in checked.stderr.splitlines() if line.strip()]
    line_no = lines[0].rpartition(":")[2] if lines and lines[0].startswith(str(path)) else ""
    message = next((line for line in lines if "Error:" in line.split(" ", 1)[0]), lines[-1] if lines else "")
    return f"{line_no}: {message}" if line_no.isdigit() else message
