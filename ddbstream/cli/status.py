"""`status`: table, stream, mappings, function, dead-letter queue, alarms and daemon at a glance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer

from ddbstream.cli.common import JsonOption


def status(
    as_json: JsonOption = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh in place until Ctrl-C.")] = False,
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

    if watch and (as_json or check):
        raise InvalidInput("--watch cannot be combined with --json or --check")
    pipeline = current_pipeline()
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = pipeline.client(service)
        return cache[service]

    if watch:
        _watch(lambda: collect(pipeline, client), interval)
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


def _watch(collect_report: Callable[[], dict[str, Any]], interval: float) -> NoReturn:
    """Redraw the compact report in place every `interval` seconds until Ctrl-C."""
    import time

    from rich.live import Live

    from ddbstream.cli.output import console
    from ddbstream.cli.status_view import render_compact

    with Live(render_compact(collect_report(), interval), console=console(), auto_refresh=False) as live:
        while True:
            time.sleep(interval)
            live.update(render_compact(collect_report(), interval), refresh=True)


def register(app: typer.Typer) -> None:
    app.command()(status)
