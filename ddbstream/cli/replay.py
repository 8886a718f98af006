"""`replay`: records already in the stream run through the function again; the mapping does not move."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import JsonOption


def replay(
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            help="Where to start: TRIM_HORIZON, a sequence number, an ISO 8601 time or a duration back from now (10m).",
            show_default=False,
        ),
    ],
    to: Annotated[
        Optional[str],
        typer.Option("--to", help="Where to stop (included): a sequence number or a time (default: the stream's end)."),
    ] = None,
    filter_: Annotated[
        Optional[str],
        typer.Option(
            "--filter", help='Only records matching this pattern (FilterCriteria syntax: {"eventName": ["INSERT"]}).'
        ),
    ] = None,
    function: Annotated[
        Optional[str],
        typer.Option("--function", help="Function whose mapping to replay (default: the pipeline's consumer)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the batches that would run; invoke nothing.")
    ] = False,
    to_dlq: Annotated[
        bool, typer.Option("--to-dlq", help="Send each failed batch's on-failure record to the mapping's destination.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run records already in the stream through the function again, in the mapping's batches and filters,
    without moving the mapping's checkpoint; a summary at the end.

    Example: ddbstream replay --from 10m --filter '{"eventName": ["INSERT"]}' --dry-run
    """
    from ddbstream.cli.common import current_pipeline
    from ddbstream.cli.output import emit_json
    from ddbstream.errors import DdbstreamError, ExitCode
    from ddbstream.replay import ReplayOptions, check_range, compile_filter, parse_position, start_replay

    start = parse_position(from_, "--from")
    end = parse_position(to, "--to") if to is not None else None
    check_range(start, end)
    options = ReplayOptions(start, end, compile_filter(filter_), function, dry_run, to_dlq)
    run = start_replay(current_pipeline(), options)
    for outcome in run.run():
        if not as_json:
            _show_batch(outcome, run.function, dry_run)
    summary = run.summary()
    if as_json:
        emit_json(summary)
    else:
        _show_summary(summary)
    if summary["failures"]:
        raise DdbstreamError(f"{summary['failures']} of {summary['records']} replayed record(s) failed", ExitCode.ERROR)


def _show_batch(outcome, function: str, dry_run: bool) -> None:
    from ddbstream.cli.output import console, escape
    from ddbstream.dlq import plain_record
    from ddbstream.items import dumps_plain

    numbers = outcome.sequence_numbers
    span = escape(numbers[0] if len(numbers) == 1 else f"{numbers[0]}..{numbers[-1]}")
    out = console()
    if dry_run:
        shard = escape(outcome.shard_id)
        out.print(f"would invoke {escape(function)} with {len(numbers)} record(s) {span} (shard {shard}):")
        for record in map(plain_record, outcome.records):
            keys = dumps_plain(record["keys"])
            out.print(f"  {escape(record['sequenceNumber'])}  {escape(record['eventName'])}  {escape(keys)}")
        return
    mark = "[red]failed[/]" if outcome.failed else "[green]ok[/]"
    failed = f" ({', '.join(outcome.failed)})" if outcome.failed and len(outcome.failed) < len(numbers) else ""
    sent = f"; on-failure record sent to {outcome.sent_to}" if outcome.sent_to else ""
    out.print(f"{mark} {len(numbers)} record(s) {span}: {escape(outcome.detail + failed + sent)}")


def _show_summary(summary: dict) -> None:
    from ddbstream.cli.output import console, escape, note

    function = escape(summary["function"])
    if not summary["records"]:
        note("no record of the stream is in this range and passes the filters: nothing to replay")
        return
    counts = f"{summary['records']} record(s) in {summary['batches']} batch(es)"
    if summary["dryRun"]:
        console().print(f"dry run: {counts} would run through {function}; nothing was invoked")
        return
    sent = f"; {summary['sentToDlq']} on-failure record(s) sent" if summary["sentToDlq"] else ""
    console().print(
        f"replayed {counts} through {function}: {summary['failures']} failed{sent}; the mapping's checkpoint did not move"
    )


def register(app: typer.Typer) -> None:
    app.command()(replay)
