"""`tail`: the consumer function's log lines, backfilled and followed."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer


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
        typer.Option("--filter-pattern", help="A CloudWatch Logs filter pattern (applied by CloudWatch)."),
    ] = None,
    grep: Annotated[
        Optional[str], typer.Option("--grep", help="Only lines matching this regular expression (applied here).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="pretty, short, json (one object a line) or raw.")] = "pretty",
    request_id: Annotated[
        Optional[str], typer.Option("--request-id", help="Only the lines of this invocation.")
    ] = None,
) -> None:
    """Show the consumer's log lines (Lambda's START/END folded, REPORT summarised, errors in red).

    Example: ddbstream tail --since 1h --follow --grep INSERT
    """
    from rich.markup import escape

    from ddbstream.cli.common import current_state
    from ddbstream.cli.output import console, note, spinner
    from ddbstream.clients import client_for
    from ddbstream.durations import parse_time
    from ddbstream.errors import InvalidInput, NotFound
    from ddbstream.logs import LogSource, Notice, Renderer, Tail, compile_grep, log_group_for

    renderer = Renderer(fmt.lower(), compile_grep(grep), request_id)
    if until is not None and follow:
        raise InvalidInput("--until cannot be combined with --follow")
    since_ms = parse_time(since, "--since")
    until_ms = parse_time(until, "--until") if until is not None else None
    if until_ms is not None and until_ms < since_ms:
        raise InvalidInput("--until is before --since")

    state = current_state()
    target = function or state.resource("log_group") or state.resource("function_name")
    if not target:
        raise NotFound("no consumer function has been provisioned: run 'ddbstream up' or name a function")
    source = LogSource(client_for(state, "logs"), log_group_for(target), filter_pattern)
    live_arn = source.arn(state.region, state.account) if follow and not state.is_local else None
    stream = Tail(source, since_ms, until_ms, follow, local=state.is_local, live_tail_arn=live_arn)

    out = console()
    shown = 0
    waiting = spinner(f"waiting for log events in {source.group} (Ctrl-C to stop)") if follow else None
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
            narrowed = " match the filters" if grep or filter_pattern or request_id else ""
            note(f"no log events in {escape(source.group)} in that time range{narrowed}")
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly with 0. Click would turn EPIPE into exit 1.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        if waiting is not None:
            waiting.__exit__(None, None, None)


def register(app: typer.Typer) -> None:
    app.command()(tail)
