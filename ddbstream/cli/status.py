"""`status`: table, stream, mappings, function, dead-letter queue, alarms and daemon at a glance."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ddbstream.cli.common import JsonOption


def _value(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _age(ms: Any) -> str:
    if ms is None:
        return "-"
    ms = float(ms)
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.0f} s"


def render(report: dict[str, Any]):
    """The report as rich renderables (a grid per section)."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from ddbstream.durations import humanize_seconds

    parts: list[Any] = []

    def section(title: str, rows: list[tuple[str, Any]], error: str | None = None) -> None:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")  # ARNs and URLs wrap rather than lose their ends
        if error:
            grid.add_row("error", Text(error, style="red"))
        for label, value in rows:
            grid.add_row(label, value if isinstance(value, Text) else Text(_value(value)))
        parts.append(f"[bold underline]{escape(title)}[/]")
        parts.append(grid)
        parts.append("")

    def good(value: Any, ok: bool) -> Text:
        return Text(_value(value), style="green" if ok else "red")

    table = report.get("table")
    if table is not None:
        if "error" in table:
            section("table", [], table["error"])
        else:
            keys = ", ".join(f"{k['name']} ({k['role']}, {k['type']})" for k in table["keySchema"])
            ttl = table.get("ttl") or {}
            section(f"table {table['name']}", [
                ("status", good(table["status"], table["status"] == "ACTIVE")),
                ("items", table.get("itemCount")),
                ("key schema", keys),
                ("billing", table.get("billingMode")),
                ("stream", good("enabled" if table["streamEnabled"] else "disabled", table["streamEnabled"])),
                ("view type", table.get("streamViewType")),
                ("stream arn", table.get("streamArn")),
                ("ttl", ttl.get("error") or f"{_value(ttl.get('status'))} ({_value(ttl.get('attribute'))})"),
                ("pitr", table.get("pointInTimeRecovery")),
            ])
    mappings = report.get("mappings")
    if isinstance(mappings, dict):
        section("mappings", [], mappings.get("error"))
    for mapping in mappings if isinstance(mappings, list) else []:
        result = mapping.get("lastProcessingResult") or ""
        section(f"mapping {mapping['uuid']}", [
            ("state", good(mapping["state"], mapping["state"] == "Enabled")),
            ("reason", mapping.get("stateTransitionReason")),
            ("last result", good(result or "-", not result.upper().startswith("PROBLEM"))),
            ("batch size", mapping.get("batchSize")),
            ("window", f"{_value(mapping.get('maximumBatchingWindowInSeconds'))} s"),
            ("retries", mapping.get("maximumRetryAttempts")),
            ("bisect", mapping.get("bisectBatchOnFunctionError")),
            ("max record age", mapping.get("maximumRecordAgeInSeconds")),
            ("parallelization", mapping.get("parallelizationFactor")),
            ("filters", mapping.get("filters")),
            ("response types", mapping.get("functionResponseTypes")),
            ("on failure", mapping.get("onFailureDestination")),
            ("iterator age", _age(mapping.get("iteratorAgeMs"))),
            *([("pending records", mapping["pendingRecords"])] if "pendingRecords" in mapping else []),
        ])
    function = report.get("function")
    if function is not None:
        if "error" in function:
            section("function", [], function["error"])
        else:
            section(f"function {function['name']}", [
                ("state", function.get("state")),
                ("runtime", function.get("runtime")),
                ("handler", function.get("handler")),
                ("memory", f"{_value(function.get('memoryMB'))} MB"),
                ("timeout", f"{_value(function.get('timeoutSeconds'))} s"),
                ("last modified", function.get("lastModified")),
            ])
    dlq = report.get("dlq")
    if dlq is not None:
        if "error" in dlq:
            section("dead-letter queue", [], dlq["error"])
        else:
            section("dead-letter queue", [
                ("url", dlq["url"]),
                ("messages", good(dlq["visible"], dlq["visible"] == 0)),
                ("in flight", good(dlq["inFlight"], dlq["inFlight"] == 0)),
            ])
    alarms = report.get("alarms")
    if isinstance(alarms, dict):
        section("alarms", [], alarms.get("error"))
    elif alarms:
        section("alarms", [(a["name"], good(a["state"], a["state"] != "ALARM")) for a in alarms])
    daemon = report.get("daemon")
    if daemon is not None:
        uptime = daemon.get("uptimeSeconds")
        section("local daemon", [
            ("pid", daemon.get("pid")),
            ("endpoint", daemon.get("endpoint")),
            ("health", good("ok" if daemon["healthy"] else "not answering", daemon["healthy"])),
            ("uptime", humanize_seconds(uptime) if uptime is not None else None),
        ])
    found = report.get("problems") or []
    if found:
        parts.append("[bold red]problems[/]")
        parts.extend(f"  [red]•[/] {escape(p)}" for p in found)
    else:
        parts.append("[bold green]healthy[/]")
    return Group(*parts)


def status(
    as_json: JsonOption = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh in place until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes with --watch.", min=0.5)] = 2.0,
    check: Annotated[bool, typer.Option("--check", help="Exit non-zero (11) when something is unhealthy, naming it.")] = False,
) -> None:
    """Show the pipeline's table, mappings, function, dead-letter queue, alarms and daemon.

    Example: ddbstream status --check
    """
    import time

    from ddbstream.cli.common import current_state
    from ddbstream.cli.output import console, emit_json, note
    from ddbstream.clients import client_for
    from ddbstream.errors import InvalidInput, Unhealthy
    from ddbstream.status import collect

    if watch and (as_json or check):
        raise InvalidInput("--watch cannot be combined with --json or --check")
    state = current_state()
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = client_for(state, service)
        return cache[service]

    if watch:
        from rich.live import Live

        with Live(render(collect(state, client)), console=console(), auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(render(collect(state, client)), refresh=True)
    report = collect(state, client)
    if as_json:
        emit_json(report, pretty=False)
    else:
        console().print(render(report))
    if check:
        if report["problems"]:
            raise Unhealthy("unhealthy: " + "; ".join(report["problems"]))
        note("healthy")


def register(app: typer.Typer) -> None:
    app.command()(status)
