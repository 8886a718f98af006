"""`tail`: the consumer function's log lines, backfilled and followed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from ddbstream.logs import Renderer, Tail


def tail(
    function: Annotated[
        Optional[str],
        typer.Argument(help="Function name or log group (default: the pipeline's consumer).", show_default=False),
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            "--since", "-s", help="Start: a duration back from now (30s, 10m, 2h, 1d, 1w) or an ISO 8601 time."
        ),
    ] = "10m",
    until: Annotated[
        Optional[str], typer.Option("--until", help="End (same forms as --since); not with --follow.")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new events until Ctrl-C.")] = False,
    filter_pattern: Annotated[
        Optional[str],
        typer.Option(
            "--filter-pattern",
            help="A CloudWatch Logs filter pattern (applied by CloudWatch, or by the local daemon alike).",
        ),
    ] = None,
    grep: Annotated[
        Optional[str], typer.Option("--grep", help="Only lines matching this regular expression (applied here).")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="line (one line an event), pretty (long JSON expanded), short, json (one object a line) or raw.",
        ),
    ] = "line",
    request_id: Annotated[
        Optional[str], typer.Option("--request-id", help="Only the lines of this invocation.")
    ] = None,
    bus: Annotated[
        bool, typer.Option("--bus", help="The events the local event bus delivered to its rules' targets instead.")
    ] = False,
) -> None:
    """Show the consumer's log lines (Lambda's START/END folded, REPORT summarised, errors in red).

    Examples: ddbstream tail --since 1h --follow --grep INSERT;
    ddbstream tail --filter-pattern '{ $.level = "ERROR" }' (CloudWatch's filter pattern syntax)
    """
    from ddbstream.logs import Renderer, compile_grep

    since_ms, until_ms = _time_range(since, until, follow)
    if bus:
        from ddbstream.cli.tail_bus import tail_bus

        tail_bus(since_ms, follow, fmt.lower())
        return
    renderer = Renderer(fmt.lower(), compile_grep(grep), request_id)
    stream = _consumer_tail(function, filter_pattern, since_ms, until_ms, follow)
    _print_events(stream, renderer, filtered=bool(grep or filter_pattern or request_id))


def _time_range(since: str, until: str | None, follow: bool) -> tuple[int, int | None]:
    """--since and --until as epoch milliseconds, checked against each other and --follow."""
    from ddbstream.durations import parse_time
    from ddbstream.errors import InvalidInput

    if until is not None and follow:
        raise InvalidInput("--until cannot be combined with --follow")
    since_ms = parse_time(since, "--since")
    until_ms = parse_time(until, "--until") if until is not None else None
    if until_ms is not None and until_ms < since_ms:
        raise InvalidInput("--until is before --since")
    return since_ms, until_ms


def _consumer_tail(
    function: str | None, filter_pattern: str | None, since_ms: int, until_ms: int | None, follow: bool
) -> Tail:
    """The log tail of the named function or log group, else of the pipeline's consumer."""
    from ddbstream.cli.common import current_pipeline
    from ddbstream.errors import NotFound
    from ddbstream.logs import LogSource, Tail, log_group_for

    pipeline = current_pipeline()
    target = function or (pipeline.function.log_group if pipeline.function else None)
    if not target:
        raise NotFound("no consumer function has been provisioned: run 'ddbstream up' or name a function")
    source = LogSource(pipeline.client("logs"), log_group_for(target), filter_pattern)
    live_arn = source.arn(pipeline.region, pipeline.account) if follow else None  # both targets serve live tails
    return Tail(source, since_ms, until_ms, follow, local=pipeline.is_local, live_tail_arn=live_arn)


def _print_events(stream: Tail, renderer: Renderer, filtered: bool, waiting_spinner: bool = True) -> None:
    """Print the tail's events as they come (a spinner until the first one when following, unless
    ``waiting_spinner`` is False: `up --watch --tail` prints its reload lines meanwhile)."""
    from ddbstream.cli.output import console, escape, note, spinner
    from ddbstream.logs import Notice

    out = console()
    shown = 0
    waiting = (
        spinner(f"waiting for log events in {escape(stream.source.group)} (Ctrl-C to stop)")
        if stream.follow and waiting_spinner
        else None
    )
    if waiting is not None:
        waiting.__enter__()
    try:
        for item in stream.events():
            if isinstance(item, Notice):
                note(f"[yellow]{escape(item.text)}[/]")
                continue
            rendered = renderer.render(item)
            if rendered is None:
                continue
            if waiting is not None:
                waiting.__exit__(None, None, None)
                waiting = None
            shown += 1
            if isinstance(rendered, str):
                sys.stdout.write(rendered + "\n")
                sys.stdout.flush()
            else:
                out.print(rendered)
        if not shown:
            narrowed = " match the filters" if filtered else ""
            note(f"no log events in {escape(stream.source.group)} in that time range{narrowed}")
    finally:  # a reader gone away (`| head`) ends the command quietly with 0: cli/__init__.py's root group
        if waiting is not None:
            waiting.__exit__(None, None, None)


def register(app: typer.Typer) -> None:
    app.command()(tail)
