"""`dlq list|show|replay|purge`: the mapping's dead-letter queue, turned back into stream records."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import JsonOption

app = typer.Typer(
    name="dlq",
    help="Inspect, replay and purge the dead-letter queue of the stream mapping.",
    no_args_is_help=True,
)


def _queue():
    """(DeadLetterQueue, pipeline)."""
    from ddbstream.cli.common import current_pipeline
    from ddbstream.dlq import DeadLetterQueue
    from ddbstream.errors import NotFound

    pipeline = current_pipeline()
    if pipeline.queue is None:
        raise NotFound("the pipeline has no dead-letter queue (enable_dlq is off, or 'ddbstream up' has not run)")
    return DeadLetterQueue(pipeline.client("sqs"), pipeline.queue.url, local=pipeline.is_local), pipeline


def _short_range(start: str | None, end: str | None) -> str:
    if not start:
        return "-"
    if start == end:
        return start
    return f"{start}..{end}"


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List the failed batches without consuming them.

    Example: ddbstream dlq list
    """
    import time

    from ddbstream.cli.output import console, note, safe_json, spinner, stdout_is_terminal
    from ddbstream.items import dumps_plain

    queue, _ = _queue()
    with spinner("reading the dead-letter queue"):
        messages = queue.peek()
    now = time.time()
    if as_json or not stdout_is_terminal():
        import sys

        for message in messages:
            sys.stdout.write(safe_json(dumps_plain({**message.summary(now), "body": message.body})) + "\n")
        sys.stdout.flush()
        if not messages and not as_json:
            note("the dead-letter queue is empty")
        return
    if not messages:
        note("the dead-letter queue is empty")
        return
    out = console()
    rows = [_row(message.summary(now)) for message in messages]
    if out.width < WIDE_TABLE:
        # A narrow terminal: one block per message rather than a table squeezed out of shape.
        for row in rows:
            out.print(f"[bold]{row['id']}[/]  failed {row['when']}")
            out.print(
                f"  {row['condition']} after {row['attempts']} attempt(s) · shard {row['shard']} · "
                f"{row['batch']} record(s) {row['range']} · leaves the stream in {row['left']}"
            )
        return
    from rich.table import Table

    table = Table(title=f"dead-letter queue: {len(messages)} message(s)")
    for title, _key, options in COLUMNS:
        table.add_column(title, **options)
    for row in rows:
        table.add_row(*[row[key] for _, key, _ in COLUMNS])
    out.print(table)


WIDE_TABLE = 150
COLUMNS = [
    ("failed at", "when", {"no_wrap": True}),
    ("message id", "id", {"no_wrap": True, "min_width": 36}),  # needed whole for show / replay
    ("condition", "condition", {"overflow": "fold"}),
    ("attempts", "attempts", {"justify": "right"}),
    ("shard", "shard", {"overflow": "fold"}),
    ("sequence range", "range", {"overflow": "fold"}),
    ("batch", "batch", {"justify": "right"}),
    ("leaves stream in", "left", {"no_wrap": True}),
]


def _row(summary: dict) -> dict[str, str]:
    """A summary as the table's cells (rich markup)."""
    from ddbstream.cli.output import escape
    from ddbstream.durations import humanize_seconds

    left = summary["secondsUntilExpiry"]
    if left is None:
        left_text = "-"
    else:
        left_text = humanize_seconds(left)
        if left < 3600:
            left_text = f"[red]{left_text}[/]"
    condition = summary["condition"] or ("-" if summary["recognised"] else "[yellow]not a stream failure[/]")
    return {
        "when": escape((summary["failedAt"] or "-").replace("T", " ")[:19]),
        "id": escape(summary["messageId"]),
        "condition": escape(condition) if summary["condition"] else condition,
        "attempts": escape(summary["attempts"] if summary["attempts"] is not None else "-"),
        "shard": escape(summary["shardId"] or "-"),
        "range": escape(_short_range(summary["startSequenceNumber"], summary["endSequenceNumber"])),
        "batch": escape(summary["batchSize"] if summary["batchSize"] is not None else "-"),
        "left": left_text,
    }


@app.command()
def show(
    message_id: Annotated[str, typer.Argument(help="The message's id (see 'ddbstream dlq list').")],
    records: Annotated[
        bool, typer.Option("--records", "-r", help="Also read the batch's records back from the stream.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one failed batch, and with --records its stream records (keys, old and new images):
    a summary on a terminal, the whole message as JSON when piped or with --json.

    Example: ddbstream dlq show 0c2f1d3e-... --records
    """
    from ddbstream.cli.output import console, emit_json, spinner, stdout_is_terminal
    from ddbstream.dlq import current_items, hydrate, plain_record
    from ddbstream.errors import InvalidInput

    queue, pipeline = _queue()
    with spinner("reading the dead-letter queue"):
        message = queue.find(message_id)
    document = {"message": message.summary(), "body": message.body}
    if records:
        batch = message.batch
        if batch is None:
            raise InvalidInput(f"message {message_id} is not a stream on-failure message: it has no DDBStreamBatchInfo")
        with spinner("reading the batch's records from the stream"):
            raw = hydrate(pipeline.client("dynamodbstreams"), batch)
            now = current_items(pipeline.client("dynamodb"), batch["streamArn"], raw)
        document["records"] = [{**plain_record(r), "current": item} for r, item in zip(raw, now)]
    if as_json or not stdout_is_terminal():
        emit_json(document, pretty=False)
        return
    from ddbstream.cli.dlq_view import print_dead_letter

    print_dead_letter(console(), document["message"], document.get("records"))


@app.command()
def replay(
    message_id: Annotated[Optional[str], typer.Argument(help="The message to replay.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every message in the queue.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read the records, but do not invoke or delete.")] = False,
    function: Annotated[
        Optional[str], typer.Option("--function", help="Function to invoke (default: the pipeline's consumer).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Invoke the consumer with a failed batch's records; delete the message when they all succeed.

    Example: ddbstream dlq replay --all --dry-run
    """
    from ddbstream.cli.output import console, escape, note, safe_json
    from ddbstream.dlq import replay as run_replay
    from ddbstream.errors import DdbstreamError, ExitCode, InvalidInput, NotFound
    from ddbstream.items import dumps_plain

    if (message_id is None) == (not all_):
        raise InvalidInput(
            "give one MESSAGE_ID or --all" if message_id is None else "give a MESSAGE_ID or --all, not both"
        )
    queue, pipeline = _queue()
    target = function or (pipeline.function.name if pipeline.function else None)
    if not target:
        raise NotFound("no consumer function has been provisioned: run 'ddbstream up' or pass --function")
    outcomes = []
    for outcome in run_replay(
        queue,
        pipeline.client("dynamodbstreams"),
        pipeline.client("lambda"),
        target,
        None if all_ else {message_id},
        dry_run,
    ):
        outcomes.append(outcome)
        if as_json:
            import sys

            sys.stdout.write(safe_json(dumps_plain(outcome.as_json())) + "\n")
            sys.stdout.flush()
            continue
        mark = "[green]ok[/]" if outcome.ok else "[red]failed[/]"
        fate = "" if dry_run else ("; deleted" if outcome.deleted else "; kept in the queue")
        failed = (
            f" (sequence numbers {', '.join(outcome.failed_sequence_numbers)})"
            if outcome.failed_sequence_numbers
            else ""
        )
        console().print(f"{mark} {escape(outcome.message_id)}: {escape(outcome.detail + failed)}{fate}")
    if not outcomes:
        note("the dead-letter queue is empty: nothing to replay")
        return
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise DdbstreamError(f"{len(bad)} of {len(outcomes)} message(s) could not be replayed", ExitCode.ERROR)


@app.command()
def purge(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every message of the dead-letter queue.

    Example: ddbstream dlq purge --yes
    """
    from ddbstream.cli.output import note
    from ddbstream.errors import Cancelled

    queue, _ = _queue()
    visible, in_flight = queue.depth()
    total = visible + in_flight
    if total == 0:
        note("the dead-letter queue is already empty")
        return
    if not yes:
        try:
            confirmed = typer.confirm(f"Delete all {total} message(s) from {queue.url}?", default=False, err=True)
        except typer.Abort:
            confirmed = False
        if not confirmed:
            raise Cancelled("purge cancelled: nothing was deleted")
    queue.purge()
    note(f"purged {total} message(s) from the dead-letter queue")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dlq")
