"""`metrics`: the pipeline's CloudWatch metrics over a time range (a table, JSON when piped)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ddbstream.cli.common import JsonOption


def metrics(
    since: Annotated[
        str, typer.Option("--since", help="From when: a duration back from now (15m, 1h, 2d) or an ISO 8601 time.")
    ] = "1h",
    as_json: JsonOption = False,
) -> None:
    """Show the function's, table's and dead-letter queue's metrics: totals, latest values, sparklines.

    One sparkline character per period (a minute, longer for long ranges). Example: ddbstream metrics --since 15m
    """
    import time

    from ddbstream.cli.common import current_pipeline
    from ddbstream.cli.output import console, emit_json, stdout_is_terminal
    from ddbstream.durations import parse_time
    from ddbstream.errors import InvalidInput
    from ddbstream.metrics import pipeline_metrics, read, sparkline, summary

    now = time.time()
    seconds = now - parse_time(since, "--since", now) / 1000
    if seconds <= 0:
        raise InvalidInput(f"invalid --since {since!r}: it must be in the past")
    pipeline = current_pipeline()
    found = read(pipeline.client("cloudwatch"), pipeline_metrics(pipeline), seconds, now)
    for series in found["metrics"]:
        series["total"], series["latest"] = summary(series)
        series["sparkline"] = sparkline(series, found["start"], found["end"], found["period"])
    if as_json or not stdout_is_terminal():
        emit_json(found, pretty=False if not stdout_is_terminal() else None)
        return
    console().print(_table(found))


def _table(found: dict[str, Any]) -> Any:
    from rich.table import Table
    from rich.text import Text

    from ddbstream.cli.output import safe
    from ddbstream.cli.status_view import amount

    table = Table(title=f"metrics, one column a {found['period'] // 60} min period", title_justify="left")
    for column in ("metric", "statistic", "total / peak", "latest"):
        table.add_column(column, no_wrap=True)
    table.add_column("sparkline", no_wrap=True, overflow="crop")
    for series in found["metrics"]:
        table.add_row(
            Text(safe(series["label"])),
            Text(safe(f"{series['namespace']} {series['metric']} {series['statistic']}")),
            Text(amount(series["total"], series["unit"])),
            Text(amount(series["latest"], series["unit"])),
            Text(safe(series["sparkline"]), style="cyan"),
        )
    return table


def register(app: typer.Typer) -> None:
    app.command()(metrics)
