"""Performing a plan: writer threads, each owning its keys, at a total rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddbstream.errors import InvalidInput
from ddbstream.load.plan import INDEX_ATTRIBUTE, RUN_ATTRIBUTE, VERSION_ATTRIBUTE, Write


@dataclass
class WriteResults:
    acked_ms: dict[int, float] = field(default_factory=dict)  # write index -> acknowledgement (epoch ms)
    sent_ms: dict[int, float] = field(default_factory=dict)  # write index -> request sent (epoch ms)
    errors: dict[int, str] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time while writing (all its threads)

    @property
    def done(self) -> int:
        return len(self.acked_ms) + len(self.errors)

    def ack_waits_ms(self) -> list[float]:
        """How long each write took from its sending to its acknowledgement, shortest first."""
        return sorted(acked - self.sent_ms[index] for index, acked in self.acked_ms.items() if index in self.sent_ms)

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
    cpu = time.process_time()

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
    results.cpu_s = time.process_time() - cpu
    return results
