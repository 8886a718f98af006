"""How `status` shows its report: a grid per section, or one line per part for --watch."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ddbstream.cli.output import escape, safe
from ddbstream.durations import humanize_seconds

Rows = list[tuple[str, Any]]


def _value(value: Any) -> str:
    """A report value as terminal-safe text (names, reasons and errors come from AWS or the daemon)."""
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(safe(v) for v in value)
    return safe(value)


def _age(ms: Any) -> str:
    if ms is None:
        return "-"
    ms = float(ms)
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.0f} s"


def _good(value: Any, ok: bool) -> Text:
    return Text(_value(value), style="green" if ok else "red")


def _add_row(grid: Table, label: str, value: Text | None) -> None:
    grid.add_row(Text(safe(label)), value)


def _labelled_grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")  # ARNs and URLs wrap rather than lose their ends
    return grid


# ---------------------------------------------------------------- the full report


def render(report: dict[str, Any]) -> Group:
    """The report as rich renderables (a grid per section)."""
    parts: list[Any] = []
    for title, rows, error in _sections(report):
        parts.extend(_section(title, rows, error))
    found = report.get("problems") or []
    if found:
        parts.append("[bold red]problems[/]")
        parts.extend(f"  [red]•[/] {escape(p)}" for p in found)
    else:
        parts.append("[bold green]healthy[/]")
    return Group(*parts)


def _section(title: str, rows: Rows, error: str | None = None) -> list[Any]:
    """A titled grid of label/value rows, an error first when the section could not be read."""
    grid = _labelled_grid()
    if error:
        grid.add_row("error", Text(safe(error), style="red"))
    for label, value in rows:
        _add_row(grid, label, value if isinstance(value, Text) else Text(_value(value)))
    return [f"[bold underline]{escape(title)}[/]", grid, ""]


def _sections(report: dict[str, Any]) -> list[tuple[str, Rows, str | None]]:
    """(title, rows, error) of each section the report has, in display order."""
    sections: list[tuple[str, Rows, str | None]] = []
    table = report.get("table")
    if table is not None:
        sections.append(("table", [], table["error"]) if "error" in table else _table_section(table))
    mappings = report.get("mappings")
    if isinstance(mappings, dict):
        sections.append(("mappings", [], mappings.get("error")))
    for mapping in mappings if isinstance(mappings, list) else []:
        sections.append((f"mapping {mapping['uuid']}", _mapping_rows(mapping), None))
    function = report.get("function")
    if function is not None:
        sections.append(("function", [], function["error"]) if "error" in function else _function_section(function))
    errors = report.get("recentErrors")
    if errors is not None:
        title = f"recent errors (the consumer's log, last {errors.get('windowMinutes', '-')} min)"
        sections.append((title, [] if "error" in errors else _errors_rows(errors), errors.get("error")))
    dlq = report.get("dlq")
    if dlq is not None:
        sections.append(("dead-letter queue", [] if "error" in dlq else _dlq_rows(dlq), dlq.get("error")))
    alarms = report.get("alarms")
    if isinstance(alarms, dict):
        sections.append(("alarms", [], alarms.get("error")))
    elif alarms:
        sections.append(("alarms", [_alarm_row(alarm) for alarm in alarms], None))
    metrics = report.get("metrics")
    if isinstance(metrics, dict) and metrics.get("metrics"):
        title = f"metrics (last {metrics.get('minutes', 15)} min)"
        sections.append((title, [] if "error" in metrics else _metric_rows(metrics), metrics.get("error")))
    daemon = report.get("daemon")
    if daemon is not None:
        sections.append(("local daemon", _daemon_rows(daemon), None))
    for api in report.get("apis") or []:
        sections.append((f"http api {api['name']} ({api['apiId']})", _api_rows(api), None))
    if report.get("bus"):
        sections.append(("event bus rules", [_rule_row(rule) for rule in report["bus"]], None))
    others = report.get("others")
    if others:  # what the daemon runs beside the pipeline (`up --keep-old` left it)
        title = "also deployed (not part of the pipeline)"
        sections.append((title, [] if "error" in others else list(others.items()), others.get("error")))
    return sections


def _api_rows(api: dict[str, Any]) -> Rows:
    last = api.get("last_5xx")
    return [
        ("url", api.get("url") or "not deployed (no $default stage)"),
        ("routes", ", ".join(api.get("routes") or []) or None),
        ("requests", api.get("requests")),
        ("last 5xx", _good(f"{last['status']} on {last['route']}", False) if last else None),
    ]


def _rule_row(rule: dict[str, Any]) -> tuple[str, Text]:
    counts = f"{rule['matched']} matched, {rule['delivered']} delivered, {rule['failed']} failed"
    return rule["rule"].rsplit(":", 1)[-1], _good(counts, not rule["failed"])


def _table_section(table: dict[str, Any]) -> tuple[str, Rows, None]:
    keys = ", ".join(f"{k['name']} ({k['role']}, {k['type']})" for k in table["keySchema"])
    ttl = table.get("ttl") or {}
    rows: Rows = [
        ("status", _good(table["status"], table["status"] == "ACTIVE")),
        ("items", table.get("itemCount")),
        ("key schema", keys),
        ("billing", table.get("billingMode")),
        ("stream", _good("enabled" if table["streamEnabled"] else "disabled", table["streamEnabled"])),
        ("view type", table.get("streamViewType")),
        ("stream arn", table.get("streamArn")),
        ("ttl", ttl.get("error") or f"{_value(ttl.get('status'))} ({_value(ttl.get('attribute'))})"),
        ("pitr", table.get("pointInTimeRecovery")),
    ]
    return f"table {table['name']}", rows, None


def _mapping_rows(mapping: dict[str, Any]) -> Rows:
    result = mapping.get("lastProcessingResult") or ""
    return [
        ("state", _good(mapping["state"], mapping["state"] == "Enabled")),
        ("reason", mapping.get("stateTransitionReason")),
        ("last result", _good(result or "-", not result.upper().startswith("PROBLEM"))),
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
    ]


def _function_section(function: dict[str, Any]) -> tuple[str, Rows, None]:
    rows: Rows = [
        ("state", function.get("state")),
        ("runtime", function.get("runtime")),
        ("handler", function.get("handler")),
        ("memory", f"{_value(function.get('memoryMB'))} MB"),
        ("timeout", f"{_value(function.get('timeoutSeconds'))} s"),
        ("last modified", function.get("lastModified")),
    ]
    interpreter = function.get("localInterpreter") or {}
    if interpreter.get("executable"):
        rows.append(("runs on", interpreter["executable"]))
    if interpreter.get("warning"):
        rows.append(("warning", Text(safe(interpreter["warning"]), style="yellow")))
    return f"function {function['name']}", rows, None


def _errors_rows(errors: dict[str, Any]) -> Rows:
    failing = errors["failingSinceLastSuccess"]
    return [
        ("invocations", errors["invocations"]),
        ("failed", _good(errors["failed"], not errors["failed"])),
        ("failing now", _good(f"the last {failing}, none succeeded since" if failing else "no", not failing)),
    ]


def _dlq_rows(dlq: dict[str, Any]) -> Rows:
    return [
        ("url", dlq["url"]),
        ("messages", _good(dlq["visible"], dlq["visible"] == 0)),
        ("in flight", _good(dlq["inFlight"], dlq["inFlight"] == 0)),
    ]


def _daemon_rows(daemon: dict[str, Any]) -> Rows:
    uptime = daemon.get("uptimeSeconds")
    return [
        ("pid", daemon.get("pid")),
        ("endpoint", daemon.get("endpoint")),
        ("health", _good("ok" if daemon["healthy"] else "not answering", daemon["healthy"])),
        ("uptime", humanize_seconds(uptime) if uptime is not None else None),
    ]


# ---------------------------------------------------------------- the --watch screen

Parts = list[tuple[str, str | None]]  # (text, style) pieces of one line


def render_compact(report: dict[str, Any], interval: float) -> Group:
    """A screenful for --watch: each part on one line, the numbers that change first."""
    grid = _labelled_grid()
    for label, line in _compact_lines(report):
        _add_row(grid, label, line)
    found = report.get("problems") or []
    verdict = (
        Text("healthy", style="bold green")
        if not found
        else Text("\n".join(f"• {safe(p)}" for p in found), style="red")
    )
    footer = Text(f"updated {time.strftime('%H:%M:%S')} · every {interval:g} s · Ctrl-C to stop", style="dim")
    return Group(grid, verdict, footer)


def _joined(parts: Parts) -> Text:
    """The pieces of one line, separated by ' · '."""
    text = Text()
    for index, (value, style) in enumerate(parts):
        if index:
            text.append(" · ")
        text.append(safe(value), style=style)
    return text


def _error_of(section: Any) -> Text | None:
    return Text(safe(section["error"]), style="red") if isinstance(section, dict) and "error" in section else None


def _compact_lines(report: dict[str, Any]) -> list[tuple[str, Text | None]]:
    """(label, line) of each part the report has, in display order; a part that failed shows its error."""
    lines: list[tuple[str, Text | None]] = []
    table = report.get("table")
    if table is not None:
        lines.append((f"table {table.get('name', '')}".strip(), _error_of(table) or _joined(_table_parts(table))))
    mappings = report.get("mappings")
    if isinstance(mappings, dict):
        lines.append(("mappings", _error_of(mappings)))
    for mapping in mappings if isinstance(mappings, list) else []:
        lines.append((f"mapping {mapping['uuid'][:8]}", _joined(_mapping_parts(mapping))))
    function = report.get("function")
    if function is not None:
        label = f"function {function.get('name', '')}".strip()
        lines.append((label, _error_of(function) or _joined(_function_parts(function))))
    errors = report.get("recentErrors")
    if errors is not None:
        lines.append(("recent errors", _error_of(errors) or _joined(_errors_parts(errors))))
    dlq = report.get("dlq")
    if dlq is not None:
        lines.append(("dead-letter queue", _error_of(dlq) or _joined(_dlq_parts(dlq))))
    alarms = report.get("alarms")
    if isinstance(alarms, dict):
        lines.append(("alarms", _error_of(alarms)))
    elif alarms:
        lines.append(
            (
                "alarms",
                _joined([(f"{a['name']} {a['state']}", "red" if a["state"] == "ALARM" else None) for a in alarms]),
            )
        )
    daemon = report.get("daemon")
    if daemon is not None:
        lines.append(("local daemon", _joined(_daemon_parts(daemon))))
    return lines


def _table_parts(table: dict[str, Any]) -> Parts:
    return [
        (table["status"], "green" if table["status"] == "ACTIVE" else "red"),
        (f"{_value(table.get('itemCount'))} items", None),
        (f"stream {table.get('streamViewType') or 'disabled'}", None if table["streamEnabled"] else "red"),
    ]


def _mapping_parts(mapping: dict[str, Any]) -> Parts:
    result = mapping.get("lastProcessingResult") or "-"
    parts: Parts = [
        (mapping["state"], "green" if mapping["state"] == "Enabled" else "red"),
        (result, "red" if result.upper().startswith("PROBLEM") else None),
        (f"iterator age {_age(mapping.get('iteratorAgeMs'))}", None),
    ]
    if "pendingRecords" in mapping:
        parts.append((f"{mapping['pendingRecords']} pending", None))
    return parts


def _function_parts(function: dict[str, Any]) -> Parts:
    return [
        (_value(function.get("state")), None),
        (_value(function.get("runtime")), None),
        (f"{_value(function.get('memoryMB'))} MB", None),
        (f"{_value(function.get('timeoutSeconds'))} s", None),
    ]


def _errors_parts(errors: dict[str, Any]) -> Parts:
    failing = errors["failingSinceLastSuccess"]
    return [
        (f"{errors['failed']} of {errors['invocations']} invocations failed", "red" if failing else None),
        (f"last {errors['windowMinutes']} min", None),
    ]


def _dlq_parts(dlq: dict[str, Any]) -> Parts:
    return [
        (f"{dlq['visible']} messages", "green" if dlq["visible"] == 0 else "red"),
        (f"{dlq['inFlight']} in flight", None),
    ]


def _daemon_parts(daemon: dict[str, Any]) -> Parts:
    uptime = daemon.get("uptimeSeconds")
    return [
        (f"pid {daemon.get('pid')}", None),
        ("ok" if daemon["healthy"] else "not answering", "green" if daemon["healthy"] else "red"),
        (f"up {humanize_seconds(uptime)}" if uptime is not None else "up -", None),
    ]


# ---------------------------------------------------------------- alarms and metrics


def _alarm_row(alarm: dict[str, Any]) -> tuple[str, Text]:
    """STATE · since 2026-11-29 10:00:00Z · the state reason."""
    state = alarm.get("state") or "-"
    text = Text(safe(state), style="red" if state == "ALARM" else ("green" if state == "OK" else "yellow"))
    if alarm.get("changed"):
        text.append(f" · since {safe(alarm['changed'])}", style="dim")
    if alarm.get("reason"):
        text.append(f"\n{safe(alarm['reason'])}", style="dim")
    return alarm["name"], text


def _metric_rows(metrics: dict[str, Any]) -> Rows:
    """A sparkline per metric (one character a minute), then the range's total or peak and the latest value."""
    rows: Rows = []
    for series in metrics["metrics"]:
        total, latest = series.get("total"), series.get("latest")
        bad = series["key"] in ("errors", "dlqDepth") and bool(latest)
        line = Text(safe(series.get("sparkline") or ""), style="red" if bad else "cyan")
        word = "total" if series.get("statistic") == "Sum" else "peak"
        numbers = f"  {word} {amount(total, series['unit'])} · latest {amount(latest, series['unit'])}"
        line.append(numbers if total is not None else "  no data")
        rows.append((series["label"], line))
    return rows


def amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return _age(value)
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
    return f"{shown} s" if unit == "s" else shown
