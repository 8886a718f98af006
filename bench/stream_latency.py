"""Stream -> Lambda speed of the local daemon: write-to-handler latency and sustained throughput.

Starts a real daemon (``python -m ddbstream.emulator``), creates a table with a stream, a
function whose handler appends "when did I start, which keys did I get" to a file, and an
event source mapping (BatchSize 100, no batching window). Then:

1. latency: one write at a time; for each, the time from the moment PutItem returned to the
   client (and from the moment it was sent) until the handler started with that record
   (same clock, same machine);
2. throughput, with 1, 2 and 4 writer threads: the rate the daemon accepted writes, and the
   rate the handler finished records (first write sent -> last record handled).

Usage: python bench/stream_latency.py [--latency-writes 300] [--writes 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ddbstream.clients import local_client  # noqa: E402
from ddbstream.daemon import start_daemon, stop_daemon  # noqa: E402

REGION = "us-east-1"
HANDLER = """
import json, os, time

OUT = os.environ["BENCH_OUT"]

def handler(event, context):
    start = time.time()
    keys = [r["dynamodb"]["Keys"]["k"]["S"] for r in event["Records"]]
    with open(OUT, "a") as out:
        out.write(json.dumps({"start": start, "end": time.time(), "keys": keys}) + "\\n")
"""


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bench_handler.py", HANDLER)
    return buffer.getvalue()


class Pipeline:
    def __init__(self, endpoint: str, secret: str, work: Path, name: str):
        self.ddb = local_client("dynamodb", endpoint, REGION, secret)
        self.out = work / f"{name}.jsonl"
        self.out.touch()
        self.table = name
        stream = self.ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        iam = local_client("iam", endpoint, REGION, secret)
        role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = local_client("lambda", endpoint, REGION, secret)
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="bench_handler.handler",
            Code={"ZipFile": handler_zip()},
            Timeout=30,
            Environment={"Variables": {"BENCH_OUT": str(self.out)}},
        )
        lam.create_event_source_mapping(
            FunctionName=name, EventSourceArn=stream, StartingPosition="LATEST", BatchSize=100
        )
        self._offset = 0
        self.seen: dict[str, dict] = {}

    def put(self, key: str, client=None) -> float:
        (client or self.ddb).put_item(TableName=self.table, Item={"k": {"S": key}, "v": {"S": "x" * 100}})
        return time.time()

    def poll(self) -> None:
        with open(self.out) as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            entry = json.loads(line)
            for key in entry["keys"]:
                self.seen.setdefault(key, entry)

    def wait_for(self, keys: list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if all(k in self.seen for k in keys):
                return
            if time.monotonic() > deadline:
                missing = [k for k in keys if k not in self.seen]
                raise SystemExit(f"{len(missing)} record(s) never reached the handler, e.g. {missing[:3]}")
            time.sleep(0.0005)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure_latency(pipeline: Pipeline, count: int) -> list[float]:
    for n in range(10):  # warm the worker and the connection
        pipeline.put(f"warm-{n}")
        pipeline.wait_for([f"warm-{n}"])
    from_ack, from_send = [], []
    for n in range(count):
        key = f"lat-{n}"
        sent = time.time()
        acknowledged = pipeline.put(key)
        pipeline.wait_for([key])
        from_ack.append((pipeline.seen[key]["start"] - acknowledged) * 1000)
        from_send.append((pipeline.seen[key]["start"] - sent) * 1000)
    return from_ack, from_send


def measure_throughput(pipeline: Pipeline, endpoint: str, secret: str, threads: int, writes: int, tag: str) -> dict:
    per_thread = writes // threads
    clients = [local_client("dynamodb", endpoint, REGION, secret) for _ in range(threads)]
    keys = [[f"{tag}-{t}-{n}" for n in range(per_thread)] for t in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def writer(index: int) -> None:
        barrier.wait()
        for key in keys[index]:
            pipeline.put(key, clients[index])

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.time()
    for worker in workers:
        worker.join()
    writes_done = time.time()
    every = [k for group in keys for k in group]
    pipeline.wait_for(every, timeout=300)
    handled = max(pipeline.seen[k]["end"] for k in every)
    total = len(every)
    write_rate = total / (writes_done - started)
    process_rate = total / (handled - started)
    return {
        "threads": threads,
        "records": total,
        "write_rate": write_rate,
        "process_rate": process_rate,
        "ratio": process_rate / write_rate,
        "lag_ms": (handled - writes_done) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-writes", type=int, default=300)
    parser.add_argument("--writes", type=int, default=2000, help="writes per throughput run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ddbstream-bench-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("DDBSTREAM_LOG_LEVEL", "WARNING")
        started = start_daemon(work / "daemon", REGION)
        endpoint, secret = started.endpoint, started.secret
        try:
            latency = Pipeline(endpoint, secret, work, "latency")
            from_ack, from_send = measure_latency(latency, args.latency_writes)
            print(
                f"latency to the handler's start ({len(from_ack)} writes, one at a time; negative: the handler "
                "started before PutItem's response reached the client):"
            )
            for label, values in (("write acknowledged", from_ack), ("write sent", from_send)):
                print(
                    f"  from {label:<18} p50 {statistics.median(values):6.2f} ms   p99 {percentile(values, 0.99):6.2f} ms"
                    f"   min {min(values):6.2f} ms   max {max(values):6.2f} ms"
                )
            print("throughput (BatchSize 100, no batching window):")
            print("  writers   records   writes/s accepted   records/s processed   ratio   lag after last write")
            for threads in (1, 2, 4):
                pipeline = Pipeline(endpoint, secret, work, f"throughput-{threads}")
                pipeline.put("warm")
                pipeline.wait_for(["warm"])
                row = measure_throughput(pipeline, endpoint, secret, threads, args.writes, f"w{threads}")
                print(
                    f"  {row['threads']:>7}   {row['records']:>7}   {row['write_rate']:>17.0f}   "
                    f"{row['process_rate']:>19.0f}   {row['ratio']:>5.2f}   {row['lag_ms']:>8.1f} ms"
                )
        finally:
            stop_daemon(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
