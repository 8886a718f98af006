"""A whole load: write the plan, then wait until every record it caused is accounted for."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddbstream.dlq import mapping_filters
from ddbstream.errors import InvalidInput
from ddbstream.load.accounting import Accounting, account
from ddbstream.load.cleanup import remove_items
from ddbstream.load.dlq_view import DlqView
from ddbstream.load.handler_log import HandlerLog
from ddbstream.load.plan import Write, make_plan
from ddbstream.load.stream import StreamRecord, match_records, read_stream
from ddbstream.load.writer import WriteResults, run_writes
from ddbstream.pipeline import Pipeline

# The share of a core this process spends writing beyond which the writer, not the table, is the limit.
CPU_BOUND = 0.85


@dataclass
class LoadReport:
    run: str
    count: int
    keys: int
    workers: int
    rate: float
    writes: WriteResults
    accounting: Accounting
    mismatches: list[str]
    dlq_messages: int
    dlq_unreadable: dict[str, str]
    waited_s: float
    complete: bool
    records: list[StreamRecord] = field(default_factory=list)  # the run's stream records, in order
    removed: int | None = None  # items deleted after the accounting (None: kept, or the cleanup failed)
    cleanup_error: str | None = None

    @property
    def achieved_rate(self) -> float | None:
        """The pace the writes went out at against --rate's schedule (write i due i/rate s after the
        start): N writes by the last send, over the time the schedule gives N writes. None without --rate."""
        sent = self.writes.sent_ms
        if not self.rate or not sent:
            return None
        span_s = max(sent.values()) / 1000 - self.writes.started + 1 / self.rate
        return len(sent) / span_s

    @property
    def short_of_rate(self) -> bool:
        """Whether the writes went out more than 5% slower than the rate asked (--rate; 0 asks for none)."""
        achieved = self.achieved_rate
        return achieved is not None and achieved < 0.95 * self.rate

    def shortfall(self) -> str | None:
        """Why the writes fell short of --rate, as measured (None when they did not).

        Either this process was busy a whole core sending them (Python runs one thread at a
        time: the writer is the limit, not the table), or the writers waited on their writes:
        W writers each waiting T ms a write send at most W/T a second. (A daemon at its ceiling
        answers every write more slowly as writers are added: W/T then stays where it is.)
        """
        w = self.writes
        elapsed = w.finished - w.started
        waits = w.ack_waits_ms()
        if not self.short_of_rate or elapsed <= 0 or not waits:
            return None
        mean_ms = sum(waits) / len(waits)
        if w.cpu_s / elapsed >= CPU_BOUND:
            return f"this process used {w.cpu_s / elapsed:.0%} of a core to send them: the writer is the limit"
        return (
            f"a write took {mean_ms:.1f} ms to be acknowledged, so {self.workers} writer(s) send at most "
            f"{self.workers * 1000 / mean_ms:.0f}/s: more --workers may help, up to what the table accepts"
        )

    def summary(self) -> dict[str, Any]:
        a = self.accounting
        w = self.writes
        span_s = ((a.last_processed_ms or 0) / 1000 - w.started) if a.last_processed_ms else None
        return {
            "run": self.run,
            "writes": len(w.acked_ms),
            "writeErrors": len(w.errors),
            "writesPerSecond": round(w.rate, 1),
            "rateAsked": self.rate or None,
            "rateAchieved": _round(self.achieved_rate),
            "shortOfRate": self.short_of_rate,
            "shortfall": self.shortfall(),
            "streamRecords": a.records,
            "processed": a.processed,
            "eventsProcessedPerSecond": round(a.processed / span_s, 1) if span_s and span_s > 0 else None,
            "latencyMs": {f"p{p}": _round(a.latency(p)) for p in (50, 95, 99)},
            "dlqMessages": self.dlq_messages,
            "dlqRecords": a.in_dlq,
            "filtered": a.filtered,
            "lost": a.lost,
            "invocations": a.invocations,
            "failedInvocations": a.failed_invocations,
            "redeliveries": a.redeliveries,
            "processedAgain": a.processed_again,
            "ledgerSkips": a.ledger_skips,
            "unexplainedDuplicates": len(a.unexplained),
            "orderViolations": len(a.order_violations),
            "processedAndInDlq": len(a.both),
            "inSeveralDlqBatches": len(a.dlq_twice),
            "mismatches": len(self.mismatches),
            "complete": self.complete,
            "itemsRemoved": self.removed,  # its deletes came after the accounting: not counted above
            "cleanupError": self.cleanup_error,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Progress:
    """What a running load has done so far (for a progress display)."""

    total: int
    written: int = 0
    accounted: int = 0
    phase: str = "writing"


def run_load(
    pipeline: Pipeline,
    count: int,
    rate: float = 0,
    workers: int = 4,
    keys: int | None = None,
    wait: float = 120.0,
    seed: int = 0,
    on_progress: Callable[[Progress], None] = lambda _: None,
    poll_interval: float = 0.5,
    run: str | None = None,
    clean_up: bool = False,
) -> LoadReport:
    """Write the plan, then wait (at most ``wait`` s) until every record it caused is accounted for;
    then, with ``clean_up``, delete the load's items."""
    if wait < 0:
        raise InvalidInput("--wait must be 0 or more seconds")
    table = pipeline.require_table()
    keys = keys if keys is not None else max(1, count // 10)
    run = run or uuid.uuid4().hex[:8]  # in the keys: each run writes keys of its own
    plan = make_plan(count, keys, list(table.key_schema), run, workers, seed)
    if rate < 0:
        raise InvalidInput("--rate must be 0 (no limit) or more")
    start_ms = int(time.time() * 1000) - 1000
    progress = Progress(total=count)
    results = _write(plan, lambda: pipeline.client("dynamodb"), table.name, run, rate, workers, progress, on_progress)
    progress.phase = "waiting"
    on_progress(progress)

    streams = pipeline.client("dynamodbstreams")
    observers = _Observers.of(pipeline, streams, start_ms)
    records: list[StreamRecord] = []
    mismatches: list[str] = []
    if table.stream_arn:
        records, mismatches = match_records(plan, results, read_stream(streams, table.stream_arn), table.stream_arn)
    waited_from = time.monotonic()
    accounting, done = observers.account_until_done(records, results, wait, poll_interval, progress, on_progress)
    dlq = observers.dlq
    report = LoadReport(
        run,
        count,
        keys,
        workers,
        rate,
        results,
        accounting,
        mismatches,
        dlq.messages if dlq else 0,
        dict(dlq.unreadable) if dlq else {},
        time.monotonic() - waited_from,
        done,
        records,
    )
    if clean_up:
        progress.phase = "cleaning up"
        on_progress(progress)
        _clean_up(report, pipeline.client("dynamodb"), table.name, plan)
    return report


def _clean_up(report: LoadReport, client: Any, table: str, plan: list[Write]) -> None:
    """Delete the load's items (after the accounting, so its deletes are not measured)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        report.removed = remove_items(client, table, plan, report.run, report.workers)
    except (BotoCoreError, ClientError) as exc:
        report.cleanup_error = f"removing the load's items failed: {exc}"


def _write(
    plan: list[Write],
    client_factory: Callable[[], Any],
    table: str,
    run: str,
    rate: float,
    workers: int,
    progress: Progress,
    on_progress: Callable[[Progress], None],
) -> WriteResults:
    """Perform the plan in the background, reporting how many writes are done meanwhile."""
    results = WriteResults()
    writer = threading.Thread(
        target=run_writes,
        args=(plan, client_factory, table, run, rate, workers, results),
        name="ddbstream-load",
        daemon=True,
    )
    writer.start()
    while writer.is_alive():
        progress.written = results.done
        on_progress(progress)
        writer.join(0.1)
    progress.written = results.done
    return results


@dataclass
class _Observers:
    """What tells where records went: the consumer's log, its dead-letter queue, its mapping's filters."""

    log: HandlerLog | None
    dlq: DlqView | None
    filters: list

    @classmethod
    def of(cls, pipeline: Pipeline, streams: Any, start_ms: int) -> _Observers:
        table, function, queue = pipeline.table, pipeline.function, pipeline.queue
        stream_arn = table.stream_arn if table else None
        log = HandlerLog(pipeline.client("logs"), function.log_group, start_ms) if function else None
        dlq = DlqView(pipeline.client("sqs"), streams, queue.url, pipeline.is_local) if queue and stream_arn else None
        filters = (
            mapping_filters(pipeline.client("lambda"), function.name, stream_arn) if function and stream_arn else []
        )
        return cls(log, dlq, filters)

    def account_until_done(
        self,
        records: list[StreamRecord],
        results: WriteResults,
        wait: float,
        poll_interval: float,
        progress: Progress,
        on_progress: Callable[[Progress], None],
    ) -> tuple[Accounting, bool]:
        """Read the log and the DLQ until every record is accounted for or ``wait`` s passed; (accounting, done)."""
        deadline = time.monotonic() + wait
        accounting = Accounting(records=len(records))
        quiet_at = -1  # records processed when the DLQ was last read
        while True:
            if self.log is not None:
                self.log.poll()
            if self.dlq is not None and accounting.processed == quiet_at:
                self.dlq.poll()  # peeking is costly on a long queue: only once processing has gone quiet
            quiet_at = accounting.processed
            if self.log is not None:
                accounting = account(records, self.log, self.dlq, results.sent_ms, self.filters)
            progress.accounted = accounting.accounted
            on_progress(progress)
            done = self.log is None or not accounting.pending
            if done or time.monotonic() >= deadline:
                return accounting, done
            time.sleep(poll_interval)
