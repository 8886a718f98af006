"""`load`: drive writes through the pipeline and report what became of every event."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import JsonOption


def load(
    count: Annotated[int, typer.Option("--count", "-n", help="How many writes (puts, updates, deletes).")] = 1000,
    rate: Annotated[
        float, typer.Option("--rate", "-r", help="Writes per second in total (0: as fast as possible).")
    ] = 0,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Writer threads (each key stays on one).")] = 4,
    keys: Annotated[Optional[int], typer.Option("--keys", help="Distinct keys written (default: count / 10).")] = None,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for the pipeline to process everything.")
    ] = 120,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the write plan (same seed, same plan).")] = 0,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the load's items in the table (by default they are deleted after).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write load to the table, follow each event to the handler or the DLQ, and summarise.

    Example: ddbstream load --count 5000 --rate 500 --workers 4
    """
    from ddbstream.cli.common import current_pipeline
    from ddbstream.cli.output import console, emit_json, escape, note
    from ddbstream.errors import InvalidInput, Unhealthy
    from ddbstream.load import MAX_WORKERS, run_load

    # Checked before anything is written, so bad options leave the table untouched.
    if count < 1:
        raise InvalidInput("--count must be at least 1")
    if rate < 0:
        raise InvalidInput("--rate must be 0 (no limit) or more")
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}")
    if keys is not None and keys < 1:
        raise InvalidInput("--keys must be at least 1")
    if wait < 0:
        raise InvalidInput("--wait must be 0 or more seconds")
    pipeline = current_pipeline()
    pipeline.require_table()
    with _progress_display(count) as show:
        report = run_load(pipeline, count, rate, workers, keys, wait, seed, on_progress=show, clean_up=not keep)
    summary = report.summary()
    if as_json:
        emit_json(summary, pretty=False)
    else:
        _print_summary(console(), summary, report)
    if report.short_of_rate:
        note(
            f"the writes fell short of --rate {rate:g}: {summary['rateAchieved']:g}/s achieved "
            f"({summary['shortfall'] or 'more --workers may help'})"
        )
    if report.cleanup_error:
        note(escape(report.cleanup_error))
    if not pipeline.function:
        return
    if not report.complete:
        raise Unhealthy(
            f"{report.accounting.lost} of {report.accounting.records} event(s) were neither processed "
            f"nor in the DLQ after waiting {wait:g} s"
        )


def _progress_display(total: int):
    """A live two-bar progress display on a terminal (writes, events accounted for); silent otherwise."""
    import contextlib
    import sys

    if not sys.stderr.isatty():
        return contextlib.nullcontext(lambda progress: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ddbstream.cli.output import err_console

    @contextlib.contextmanager
    def display():
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console(),
            transient=True,
        ) as bars:
            writes = bars.add_task("writes", total=total)
            events = bars.add_task("events", total=total)

            def show(progress) -> None:
                bars.update(writes, completed=progress.written)
                bars.update(events, completed=progress.accounted)

            yield show

    return display()


def _print_summary(out, summary: dict, report) -> None:
    def ms(value):
        return "-" if value is None else f"{value:g} ms"

    latency = summary["latencyMs"]
    rows = [
        ("writes", _writes_row(summary)),
        ("stream records", str(summary["streamRecords"])),
        (
            "processed",
            f"{summary['processed']}"
            + (f" ({summary['eventsProcessedPerSecond']:g}/s)" if summary["eventsProcessedPerSecond"] else ""),
        ),
        (
            "latency",
            f"p50 {ms(latency['p50'])}  p95 {ms(latency['p95'])}  p99 {ms(latency['p99'])}"
            "  (write sent -> handler's log line)",
        ),
        ("dlq", f"{summary['dlqRecords']} record(s) in {summary['dlqMessages']} message(s)"),
        (
            "retried",
            f"{summary['redeliveries']} redelivery(ies), {summary['processedAgain']} processed again, "
            f"{summary['ledgerSkips']} skipped as duplicates",
        ),
    ]
    if summary["filtered"]:
        rows.append(("filtered", str(summary["filtered"])))
    rows.append(("lost", str(summary["lost"])))
    if summary["itemsRemoved"] is not None:
        rows.append(("cleanup", f"{summary['itemsRemoved']} item(s) removed (not counted above; --keep keeps them)"))
    for label, key in (
        ("unexplained duplicates", "unexplainedDuplicates"),
        ("order violations", "orderViolations"),
        ("processed and in dlq", "processedAndInDlq"),
        ("stream mismatches", "mismatches"),
    ):
        if summary[key]:
            rows.append((label, f"[red]{summary[key]}[/]"))
    width = max(len(label) for label, _ in rows)
    out.print(
        f"[bold]load {summary['run']}[/]: {report.count} write(s) over {report.keys} key(s), {report.workers} worker(s)"
    )
    for label, value in rows:
        out.print(f"  {label.ljust(width)}  {value}")


def _writes_row(summary: dict) -> str:
    """How many writes, at which rate (against --rate when one was asked), and how many failed."""
    rate = f"{summary['writesPerSecond']:g}/s"
    asked = summary["rateAsked"]
    if asked:
        short = ": [red]short[/]" if summary["shortOfRate"] else ""
        rate = f"sent at {summary['rateAchieved']:g}/s of {asked:g}/s asked{short}"
    failed = f", {summary['writeErrors']} failed" if summary["writeErrors"] else ""
    return f"{summary['writes']} ({rate}){failed}"


def register(app: typer.Typer) -> None:
    app.command()(load)
