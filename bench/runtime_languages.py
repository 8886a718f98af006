"""Cold start and warm invoke latency of Node.js functions beside Python ones in the local daemon.

Starts a daemon in a temporary directory and, for each language, creates the same small
handler (print a line, return the event's number) and measures:
- cold invoke: a new function's first invoke (zip extraction, worker start, runtime init),
- warm invoke: round trips through the HTTP Invoke API (boto3, RequestResponse),
- warm in-process: LambdaRuntime.invoke over moto without HTTP (the ESM engine's path).
The languages' warm rounds are interleaved, so a busy machine slows both alike.
Target: Node.js warm invoke p50 within 2x of Python's.

Usage: python bench/runtime_languages.py [--warm 300] [--cold 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ddbstream.clients import local_client  # noqa: E402
from ddbstream.daemon import start_daemon, stop_daemon  # noqa: E402

# (runtime, file name, source): the same handler in each language.
LANGUAGES = {
    "python": (
        "python3.12",
        "bench.py",
        "def handler(event, context):\n    print('bench', event['n'])\n    return event['n']\n",
    ),
    "node": (
        "nodejs20.x",
        "bench.js",
        "exports.handler = async (event) => {\n  console.log('bench', event.n);\n  return event.n;\n};\n",
    ),
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def code_zip(language: str) -> bytes:
    _, name, source = LANGUAGES[language]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


def create(lam, role: str, language: str, name: str) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime=LANGUAGES[language][0],
        Role=role,
        Handler="bench.handler",
        Code={"ZipFile": code_zip(language)},
        MemorySize=128,
        Timeout=10,
    )


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def over_http(warm_count: int, cold_count: int) -> dict[str, dict[str, list[float]]]:
    """{language: {"cold": [...], "warm": [...]}} through a real daemon's Invoke API."""
    results: dict[str, dict[str, list[float]]] = {lang: {"cold": [], "warm": []} for lang in LANGUAGES}
    with tempfile.TemporaryDirectory() as tmp:
        started = start_daemon(Path(tmp), "us-east-1")
        endpoint, secret = started.endpoint, started.secret
        try:
            lam = local_client("lambda", endpoint, "us-east-1", secret)
            role = local_client("iam", endpoint, "us-east-1", secret).create_role(
                RoleName="bench", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]

            def call(name: str, n: int) -> None:
                response = lam.invoke(FunctionName=name, Payload=json.dumps({"n": n}).encode())
                response["Payload"].read()
                assert "FunctionError" not in response, name

            for language in LANGUAGES:
                create(lam, role, language, f"first-{language}")  # the first start finds the interpreter
                call(f"first-{language}", 0)
            for index in range(cold_count):
                for language in LANGUAGES:
                    name = f"cold-{language}-{index}"
                    create(lam, role, language, name)
                    results[language]["cold"].append(timed(lambda name=name, index=index: call(name, index)))
            for language in LANGUAGES:
                create(lam, role, language, f"warm-{language}")
                call(f"warm-{language}", -1)
            for n in range(warm_count):
                for language in LANGUAGES:
                    results[language]["warm"].append(timed(lambda language=language, n=n: call(f"warm-{language}", n)))
        finally:
            stop_daemon(started)
    return results


def in_process(warm_count: int) -> dict[str, list[float]]:
    """{language: [...]}: warm LambdaRuntime.invoke round trips over moto in-process."""
    import boto3
    from moto import mock_aws

    from ddbstream.emulator.runtime import LambdaRuntime

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with mock_aws():
        lam = boto3.client("lambda", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="bench", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        runtime = LambdaRuntime("us-east-1", "123456789012")
        try:
            for language in LANGUAGES:
                create(lam, role, language, f"warm-{language}")
                runtime.invoke(f"warm-{language}", b'{"n": -1}')
            times: dict[str, list[float]] = {language: [] for language in LANGUAGES}
            for n in range(warm_count):
                payload = json.dumps({"n": n}).encode()
                for language in LANGUAGES:
                    times[language].append(
                        timed(lambda language=language, payload=payload: runtime.invoke(f"warm-{language}", payload))
                    )
            return times
        finally:
            runtime.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    http = over_http(args.warm, args.cold)
    local = in_process(args.warm)
    for language in LANGUAGES:
        cold, warm, direct = http[language]["cold"], http[language]["warm"], local[language]
        print(
            f"{language:6s} cold invoke      n={len(cold):4d}  p50 {statistics.median(cold):7.1f} ms  max {max(cold):7.1f} ms"
        )
        print(
            f"{language:6s} warm invoke      n={len(warm):4d}  p50 {statistics.median(warm):7.2f} ms  p99 {percentile(warm, 99):7.2f} ms"
        )
        print(
            f"{language:6s} warm in-process  n={len(direct):4d}  p50 {statistics.median(direct):7.2f} ms  p99 {percentile(direct, 99):7.2f} ms"
        )
    ratio = statistics.median(http["node"]["warm"]) / statistics.median(http["python"]["warm"])
    print(f"node / python warm invoke p50: {ratio:.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
