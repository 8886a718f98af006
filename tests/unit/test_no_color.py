"""NO_COLOR: no ANSI styles at all (no-color.org), and every console is made in one place."""

from __future__ import annotations

import io
import re
from pathlib import Path

from ddbstream.cli import output

PACKAGE = Path(__file__).resolve().parents[2] / "ddbstream"


def test_every_rich_console_is_made_by_cli_output():
    makers = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\bConsole\(", path.read_text(encoding="utf-8"))
    ]
    assert makers == ["cli/output.py"]


def test_no_color_drops_bold_italic_and_dim_too(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    console = output._make_console(stderr=False)
    console.file = io.StringIO()
    console.force_terminal = True  # as on a terminal
    console.print("[bold]b[/] [italic]i[/] [dim]d[/] [red]r[/]")
    assert console.file.getvalue() == "b i d r\n"
