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
            section(
                f"table {table['name']}",
                [
                    ("status", good(table["status"], table["status"] == "ACTIVE")),
                    ("items", table.get("itemCount")),
                    ("key schema", keys),
                    ("billing", table.get("billingMode")),
                    ("stream", good("enabled" if table["streamEnabled"] else "disabled", table["streamEnabled"])),
                    ("view type", table.get("streamViewType")),
                    ("stream arn", table.get("streamArn")),
                    ("ttl", ttl.get("error") or f"{_value(ttl.get('status'))} ({_value(ttl.get('attribute'))})"),
                    ("pitr", table.get("pointInTimeRecovery")),
                ],
            )
    mappings = report.get("mappings")
    if isinstance(mappings, dict):
        section("mappings", [], mappings.get("error"))
    for mapping in mappings if isinstance(mappings, list) else []:
        result = mapping.get("lastProcessingResult") or ""
        section(
            f"mapping {mapping['uuid']}",
            [
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
            ],
        )
    function = report.get("function")
    if function is not None:
        if "error" in function:
            section("function", [], function["error"])
        else:
            section(
                f"function {function['name']}",
                [
                    ("state", function.get("state")),
                    ("runtime", function.get("runtime")),
                    ("handler", function.get("handler")),
                    ("memory", f"{_value(function.get('memoryMB'))} MB"),
                    ("timeout", f"{_value(function.get('timeoutSeconds'))} s"),
                    ("last modified", function.get("lastModified")),
                ],
            )
    dlq = report.get("dlq")
    if dlq is not None:
        if "error" in dlq:
            section("dead-letter queue", [], dlq["error"])
        else:
            section(
                "dead-letter queue",
                [
                    ("url", dlq["url"]),
                    ("messages", good(dlq["visible"], dlq["visible"] == 0)),
                    ("in flight", good(dlq["inFlight"], dlq["inFlight"] == 0)),
                ],
            )
    alarms = report.get("alarms")
    if isinstance(alarms, dict):
        section("alarms", [], alarms.get("error"))
    elif alarms:
        section("alarms", [(a["name"], good(a["state"], a["state"] != "ALARM")) for a in alarms])
    daemon = report.get("daemon")
    if daemon is not None:
        uptime = daemon.get("uptimeSeconds")
        section(
            "local daemon",
            [
                ("pid", daemon.get("pid")),
                ("endpoint", daemon.get("endpoint")),
                ("health", good("ok" if daemon["healthy"] else "not answering", daemon["healthy"])),
                ("uptime", humanize_seconds(uptime) if uptime is not None else None),
            ],
        )
    found = report.get("problems") or []
    if found:
        parts.append("[bold red]problems[/]")
        parts.extend(f"  [red]•[/] {escape(p)}" for p in found)
    else:
        parts.append("[bold green]healthy[/]")
    return Group(*parts)


def render_compact(report: dict[str, Any], interval: float):
    """A screenful for --watch: each part on one line, the numbers that change first."""
    import time

    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from ddbstream.durations import humanize_seconds

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")

    def line(*parts: tuple[str, str | None]) -> Text:
        text = Text()
        for index, (value, style) in enumerate(parts):
            if index:
                text.append(" · ")
            text.append(value, style=style)
        return text

    def error_of(section: Any) -> Text | None:
        return Text(section["error"], style="red") if isinstance(section, dict) and "error" in section else None

    table = report.get("table")
    if table is not None:
        grid.add_row(
            f"table {table.get('name', '')}".strip(),
            error_of(table)
            or line(
                (table["status"], "green" if table["status"] == "ACTIVE" else "red"),
                (f"{_value(table.get('itemCount'))} items", None),
                (f"stream {table.get('streamViewType') or 'disabled'}", None if table["streamEnabled"] else "red"),
            ),
        )
    mappings = report.get("mappings")
    if isinstance(mappings, dict):
        grid.add_row("mappings", error_of(mappings))
    for mapping in mappings if isinstance(mappings, list) else []:
        result = mapping.get("lastProcessingResult") or "-"
        parts = [
            (mapping["state"], "green" if mapping["state"] == "Enabled" else "red"),
            (result, "red" if result.upper().startswith("PROBLEM") else None),
            (f"iterator age {_age(mapping.get('iteratorAgeMs'))}", None),
        ]
        if "pendingRecords" in mapping:
            parts.append((f"{mapping['pendingRecords']} pending", None))
        grid.add_row(f"mapping {mapping['uuid'][:8]}", line(*parts))
    function = report.get("function")
    if function is not None:
        grid.add_row(
            f"function {function.get('name', '')}".strip(),
            error_of(function)
            or line(
                (_value(function.get("state")), None),
                (_value(function.get("runtime")), None),
                (f"{_value(function.get('memoryMB'))} MB", None),
                (f"{_value(function.get('timeoutSeconds'))} s", None),
            ),
        )
    dlq = report.get("dlq")
    if dlq is not None:
        grid.add_row(
            "dead-letter queue",
            error_of(dlq)
            or line(
                (f"{dlq['visible']} messages", "green" if dlq["visible"] == 0 else "red"),
                (f"{dlq['inFlight']} in flight", None),
            ),
        )
    alarms = report.get("alarms")
    if isinstance(alarms, dict):
        grid.add_row("alarms", error_of(alarms))
    elif alarms:
        grid.add_row(
            "alarms", line(*[(f"{a['name']} {a['state']}", "red" if a["state"] == "ALARM" else None) for a in alarms])
        )
    daemon = report.get("daemon")
    if daemon is not None:
        uptime = daemon.get("uptimeSeconds")
        grid.add_row(
            "local daemon",
            line(
                (f"pid {daemon.get('pid')}", None),
                ("ok" if daemon["healthy"] else "not answering", "green" if daemon["healthy"] else "red"),
                (f"up {humanize_seconds(uptime)}" if uptime is not None else "up -", None),
            ),
        )
    found = report.get("problems") or []
    verdict = (
        Text("healthy", style="bold green") if not found else Text("\n".join(f"• {p}" for p in found), style="red")
    )
    footer = Text(f"updated {time.strftime('%H:%M:%S')} · every {interval:g} s · Ctrl-C to stop", style="dim")
    return Group(grid, verdict, footer)


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

        with Live(render_compact(collect(state, client), interval), console=console(), auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(render_compact(collect(state, client), interval), refresh=True)
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
