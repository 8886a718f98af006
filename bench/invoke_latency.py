"""Lambda Invoke latency in the local daemon: cold start, warm invoke, and log visibility.

Starts a daemon in a temporary directory, creates small functions with boto3 and measures:
- cold invoke (a new function: zip extraction + worker start + awslambdaric init),
- warm invoke round trip through the HTTP Invoke API (boto3, RequestResponse),
- warm invoke through the runtime's Python API in-process (what the ESM engine calls),
- how long after a warm invoke returns the handler's line is readable with FilterLogEvents
  (what `ddbstream tail` sees; the daemon ships lines before END, so this is one poll).

Usage: python bench/invoke_latency.py [--warm 300] [--cold 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ddbstream.clients import local_client  # noqa: E402
from ddbstream.daemon import start_daemon, stop_daemon  # noqa: E402

HANDLER = "def handler(event, context):\n    print('bench', event['n'])\n    return event['n']\n"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure_in_process(code: bytes, count: int) -> list[float]:
    """Warm LambdaRuntime.invoke round trips over moto in-process (the ESM engine's path)."""
    import os

    import boto3
    from moto import mock_aws

    from ddbstream.emulator.runtime import LambdaRuntime

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with mock_aws():
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="bench", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        boto3.client("lambda", region_name="us-east-1").create_function(
            FunctionName="warm",
            Runtime="python3.12",
            Role=role,
            Handler="bench.handler",
            Code={"ZipFile": code},
            MemorySize=128,
            Timeout=10,
        )
        runtime = LambdaRuntime("us-east-1", "123456789012")
        try:
            runtime.invoke("warm", b'{"n": -1}')
            times = []
            for n in range(count):
                started = time.perf_counter()
                result = runtime.invoke("warm", json.dumps({"n": n}).encode())
                times.append((time.perf_counter() - started) * 1000)
                assert result.function_error is None
            return times
        finally:
            runtime.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bench.py", HANDLER)
    code = buffer.getvalue()

    with tempfile.TemporaryDirectory() as tmp:
        started = start_daemon(Path(tmp), "us-east-1")
        endpoint, secret = started.endpoint, started.secret
        try:
            lam = local_client("lambda", endpoint, "us-east-1", secret)
            logs = local_client("logs", endpoint, "us-east-1", secret)
            role = local_client("iam", endpoint, "us-east-1", secret).create_role(
                RoleName="bench", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]

            def create(name: str) -> None:
                lam.create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=role,
                    Handler="bench.handler",
                    Code={"ZipFile": code},
                    MemorySize=128,
                    Timeout=10,
                )

            def call(name: str, n: int) -> float:
                started = time.perf_counter()
                response = lam.invoke(FunctionName=name, Payload=json.dumps({"n": n}).encode())
                response["Payload"].read()
                assert "FunctionError" not in response
                return (time.perf_counter() - started) * 1000

            cold = []
            for index in range(args.cold):
                create(f"cold-{index}")
                cold.append(call(f"cold-{index}", index))

            create("warm")
            call("warm", -1)
            warm = [call("warm", n) for n in range(args.warm)]

            visible = []
            for n in range(20):
                marker = 10_000 + n
                call("warm", marker)
                started = time.perf_counter()
                while not logs.filter_log_events(logGroupName="/aws/lambda/warm", filterPattern=f'"bench {marker}"')[
                    "events"
                ]:
                    if time.perf_counter() - started > 5:
                        raise SystemExit(f"line {marker} never became visible")
                visible.append((time.perf_counter() - started) * 1000)
        finally:
            stop_daemon(started)

    in_process = measure_in_process(code, args.warm)
    print(f"cold invoke      n={len(cold):4d}  p50 {statistics.median(cold):7.1f} ms  max {max(cold):7.1f} ms")
    print(
        f"warm invoke      n={len(warm):4d}  p50 {statistics.median(warm):7.2f} ms  p99 {percentile(warm, 99):7.2f} ms"
    )
    print(
        f"warm in-process  n={len(in_process):4d}  p50 {statistics.median(in_process):7.2f} ms  "
        f"p99 {percentile(in_process, 99):7.2f} ms  (LambdaRuntime.invoke, no HTTP)"
    )
    print(
        f"log visible      n={len(visible):4d}  p50 {statistics.median(visible):7.2f} ms  "
        f"max {max(visible):7.2f} ms  (after the invoke returned; one FilterLogEvents round trip)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
