"""`demo`: the whole pipeline in one command, on the local target."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer


class ConsoleView:
    """Prints the demo on stdout: rich on a terminal, plain text when piped."""

    def __init__(self) -> None:
        from ddbstream.cli.output import console, stdout_is_terminal
        from ddbstream.logs import Renderer

        self.out = console()
        # As `ddbstream tail` shows them; one line per event when piped.
        self.renderer = Renderer("pretty" if stdout_is_terminal() else "short")
        self.steps = 0

    def step(self, title: str) -> None:
        from ddbstream.cli.output import escape

        self.steps += 1
        self.out.print()
        self.out.print(f"[bold cyan]{self.steps}. {escape(title)}[/]")

    def note(self, text: str) -> None:
        from ddbstream.cli.output import escape

        self.out.print(f"   [dim]{escape(text)}[/]")

    progress = note

    def wrote(self, action: str, key: str, detail: Any) -> None:
        from ddbstream.cli.output import escape

        suffix = f"  [dim]{escape(str(detail))}[/]" if detail else ""
        self.out.print(f"   [bold]{action}[/] {escape(key)}{suffix}")

    def log(self, event: Any) -> None:
        from rich.padding import Padding

        shown = self.renderer.render(event)
        if isinstance(shown, str):
            self.out.print("     " + shown, markup=False)
        elif shown is not None:
            self.out.print(Padding(shown, (0, 0, 0, 5), expand=False))

    def dead_letter(self, summary: dict[str, Any], records: list[dict[str, Any]]) -> None:
        from ddbstream.cli.dlq_view import print_dead_letter

        print_dead_letter(self.out, summary, records, indent="   ")

    def status(self, report: dict[str, Any]) -> None:
        from ddbstream.cli.status_view import render

        self.out.print(render(report))

    def next_steps(self, steps: list[tuple[str, str]]) -> None:
        from ddbstream.cli.output import escape

        self.out.print()
        self.out.print("[bold cyan]Try next[/]")
        width = max(len(command) for command, _ in steps)
        for command, why in steps:
            self.out.print(f"   [bold]{escape(command.ljust(width))}[/]  [dim]{escape(why)}[/]")


def demo(
    down: Annotated[bool, typer.Option("--down", help="Stop the local stack at the end.")] = False,
    runtime: Annotated[
        Optional[str],
        typer.Option(
            "--runtime",
            help="Deploy the consumer for this Lambda runtime first, e.g. nodejs20.x (lambda/nodejs) or python3.12.",
        ),
    ] = None,
    example: Annotated[
        Optional[str],
        typer.Option(
            "--example",
            help="Tour an example instead: crud-api (seed 003's CRUD API and its bus, from infra/examples/crud_api.tfvars).",
        ),
    ] = None,
) -> None:
    """Show the whole pipeline on the local target: writes, live consumer logs, a failure in the DLQ, status.

    Reuses a running local stack. Failure injection (FAIL_ATTRIBUTE=poison) is switched on for the demo only and put back afterwards; with --down, the stack it starts has fail_attribute=poison and is stopped at the end. --example crud-api brings the stack up with infra/examples/crud_api.tfvars and calls its HTTP API instead.

    Example: ddbstream demo --down --runtime nodejs20.x
    """
    if example is not None:
        _run_example(example, down, runtime)
        return
    from ddbstream.demo import run_demo

    run_demo(ConsoleView(), down=down, runtime=runtime)


EXAMPLES = ("crud-api",)


def _run_example(example: str, down: bool, runtime: str | None) -> None:
    from ddbstream.errors import InvalidInput

    if example not in EXAMPLES:
        raise InvalidInput(f"unknown example {example!r}: use one of {', '.join(EXAMPLES)}")
    if runtime is not None:
        raise InvalidInput("--runtime applies to the default demo, not to --example")
    from ddbstream.demo import run_crud_demo

    run_crud_demo(ConsoleView(), down=down)


def register(app: typer.Typer) -> None:
    app.command()(demo)
