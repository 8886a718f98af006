"""Load the pipeline and account for every event it caused.

A *plan* is a reproducible list of writes (puts, updates and deletes over many keys). Each
key belongs to one writer thread, so the writes of a key reach the table in plan order, and
every write changes its item, so each successful write makes exactly one stream record: the
n-th record of a key in the stream is that key's n-th write.

The *accounting* then follows each of those records through AWS APIs only:
- the stream itself (DescribeStream / GetRecords from TRIM_HORIZON): what happened;
- the consumer's log group (FilterLogEvents): the handler prints one JSON line per record
  (eventID, sequenceNumber) inside the runtime's START / END / REPORT lines, so a record was
  *processed* when its line appears, without an ERROR line for it, in an invocation whose
  REPORT carries no failure status and which printed no unhandled error;
- the dead-letter queue (peeked, never consumed; batches hydrated by ddbstream.dlq).
Every record must end up processed or in the DLQ, not both; deliveries beyond the first are
counted, and one after a *clean* invocation (no failure at all, so Lambda checkpointed it)
is flagged as unexplained. Latency is from a write to the CloudWatch
timestamp of the handler's line for its record in the invocation that processed it,
measured from when the write was *sent*: the local daemon wakes the engine inside the write
request, so the handler often runs before the writer has its acknowledgement, and timing from
the ack would give negative latencies. From the send, it includes the write's own round trip.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ddbstream.errors import AwsError, InvalidInput, NotFound
from ddbstream.names import lambda_log_group

RUN_ATTRIBUTE = "load_run"
INDEX_ATTRIBUTE = "load_n"  # the write's position in the plan
VERSION_ATTRIBUTE = "load_v"  # how many writes the key has had
MAX_WORKERS = 64
EMPTY_READS = 3  # GetRecords pages in a row without records before a shard counts as read
_REQUEST = re.compile(r"^(START|END|REPORT) RequestId: (\S+)")


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Write:
    index: int
    op: str  # put | update | delete
    key: dict[str, Any]  # typed DynamoDB key
    key_id: str  # canonical text of the key (see key_id())
    version: int  # the key's write count after this write
    worker: int


def key_id(typed_key: dict[str, Any]) -> str:
    """A canonical text for a typed key (binary values as base64), equal for a write and its stream record."""

    def plain(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(bytes(value)).decode()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return json.dumps(plain(typed_key), sort_keys=True)


def _key_value(kind: str, run: str, number: int, part: str) -> dict[str, Any]:
    if kind == "N":
        return {"N": str((zlib.crc32(run.encode()) % 100_000) * 10_000_000 + number)}
    text = f"load-{run}-{number:06d}" if part == "hash" else "0"
    return {"B": text.encode()} if kind == "B" else {"S": text}


def make_plan(
    count: int, keys: int, key_schema: list[tuple[str, str]], run: str, workers: int = 1, seed: int = 0
) -> list[Write]:
    """``count`` writes over ``keys`` keys: a put creates a key, then puts, updates and deletes mix.

    Every write changes its item (a new load_n), so each one makes exactly one stream record.
    """
    if count < 1:
        raise InvalidInput("--count must be at least 1")
    if keys < 1:
        raise InvalidInput("--keys must be at least 1")
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}")
    rng = random.Random(seed)
    exists = [False] * keys
    versions = [0] * keys
    typed = []
    for number in range(keys):
        key = {
            name: _key_value(kind, run, number, "hash" if i == 0 else "range")
            for i, (name, kind) in enumerate(key_schema)
        }
        typed.append(key)
    plan = []
    for index in range(count):
        number = rng.randrange(keys)
        if not exists[number]:
            op = "put"
        else:
            roll = rng.random()
            op = "update" if roll < 0.6 else "put" if roll < 0.8 else "delete"
        exists[number] = op != "delete"
        versions[number] += 1
        plan.append(Write(index, op, typed[number], key_id(typed[number]), versions[number], number % workers))
    return plan


# ---------------------------------------------------------------- writing


@dataclass
class WriteResults:
    acked_ms: dict[int, float] = field(default_factory=dict)  # write index -> acknowledgement (epoch ms)
    sent_ms: dict[int, float] = field(default_factory=dict)  # write index -> request sent (epoch ms)
    errors: dict[int, str] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0

    @property
    def done(self) -> int:
        return len(self.acked_ms) + len(self.errors)

    @property
    def rate(self) -> float:
        elapsed = self.finished - self.started
        return len(self.acked_ms) / elapsed if elapsed > 0 else 0.0


def _write_item(write: Write, run: str) -> dict[str, Any]:
    return {
        **write.key,
        RUN_ATTRIBUTE: {"S": run},
        INDEX_ATTRIBUTE: {"N": str(write.index)},
        VERSION_ATTRIBUTE: {"N": str(write.version)},
    }


def perform(write: Write, client: Any, table: str, run: str) -> None:
    """One write of the plan against the table."""
    if write.op == "put":
        client.put_item(TableName=table, Item=_write_item(write, run))
    elif write.op == "update":
        client.update_item(
            TableName=table,
            Key=write.key,
            UpdateExpression="SET #run = :run, #n = :n, #v = :v",
            ExpressionAttributeNames={"#run": RUN_ATTRIBUTE, "#n": INDEX_ATTRIBUTE, "#v": VERSION_ATTRIBUTE},
            ExpressionAttributeValues={
                ":run": {"S": run},
                ":n": {"N": str(write.index)},
                ":v": {"N": str(write.version)},
            },
        )
    else:
        client.delete_item(TableName=table, Key=write.key)


def run_writes(
    plan: list[Write],
    client_factory: Callable[[], Any],
    table: str,
    run: str,
    rate: float,
    workers: int,
    results: WriteResults | None = None,
    stop: threading.Event | None = None,
) -> WriteResults:
    """Perform the plan with ``workers`` threads at most ``rate`` writes/s in total (0: no limit)."""
    if rate < 0:
        raise InvalidInput("--rate must be 0 (no limit) or more")
    results = results or WriteResults()
    stop = stop or threading.Event()
    lock = threading.Lock()
    results.started = time.time()
    start = time.monotonic()

    def work(number: int) -> None:
        client = client_factory()
        for write in plan:
            if write.worker != number:
                continue
            if stop.is_set():
                return
            if rate:
                delay = start + write.index / rate - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    return
            sent = time.time() * 1000
            try:
                perform(write, client, table, run)
            except Exception as exc:  # counted and reported: the accounting skips the key's records
                with lock:
                    results.errors[write.index] = str(exc)
                continue
            with lock:
                results.acked_ms[write.index] = time.time() * 1000
                results.sent_ms[write.index] = sent

    threads = [
        threading.Thread(target=work, args=(n,), name=f"ddbstream-load-{n}", daemon=True) for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.finished = time.time()
    return results


# ---------------------------------------------------------------- the stream


def read_stream(streams: Any, stream_arn: str) -> list[dict]:
    """Every record of the stream, shard by shard from TRIM_HORIZON, as GetRecords returns them."""
    from botocore.exceptions import ClientError

    records: list[dict] = []
    try:
        shards: list[dict] = []
        args: dict[str, Any] = {"StreamArn": stream_arn}
        while True:
            description = streams.describe_stream(**args)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            args["ExclusiveStartShardId"] = last
        for shard in shards:
            iterator = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            empty = 0
            while iterator and empty < EMPTY_READS:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                records.extend(page.get("Records", []))
                empty = 0 if page.get("Records") else empty + 1
                iterator = page.get("NextShardIterator")
    except ClientError as exc:
        raise AwsError(f"reading the stream {stream_arn} failed: {exc}") from None
    return records


@dataclass
class StreamRecord:
    sequence_number: str
    event_id: str
    event_name: str
    key_id: str
    write: int | None = None  # the plan's write index
    lambda_event: dict | None = None

    @property
    def number(self) -> int:
        return int(self.sequence_number)


def stream_records(raw: Iterable[dict], stream_arn: str) -> list[StreamRecord]:
    """GetRecords records -> StreamRecords (not tied to any write)."""
    from ddbstream.dlq import lambda_record

    out = []
    for record in raw:
        event = lambda_record(record, stream_arn)
        ddb = event.get("dynamodb", {})
        out.append(
            StreamRecord(
                ddb["SequenceNumber"],
                event.get("eventID", ""),
                event.get("eventName", ""),
                key_id(ddb.get("Keys", {})),
                lambda_event=event,
            )
        )
    return out


def match_records(
    plan: list[Write], results: WriteResults, raw: Iterable[dict], stream_arn: str
) -> tuple[list[StreamRecord], list[str]]:
    """The stream records this plan caused, each tied to its write; and the mismatches found."""
    writes_of: dict[str, list[Write]] = defaultdict(list)
    uncertain: set[str] = set()
    for write in plan:
        writes_of[write.key_id].append(write)
        if write.index in results.errors:
            uncertain.add(write.key_id)  # a write that failed may or may not have landed
    records_of: dict[str, list[StreamRecord]] = defaultdict(list)
    for record in stream_records(raw, stream_arn):
        if record.key_id in writes_of:
            records_of[record.key_id].append(record)
    problems = []
    expected_names = {"delete": {"REMOVE"}, "put": {"INSERT", "MODIFY"}, "update": {"INSERT", "MODIFY"}}
    out: list[StreamRecord] = []
    for kid, records in records_of.items():
        records.sort(key=lambda r: r.number)
        writes = [w for w in writes_of[kid] if w.index in results.acked_ms]
        if kid not in uncertain:
            if len(records) != len(writes):
                problems.append(f"key {kid}: {len(writes)} write(s) acknowledged but {len(records)} stream record(s)")
            for write, record in zip(writes, records):
                record.write = write.index
                if record.event_name not in expected_names[write.op]:
                    problems.append(f"write {write.index} ({write.op}) made a {record.event_name} record")
        out.extend(records)
    for kid, writes in writes_of.items():
        acked = [w for w in writes if w.index in results.acked_ms]
        if acked and kid not in records_of and kid not in uncertain:
            problems.append(f"key {kid}: {len(acked)} write(s) acknowledged but no stream record")
    out.sort(key=lambda r: r.number)
    return out, problems


# ---------------------------------------------------------------- the handler's log


@dataclass
class Invocation:
    request_id: str
    stream: str
    order: tuple  # where its START lies in the log
    lines: list[tuple[tuple, int, dict]] = field(default_factory=list)  # (order, timestamp ms, JSON line)
    failed: bool = False  # REPORT with a Status, or an unhandled error
    closed: bool = False

    @property
    def clean(self) -> bool:
        """Ended well and no record failed: Lambda checkpoints every record it got."""
        return self.closed and not self.failed and not any(line.get("level") == "ERROR" for _, _, line in self.lines)


class HandlerLog:
    """The consumer's log group read incrementally (FilterLogEvents), parsed into invocations."""

    def __init__(self, logs: Any, group: str, start_ms: int):
        from ddbstream.logs import LogSource

        self.source = LogSource(logs, group)
        self.start_ms = start_ms
        self.newest_ms = start_ms
        self.seen: set[tuple[str, str]] = set()
        self.arrivals = 0
        self.invocations: dict[str, Invocation] = {}
        self._open: dict[str, Invocation] = {}  # log stream -> invocation running in it
        self._pending: dict[str, list] = defaultdict(list)  # stream -> events read, not yet parsed

    def poll(self, lookback_ms: int = 2_000) -> int:
        """Read new events; returns how many."""
        fresh = []
        try:
            for page in self.source.fetch(max(self.start_ms, self.newest_ms - lookback_ms)):
                for event in page:
                    ident = (event.stream, event.event_id or f"{event.timestamp}:{event.message}")
                    if ident in self.seen:
                        continue
                    self.seen.add(ident)
                    fresh.append(event)
        except NotFound:
            return 0  # no invocation yet: the group appears with the first one
        for event in fresh:
            self.arrivals += 1
            self.newest_ms = max(self.newest_ms, event.timestamp)
            numeric = int(event.event_id) if event.event_id and event.event_id.isdigit() else 0
            self._parse(event, (event.timestamp, numeric, self.arrivals))
        return len(fresh)

    def _parse(self, event: Any, order: tuple) -> None:
        message = event.message
        match = _REQUEST.match(message)
        if match:
            kind, request_id = match.groups()
            if kind == "START":
                invocation = Invocation(request_id, event.stream, order)
                self.invocations[request_id] = invocation
                self._open[event.stream] = invocation
            elif kind == "REPORT":
                invocation = self.invocations.get(request_id)
                if invocation is not None:
                    invocation.failed = invocation.failed or "\tStatus: " in message
                    invocation.closed = True
                self._open.pop(event.stream, None)
            return
        invocation = self._open.get(event.stream)
        if invocation is None:
            return  # init output, or a line of an invocation that began before start_ms
        if message.startswith("[ERROR]") or message.startswith('{"errorMessage"'):
            invocation.failed = True  # an unhandled exception reported by the runtime client
            return
        if not message.startswith("{"):
            return
        try:
            line = json.loads(message)
        except ValueError:
            return
        if isinstance(line, dict) and line.get("eventID"):
            invocation.lines.append((order, event.timestamp, line))


# ---------------------------------------------------------------- the dead-letter queue


class DlqView:
    """The DLQ's on-failure messages (peeked, not consumed) and the stream records of each batch."""

    def __init__(self, sqs: Any, streams: Any, queue_url: str, local: bool = True):
        from ddbstream.dlq import DeadLetterQueue

        self.queue = DeadLetterQueue(sqs, queue_url, local=local)
        self.streams = streams
        self.batches: dict[str, list[str]] = {}  # message id -> sequence numbers of its batch
        self.unreadable: dict[str, str] = {}
        self._depth: tuple[int, int] | None = None

    def poll(self) -> None:
        from ddbstream.dlq import hydrate

        depth = self.queue.depth()
        if depth == self._depth:
            return
        self._depth = depth
        for message in self.queue.peek():
            if message.message_id in self.batches or message.message_id in self.unreadable:
                continue
            if message.batch is None:
                self.unreadable[message.message_id] = "not a stream on-failure message"
                continue
            try:
                records = hydrate(self.streams, message.batch)
            except NotFound as exc:
                self.unreadable[message.message_id] = exc.message
                continue
            self.batches[message.message_id] = [r["dynamodb"]["SequenceNumber"] for r in records]

    @property
    def messages(self) -> int:
        return len(self.batches) + len(self.unreadable)


# ---------------------------------------------------------------- accounting


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


@dataclass
class Accounting:
    records: int = 0
    processed: int = 0
    in_dlq: int = 0
    filtered: int = 0
    pending: list[str] = field(default_factory=list)  # sequence numbers neither processed nor in the DLQ
    both: list[str] = field(default_factory=list)  # processed and in the DLQ
    dlq_twice: list[str] = field(default_factory=list)  # in more than one DLQ batch
    invocations: int = 0  # invocations that carried the run's records
    failed_invocations: int = 0  # of those, ended by a timeout, a crash or an unhandled error
    deliveries: int = 0  # handler lines for the run's records (every attempt)
    redeliveries: int = 0  # deliveries beyond the first, all caused by failures somewhere in a batch
    processed_again: int = 0  # successful processings beyond the first (retry duplicates)
    ledger_skips: int = 0  # redeliveries the handler recognised as duplicates
    unexplained: list[str] = field(default_factory=list)  # delivered again after a clean invocation
    order_violations: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    first_processed_ms: float | None = None
    last_processed_ms: float | None = None
    processed_ids: set[str] = field(default_factory=set)
    dlq_ids: set[str] = field(default_factory=set)

    @property
    def accounted(self) -> int:
        return self.processed + self.in_dlq + self.filtered

    @property
    def lost(self) -> int:
        return len(self.pending)

    def latency(self, p: float) -> float | None:
        return percentile(self.latencies_ms, p)


def account(
    records: list[StreamRecord],
    log: HandlerLog,
    dlq: DlqView | None,
    sent_ms: dict[int, float],
    filters: list | None = None,
) -> Accounting:
    """Where each record ended up (see the module docstring)."""
    from ddbstream.patterns import record_matches

    result = Accounting(records=len(records))
    by_event = {r.event_id: r for r in records}
    by_sequence = {r.sequence_number: r for r in records}
    # Every appearance of a run's record in an invocation, in log order.
    appearances: dict[str, list[tuple[tuple, int, str, Invocation]]] = defaultdict(list)
    for invocation in sorted(log.invocations.values(), key=lambda i: i.order):
        errors = {line["eventID"] for _, _, line in invocation.lines if line.get("level") == "ERROR"}
        if any(line["eventID"] in by_event for _, _, line in invocation.lines):
            result.invocations += 1
            result.failed_invocations += invocation.closed and invocation.failed
        for order, timestamp, line in invocation.lines:
            event_id = line["eventID"]
            if event_id not in by_event or line.get("level") == "ERROR":
                continue
            if line.get("duplicate"):
                kind = "skip"
            elif not invocation.closed:
                kind = "open"
            elif invocation.failed or event_id in errors:
                kind = "failed"
            else:
                kind = "ok"
            appearances[event_id].append((order, timestamp, kind, invocation))
    dlq_count: Counter = Counter()
    if dlq is not None:
        for numbers in dlq.batches.values():
            for number in numbers:
                if number in by_sequence:
                    dlq_count[by_sequence[number].event_id] += 1
    processed_at: dict[str, tuple] = {}
    for record in records:
        seen = appearances.get(record.event_id, [])
        result.deliveries += len(seen)
        result.redeliveries += max(0, len(seen) - 1)
        result.ledger_skips += sum(1 for s in seen if s[2] == "skip")
        successes = [s for s in seen if s[2] == "ok"]
        result.processed_again += max(0, len(successes) - 1)
        clean = next((s for s in seen if s[2] == "ok" and s[3].clean), None)
        if clean is not None and any(s[0] > clean[0] and s[3] is not clean[3] for s in seen):
            result.unexplained.append(record.sequence_number)  # Lambda had checkpointed it
        in_dlq = dlq_count.get(record.event_id, 0)
        if in_dlq > 1:
            result.dlq_twice.append(record.sequence_number)
        if successes and in_dlq:
            result.both.append(record.sequence_number)
        if successes:
            result.processed += 1
            result.processed_ids.add(record.sequence_number)
            order, timestamp, _, _ = successes[0]
            processed_at[record.event_id] = order
            sent = sent_ms.get(record.write) if record.write is not None else None
            if sent is not None:
                result.latencies_ms.append(timestamp - sent)
            result.first_processed_ms = min(result.first_processed_ms or timestamp, timestamp)
            result.last_processed_ms = max(result.last_processed_ms or timestamp, timestamp)
        elif in_dlq:
            result.in_dlq += 1
            result.dlq_ids.add(record.sequence_number)
        elif filters and record.lambda_event is not None and not record_matches(filters, record.lambda_event):
            result.filtered += 1
        else:
            result.pending.append(record.sequence_number)
    # Per key, successful processing follows the stream's (= the writes') order.
    last_by_key: dict[str, tuple[tuple, str]] = {}
    for record in records:  # sorted by sequence number
        order = processed_at.get(record.event_id)
        if order is None:
            continue
        previous = last_by_key.get(record.key_id)
        if previous is not None and order < previous[0]:
            result.order_violations.append(
                f"{record.sequence_number} processed before {previous[1]} (key {record.key_id})"
            )
        last_by_key[record.key_id] = (order, record.sequence_number)
    return result


# ---------------------------------------------------------------- a whole run


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

    def summary(self) -> dict[str, Any]:
        a = self.accounting
        w = self.writes
        span_s = ((a.last_processed_ms or 0) / 1000 - w.started) if a.last_processed_ms else None
        return {
            "run": self.run,
            "writes": len(w.acked_ms),
            "writeErrors": len(w.errors),
            "writesPerSecond": round(w.rate, 1),
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
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Pipeline:
    """What a load needs from the pipeline's state: clients and resource names."""

    client: Callable[[str], Any]
    table: str
    key_schema: list[tuple[str, str]]
    stream_arn: str | None
    log_group: str | None
    queue_url: str | None
    function: str | None
    local: bool = True

    @classmethod
    def from_state(cls, state: Any) -> Pipeline:
        from ddbstream.clients import client_for
        from ddbstream.errors import NoStack

        resources = state.resources
        if not resources.get("table_name") or not resources.get("key_schema"):
            raise NoStack("no table has been provisioned: run 'ddbstream up'")
        function = resources.get("function_name")
        group = resources.get("log_group") or (lambda_log_group(function) if function else None)
        return cls(
            lambda service: client_for(state, service),
            resources["table_name"],
            [tuple(pair) for pair in resources["key_schema"]],
            resources.get("stream_arn"),
            group,
            resources.get("queue_url"),
            function,
            state.is_local,
        )


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
) -> LoadReport:
    """Write the plan, then wait (at most ``wait`` s) until every record it caused is accounted for."""
    if wait < 0:
        raise InvalidInput("--wait must be 0 or more seconds")
    keys = keys if keys is not None else max(1, count // 10)
    run = run or uuid.uuid4().hex[:8]  # in the keys: each run writes keys of its own
    plan = make_plan(count, keys, pipeline.key_schema, run, workers, seed)
    if rate < 0:
        raise InvalidInput("--rate must be 0 (no limit) or more")
    start_ms = int(time.time() * 1000) - 1000
    progress = Progress(total=count)
    results = WriteResults()
    writer = threading.Thread(
        target=run_writes,
        args=(plan, lambda: pipeline.client("dynamodb"), pipeline.table, run, rate, workers, results),
        name="ddbstream-load",
        daemon=True,
    )
    writer.start()
    while writer.is_alive():
        progress.written = results.done
        on_progress(progress)
        writer.join(0.1)
    progress.written = results.done
    progress.phase = "waiting"
    on_progress(progress)

    log = HandlerLog(pipeline.client("logs"), pipeline.log_group, start_ms) if pipeline.log_group else None
    streams = pipeline.client("dynamodbstreams")
    dlq = (
        DlqView(pipeline.client("sqs"), streams, pipeline.queue_url, pipeline.local)
        if pipeline.queue_url and pipeline.stream_arn
        else None
    )
    filters = _filters(pipeline)
    records: list[StreamRecord] = []
    mismatches: list[str] = []
    if pipeline.stream_arn:
        records, mismatches = match_records(
            plan, results, read_stream(streams, pipeline.stream_arn), pipeline.stream_arn
        )
    deadline = time.monotonic() + wait
    waited_from = time.monotonic()
    accounting = Accounting(records=len(records))
    quiet_at = -1  # records processed when the DLQ was last read
    while True:
        if log is not None:
            log.poll()
        if dlq is not None and accounting.processed == quiet_at:
            dlq.poll()  # peeking is costly on a long queue: only once processing has gone quiet
        quiet_at = accounting.processed
        if log is not None:
            accounting = account(records, log, dlq, results.sent_ms, filters)
        progress.accounted = accounting.accounted
        on_progress(progress)
        done = log is None or not accounting.pending
        if done or time.monotonic() >= deadline:
            break
        time.sleep(poll_interval)
    return LoadReport(
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


def _filters(pipeline: Pipeline) -> list:
    if not pipeline.function or not pipeline.stream_arn:
        return []
    from ddbstream.dlq import mapping_filters

    return mapping_filters(pipeline.client("lambda"), pipeline.function, pipeline.stream_arn)
