"""Memory: the daemon's resident set size as events flow through the whole local pipeline.

Brings up a local stack in a temporary project (the consumer in lambda/, its mapping, its log
group), writes --events items with boto3 (BatchWriteItem, 25 a request, over --keys keys),
and every --every events waits until the mapping has handled every record, then samples
the daemon's VmRSS from /proc. Each event is a write -> a stream record -> a delivery -> the
handler's log line (plus the START/END/REPORT lines of its batch). Prints a Markdown table
and the figures as JSON (bench/README.md, section "Memory").

    .venv/bin/python bench/memory.py --events 100000
    .venv/bin/python bench/memory.py --events 150000 --retention 120   # plateau check
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import cli_env, make_project, run_cli, stack_client, stack_state  # noqa: E402

from ddbstream.daemon import daemon_get  # noqa: E402

BATCH = 25
CATCH_UP_SECONDS = 900.0


def rss_mb(pid: int) -> float:
    """The process's resident set size (VmRSS) in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def item(number: int, keys: int) -> dict:
    """One employee item (~200 bytes), the key cycling over ``keys`` values."""
    return {
        "employeeid": {"S": f"E{number % keys:06d}"},
        "name": {"S": f"Employee number {number}"},
        "department": {"S": ("Finance", "Sales", "Engineering", "Support")[number % 4]},
        "salary": {"N": str(40_000 + number % 60_000)},
        "note": {"S": "x" * 80},
        "write": {"N": str(number)},
    }


def write(client, table: str, start: int, stop: int, keys: int, workers: int) -> None:
    """Write items ``start``..``stop`` with ``workers`` threads, 25 items a BatchWriteItem."""
    chunks = [range(n, min(n + BATCH, stop)) for n in range(start, stop, BATCH)]
    lock = threading.Lock()

    def run() -> None:
        while True:
            with lock:
                if not chunks:
                    return
                numbers = chunks.pop(0)
            requests = [{"PutRequest": {"Item": item(n, keys)}} for n in numbers]
            while requests:
                answer = client.batch_write_item(RequestItems={table: requests})
                requests = answer.get("UnprocessedItems", {}).get(table, [])

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def wait_caught_up(state: dict, deadline_seconds: float = CATCH_UP_SECONDS) -> dict:
    """Wait until the mapping has no pending record and no batch in flight; its metrics."""
    path = f"/_ddbstream/mappings/{state['resources']['mapping_uuid']}/metrics"
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        metrics = daemon_get(state["endpoint"], state["secret"], path) or {}
        if metrics.get("PendingRecords") == 0 and not metrics.get("InFlight"):
            return metrics
        time.sleep(0.2)
    raise RuntimeError(f"the mapping did not catch up within {deadline_seconds:.0f} s")


def up(project: Path, env: dict[str, str]) -> dict:
    result = run_cli("up", "--json", cwd=project, env=cli_env(**env), timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"up failed: {result.stderr.strip()}")
    return stack_state(project)


def run(args: argparse.Namespace, project: Path, on_sample=None) -> list[dict]:
    """Bring the stack up, drive the events, sample; the samples (events, RSS MB, seconds)."""
    env = {"DDBSTREAM_STREAM_RETENTION_SECONDS": str(args.retention)} if args.retention else {}
    state = up(project, env)
    pid, table = state["pid"], state["resources"]["table_name"]
    client = stack_client(project, "dynamodb")
    started = time.monotonic()
    samples = [{"events": 0, "rssMB": round(rss_mb(pid), 1), "seconds": 0.0}]
    written = 0
    try:
        while written < args.events:
            stop = min(written + args.every, args.events)
            write(client, table, written, stop, args.keys, args.workers)
            written = stop
            metrics = wait_caught_up(state)
            sample = {
                "events": written,
                "rssMB": round(rss_mb(pid), 1),
                "seconds": round(time.monotonic() - started, 1),
                "delivered": metrics.get("RecordsDelivered"),
            }
            samples.append(sample)
            print(json.dumps(sample), file=sys.stderr, flush=True)
            if on_sample:
                on_sample(state, sample)
    finally:
        run_cli("destroy", "--yes", cwd=project, timeout=300)
    return samples


def table(samples: list[dict]) -> str:
    lines = ["| events | daemon RSS (MB) | elapsed (s) |", "| ---: | ---: | ---: |"]
    lines += [f"| {s['events']:,} | {s['rssMB']:.0f} | {s['seconds']:.0f} |" for s in samples]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000, help="sample the RSS every this many events")
    parser.add_argument("--keys", type=int, default=10_000, help="distinct item keys written")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--retention", type=float, default=0, help="stream retention in seconds (default: 24 h)")
    parser.add_argument("--out", type=Path, help="also write the samples to this JSON file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ddbstream-memory-") as tmp:
        samples = run(args, make_project(Path(tmp) / "project"))
    print(table(samples))
    text = json.dumps(samples, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
