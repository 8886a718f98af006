"""Write throughput of the local daemon against plain ``moto_server`` (the same moto), in one run.

Starts three servers: the daemon as ``ddbstream up`` starts it (durable store on), the daemon
without its store (what the journal costs), and ``moto_server``. Each gets a table with a
stream (NEW_AND_OLD_IMAGES); the daemons also get a Python function whose handler appends
"when did I start, which keys did I get" to a file, and an event source mapping (BatchSize
100). Then, server by server:

1. PutItem from 1 and from 4 client threads for ``--seconds``:
   writes/s accepted; on the daemons also records/s processed by the handler (first write ->
   last record handled) and processed/accepted;
2. BatchWriteItem (25 items a request) from 4 threads: items/s accepted;
3. on the daemons, PutItem paced at ``--rate`` writes/s from 4 threads: write acknowledged ->
   handler start, p50/p99 (negative: the handler started before the client read the answer).

Each client thread is by default a lean one (``--client raw``): a persistent http.client
connection sending requests signed with botocore's SigV4 signer, so that on 2 cores the load
generator leaves the servers the CPU (a botocore client spends ~1-3 ms of CPU a call under
one GIL, which caps 4 threads of it below the rates measured here). ``--client botocore``
uses one botocore client per thread. The daemon's CPU time per write (from /proc) and the
load average are printed beside the figures: the machine is shared, so read them together.

Usage: python bench/write_throughput.py [--seconds 5] [--rate 500] [--paced-seconds 5] [--client raw]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from stream_latency import Pipeline, percentile  # noqa: E402

from ddbstream.clients import local_client  # noqa: E402
from ddbstream.daemon import DaemonLaunch, StartedDaemon, stop_daemon  # noqa: E402
from ddbstream.stack_secret import SECRET_ACCESS_KEY  # noqa: E402

REGION = "us-east-1"
ITEM_VALUE = {"S": "x" * 100}


class NoStoreLaunch(DaemonLaunch):
    """The daemon without ``--store``: what the durable journal costs is the difference."""

    def _command(self) -> list[str]:
        command = super()._command()
        at = command.index("--store")
        return command[:at] + command[at + 2 :]


class Server:
    """One server under test: its endpoint, secret, pid and (for a daemon) its pipeline."""

    def __init__(self, name: str, endpoint: str, secret: str, pid: int, stop: Any, work: Path, pipeline: bool):
        self.name, self.endpoint, self.secret, self.pid, self.stop = name, endpoint, secret, pid, stop
        self.pipeline = Pipeline(endpoint, secret, work, name) if pipeline else None
        self.plain = f"{name}-plain"  # a table with a stream and no mapping: the HTTP and moto path alone
        local_client("dynamodb", endpoint, REGION, secret).create_table(
            TableName=self.plain,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        self.table = name if pipeline else self.plain

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process and its children that exited (not the workers)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def client(self) -> Any:
        if CLIENT[0] == "botocore":
            return local_client("dynamodb", self.endpoint, REGION, self.secret)
        return RawClient(self.endpoint, self.secret)


CLIENT = ["raw"]


class RawClient:
    """DynamoDB's JSON protocol over one persistent connection, each request SigV4-signed."""

    def __init__(self, endpoint: str, secret: str):
        self.endpoint = endpoint
        self.connection = http.client.HTTPConnection(endpoint.removeprefix("http://"), timeout=60)
        self.signer = SigV4Auth(Credentials(secret, SECRET_ACCESS_KEY), "dynamodb", REGION)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        headers = {"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"}
        request = AWSRequest("POST", self.endpoint + "/", data=body, headers=headers)
        self.signer.add_auth(request)
        self.connection.request("POST", "/", body, dict(request.headers.items()))
        response = self.connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"{operation}: HTTP {response.status}: {answer[:200]!r}")
        return json.loads(answer)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self.call("PutItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        answer = self.call("BatchWriteItem", params)
        if answer.get("UnprocessedItems"):
            raise RuntimeError("BatchWriteItem left items unprocessed")
        return answer


def start_daemon_server(work: Path, name: str, store: bool) -> Server:
    launch = (DaemonLaunch if store else NoStoreLaunch)(work / name, REGION)
    endpoint, pid = launch.wait()
    started = StartedDaemon(endpoint, pid, launch.secret, launch.token, launch.directory)
    server = Server(name, endpoint, launch.secret, pid, lambda: stop_daemon(started, launch.directory), work, True)
    assert server.pipeline is not None
    server.pipeline.put("warm")
    server.pipeline.wait_for(["warm"])
    return server


def start_moto_server(work: Path) -> Server:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = Path(sys.executable).with_name("moto_server")
    log = open(work / "moto_server.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"moto_server did not start: see {work / 'moto_server.log'}") from None
            time.sleep(0.05)

    def stop() -> None:
        process.terminate()
        process.wait(10)
        log.close()

    return Server("moto_server", endpoint, "testing", process.pid, stop, work, False)


def run_writers(
    server: Server, threads: int, seconds: float, tag: str, batch: bool = False, table: str | None = None
) -> dict[str, Any]:
    """Write from ``threads`` clients for ``seconds`` to ``table`` (the server's); each key's acknowledgement time."""
    table = table or server.table
    clients = [server.client() for _ in range(threads)]
    acked: list[list[tuple[str, float]]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def writer(index: int) -> None:
        client, out, n = clients[index], acked[index], 0
        barrier.wait()
        while time.time() < stop_at[0]:
            if batch:
                keys = [f"{tag}-{index}-{n + i}" for i in range(25)]
                requests = [{"PutRequest": {"Item": {"k": {"S": k}, "v": ITEM_VALUE}}} for k in keys]
                client.batch_write_item(RequestItems={table: requests})
            else:
                keys = [f"{tag}-{index}-{n}"]
                client.put_item(TableName=table, Item={"k": {"S": keys[0]}, "v": ITEM_VALUE})
            now = time.time()
            out.extend((key, now) for key in keys)
            n += len(keys)

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    cpu = server.cpu_seconds()
    started = time.time()
    stop_at[0] = started + seconds
    barrier.wait()
    for worker in workers:
        worker.join()
    ended = time.time()
    every = [pair for group in acked for pair in group]
    return {
        "count": len(every),
        "rate": len(every) / (ended - started),
        "cpu_ms": (server.cpu_seconds() - cpu) * 1000 / max(1, len(every)),
        "started": started,
        "ended": ended,
        "acked": every,
    }


def run_paced(server: Server, threads: int, rate: float, seconds: float, tag: str) -> dict[str, Any]:
    """PutItem at ``rate`` writes/s in all, spread over ``threads`` clients on a fixed schedule."""
    clients = [server.client() for _ in range(threads)]
    acked: list[list[tuple[str, float]]] = [[] for _ in range(threads)]
    total = int(rate * seconds)
    start = time.time() + 0.2

    def writer(index: int) -> None:
        client = clients[index]
        for n in range(index, total, threads):
            delay = start + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            key = f"{tag}-{n}"
            client.put_item(TableName=server.table, Item={"k": {"S": key}, "v": ITEM_VALUE})
            acked[index].append((key, time.time()))

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    every = [pair for group in acked for pair in group]
    return {"count": len(every), "rate": len(every) / (max(t for _, t in every) - start), "acked": every}


def processed(server: Server, run: dict[str, Any]) -> str:
    """records/s processed and processed/accepted, once every acknowledged write reached the handler."""
    pipeline = server.pipeline
    assert pipeline is not None
    keys = [key for key, _ in run["acked"]]
    pipeline.wait_for(keys, timeout=300)
    handled = max(pipeline.seen[k]["end"] for k in keys)
    process_rate = len(keys) / (handled - run["started"])
    return f"{process_rate:8.0f} rec/s processed, processed/accepted {process_rate / run['rate']:.2f}"


def ack_to_handler(server: Server, run: dict[str, Any]) -> str:
    pipeline = server.pipeline
    assert pipeline is not None
    pipeline.wait_for([key for key, _ in run["acked"]], timeout=300)
    delays = [(pipeline.seen[key]["start"] - at) * 1000 for key, at in run["acked"]]
    return (
        f"ack -> handler p50 {statistics.median(delays):6.2f} ms, p99 {percentile(delays, 0.99):6.2f} ms, "
        f"max {max(delays):6.2f} ms"
    )


def bench(server: Server, args: argparse.Namespace) -> None:
    print(f"{server.name} ({server.endpoint})", flush=True)
    for threads in (1, 4):
        run = run_writers(server, threads, args.seconds, f"put{threads}")
        line = f"  PutItem, {threads} thread(s): {run['rate']:7.0f} writes/s accepted ({run['cpu_ms']:.2f} ms server CPU each)"
        if server.pipeline is not None:
            line += "; " + processed(server, run)
        print(line, flush=True)
    run = run_writers(server, 4, args.seconds, "batch", batch=True)
    line = f"  BatchWriteItem, 4 threads: {run['rate']:7.0f} items/s accepted ({run['cpu_ms']:.2f} ms server CPU each)"
    if server.pipeline is not None:
        line += "; " + processed(server, run)
    print(line, flush=True)
    if server.pipeline is not None:
        run = run_writers(server, 4, args.seconds, "plain", table=server.plain)
        print(
            f"  PutItem, 4 threads, table without a mapping: {run['rate']:7.0f} writes/s accepted "
            f"({run['cpu_ms']:.2f} ms server CPU each)",
            flush=True,
        )
        run = run_paced(server, 4, args.rate, args.paced_seconds, "paced")
        print(f"  PutItem paced at {args.rate:.0f}/s (achieved {run['rate']:.0f}/s): {ack_to_handler(server, run)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each unpaced run")
    parser.add_argument("--rate", type=float, default=500.0, help="paced PutItem rate for the latency run")
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    parser.add_argument("--only", choices=("daemon", "daemon-no-store", "moto_server"), action="append")
    parser.add_argument("--client", choices=("raw", "botocore"), default="raw", help="the load generator")
    args = parser.parse_args()
    CLIENT[0] = args.client
    os.environ.setdefault("DDBSTREAM_LOG_LEVEL", "WARNING")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"client: {args.client}")
    with tempfile.TemporaryDirectory(prefix="ddbstream-bench-") as tmp:
        work = Path(tmp)
        starts = {
            "daemon": lambda: start_daemon_server(work, "daemon", store=True),
            "daemon-no-store": lambda: start_daemon_server(work, "daemon-no-store", store=False),
            "moto_server": lambda: start_moto_server(work),
        }
        for name in args.only or list(starts):
            server = starts[name]()
            try:
                bench(server, args)
            finally:
                server.stop()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
