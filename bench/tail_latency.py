"""`ddbstream tail -f` latency on the local target: from a handler writing a line to tail printing it.

Starts a daemon in a temporary directory, creates a function whose handler prints the wall
clock (`LINE <n> <time.time()>`), runs the real `ddbstream tail FUNCTION -f --format raw` in a
subprocess, invokes the function at random intervals and timestamps each line as it comes out
of the tail's stdout. Both clocks are this machine's. Reports p50 / p95 / max.

Usage: python bench/tail_latency.py [--count 200]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ddbstream.clients import local_client  # noqa: E402
from ddbstream.daemon import start_daemon, stop_daemon  # noqa: E402
from ddbstream.state import State, write_state  # noqa: E402

HANDLER = "import time\n\ndef handler(event, context):\n    print('LINE', event['n'], repr(time.time()), flush=True)\n"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bench.py", HANDLER)

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / ".ddbstream"
        started = start_daemon(directory, "us-east-1")
        endpoint, pid, secret = started.endpoint, started.pid, started.secret
        state = State(
            target="local",
            region="us-east-1",
            endpoint=endpoint,
            pid=pid,
            started_at=time.time(),
            secret=secret,
            resources={"function_name": "tailbench"},
        )
        write_state(directory, state)
        tail = None
        try:
            role = local_client("iam", endpoint, "us-east-1", secret).create_role(
                RoleName="bench", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]
            lam = local_client("lambda", endpoint, "us-east-1", secret)
            lam.create_function(
                FunctionName="tailbench",
                Runtime="python3.12",
                Role=role,
                Handler="bench.handler",
                Code={"ZipFile": buffer.getvalue()},
                MemorySize=128,
                Timeout=10,
            )
            lam.invoke(FunctionName="tailbench", Payload=b'{"n": -1}')  # warm up; creates the log group

            env = {**os.environ, "DDBSTREAM_STATE_DIR": str(directory), "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
            tail = subprocess.Popen(
                [sys.executable, "-m", "ddbstream", "tail", "-f", "--since", "1s", "--format", "raw"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                text=True,
                bufsize=1,
            )
            latencies: dict[int, float] = {}
            done = threading.Event()

            def read() -> None:
                for line in tail.stdout:
                    now = time.time()
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "LINE" and int(parts[1]) >= 0:
                        latencies[int(parts[1])] = (now - float(parts[2])) * 1000
                        if len(latencies) >= args.count:
                            done.set()
                            return

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            time.sleep(1.0)  # let the tail finish its backfill before measuring
            for n in range(args.count):
                lam.invoke(FunctionName="tailbench", Payload=f'{{"n": {n}}}'.encode())
                time.sleep(random.uniform(0.05, 0.4))  # lines land at every phase of the poll cycle
            done.wait(30)
        finally:
            if tail is not None:
                tail.terminate()
                tail.wait(10)
            stop_daemon(started)

    values = list(latencies.values())
    missing = args.count - len(values)
    print(f"lines: {len(values)} of {args.count} (missing {missing})")
    print(f"p50 {statistics.median(values):.1f} ms  p95 {percentile(values, 95):.1f} ms  max {max(values):.1f} ms")


if __name__ == "__main__":
    main()
