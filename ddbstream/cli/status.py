"""`status`: table, stream, mappings, function, dead-letter queue, alarms and daemon at a glance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer

from ddbstream.cli.common import JsonOption


def status(
    as_json: JsonOption = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", "-w", help="Refresh in place until Ctrl-C (piped or with --json: one report per interval)."
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between refreshes with --watch.", min=0.5)
    ] = 2.0,
    check: Annotated[
        bool, typer.Option("--check", help="Exit non-zero (11) when something is unhealthy, naming it.")
    ] = False,
) -> None:
    """Show the pipeline's table, mappings, function, dead-letter queue, alarms and daemon.

    Example: ddbstream status --check
    """
    from ddbstream.cli.common import current_pipeline
    from ddbstream.cli.output import console, emit_json, note
    from ddbstream.errors import InvalidInput, Unhealthy
    from ddbstream.status import collect

    if watch and check:
        raise InvalidInput("--watch cannot be combined with --check")
    pipeline = current_pipeline()
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = pipeline.client(service)
        return cache[service]

    if watch:
        _watch(lambda: collect(pipeline, client), interval, as_json)
    report = collect(pipeline, client)
    if as_json:
        emit_json(report, pretty=False)
    else:
        from ddbstream.cli.status_view import render  # rich: not needed for --json

        console().print(render(report))
    if check:
        if report["problems"]:
            raise Unhealthy("unhealthy: " + "; ".join(report["problems"]))
        note("healthy")


def _watch(collect_report: Callable[[], dict[str, Any]], interval: float, as_json: bool) -> NoReturn:
    """Every `interval` seconds until Ctrl-C: the compact report redrawn in place on a terminal;
    piped, or with --json, one report after another (--json: one JSON document per line)."""
    import time

    from ddbstream.cli.output import console, emit_json, stdout_is_terminal

    if as_json:
        while True:
            emit_json(collect_report(), pretty=False)
            time.sleep(interval)
    from ddbstream.cli.status_view import render_compact

    if not stdout_is_terminal():
        while True:
            console().print(render_compact(collect_report(), interval))
            console().file.flush()
            time.sleep(interval)
    from rich.live import Live

    with Live(render_compact(collect_report(), interval), console=console(), auto_refresh=False) as live:
        while True:
            time.sleep(interval)
            live.update(render_compact(collect_report(), interval), refresh=True)


def register(app: typer.Typer) -> None:
    app.command()(status)
