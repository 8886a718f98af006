"""Per-invocation overhead of the daemon's Lambda runtime, in CPU time of the daemon's process.

A trivial handler (it prints one line and returns) is invoked N times, warm, one after another.
What the daemon's own process spends on each (the Runtime API round trip, shipping the START,
handler and END/REPORT lines to CloudWatch Logs and the journal, the bookkeeping) is its CPU
time over the run divided by N; the worker process's time is not in it.

- ``in-process`` (the default): moto and ``LambdaRuntime`` in this process, as the ESM engine
  calls it, with the durable store attached (the journal's cost counted) unless ``--no-store``;
  ``time.process_time`` before and after (the driving loop itself costs a few microseconds).
- ``daemon``: a real daemon invoked over HTTP with boto3; its CPU from ``/proc/<pid>/stat``.
  This one includes the HTTP Invoke request (the server's share, issue 20 part A).

``--profile`` prints where the in-process run spends its CPU (cProfile in every thread).

Usage: python bench/invoke_overhead.py [--count 2000] [--mode in-process|daemon|both] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HANDLER = "def handler(event, context):\n    print('bench', event['n'])\n    return event['n']\n"
GOAL_MS = 0.5


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bench.py", HANDLER)
    return buffer.getvalue()


def create_function(lam, role: str, name: str = "overhead") -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="bench.handler",
        Code={"ZipFile": handler_zip()},
        MemorySize=128,
        Timeout=10,
    )


@contextmanager
def profiled_threads(enabled: bool) -> Iterator[list[cProfile.Profile]]:
    """cProfile in this thread and in every thread started meanwhile (one profile each)."""
    profiles: list[cProfile.Profile] = []
    if not enabled:
        yield profiles
        return

    def start_in_thread(*_args) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU time, not waits
        profiles.append(profile)
        profile.enable()

    main = cProfile.Profile(time.thread_time)
    profiles.append(main)
    threading.setprofile(start_in_thread)
    main.enable()
    try:
        yield profiles
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        for profile in profiles:
            profile.disable()


def run_in_process(count: int, store: bool, profile: bool) -> tuple[float, float]:
    """(daemon CPU ms per invocation, wall ms per invocation) with LambdaRuntime in this process."""
    import boto3
    from moto import mock_aws

    from ddbstream.emulator.runtime import LambdaRuntime
    from ddbstream.emulator.store.db import StoreFile
    from ddbstream.emulator.store.journal import JOURNAL

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="bench", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        create_function(boto3.client("lambda", region_name="us-east-1"), role)
        runtime = LambdaRuntime("us-east-1", "123456789012")
        if store:
            JOURNAL.file = StoreFile(Path(tmp) / "store.sqlite3")
        try:
            for n in range(20):  # warm: the worker, moto's models, the first log events
                runtime.invoke("overhead", json.dumps({"n": n}).encode())
            payloads = [json.dumps({"n": n}).encode() for n in range(count)]
            with profiled_threads(profile) as profiles:
                threads = thread_cpu()
                cpu, wall = time.process_time(), time.perf_counter()
                for payload in payloads:
                    result = runtime.invoke("overhead", payload)
                    assert result.function_error is None, result.payload
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print_threads(threads, thread_cpu(), count)
            if profile:
                print_profile(profiles)
        finally:
            runtime.shutdown()
            if JOURNAL.file is not None:
                JOURNAL.file.close()
                JOURNAL.file = None
    return cpu * 1000 / count, wall * 1000 / count


def thread_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads, summed by thread name (per-connection numbers dropped)."""
    names = {thread.native_id: thread.name.split(" (")[0].rstrip("-0123456789") for thread in threading.enumerate()}
    totals: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), "(ended or native)")
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return totals


def print_threads(before: dict[str, float], after: dict[str, float], count: int) -> None:
    for name in sorted(after, key=lambda n: before.get(n, 0.0) - after[n]):
        spent = (after[name] - before.get(name, 0.0)) * 1000 / count
        if spent >= 0.005:
            print(f"    {name:<28} {spent:6.3f} ms/invocation")


def print_profile(profiles: list[cProfile.Profile]) -> None:
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        try:
            stats.add(profile)
        except TypeError:  # a thread that never ran a profiled call
            pass
    stats.sort_stats("tottime").print_stats(25)


def daemon_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its threads included, its children not)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_daemon(count: int) -> tuple[float, float]:
    """(daemon CPU ms per invocation, wall ms per invocation) over HTTP Invoke to a real daemon."""
    from ddbstream.clients import local_client
    from ddbstream.daemon import start_daemon, stop_daemon

    with tempfile.TemporaryDirectory() as tmp:
        started = start_daemon(Path(tmp), "us-east-1")
        try:
            lam = local_client("lambda", started.endpoint, "us-east-1", started.secret)
            role = local_client("iam", started.endpoint, "us-east-1", started.secret).create_role(
                RoleName="bench", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]
            create_function(lam, role)

            def call(n: int) -> None:
                response = lam.invoke(FunctionName="overhead", Payload=json.dumps({"n": n}).encode())
                response["Payload"].read()
                assert "FunctionError" not in response

            for n in range(20):
                call(n)
            cpu, wall = daemon_cpu_seconds(started.pid), time.perf_counter()
            for n in range(count):
                call(n)
            cpu, wall = daemon_cpu_seconds(started.pid) - cpu, time.perf_counter() - wall
        finally:
            stop_daemon(started)
    return cpu * 1000 / count, wall * 1000 / count


def report(label: str, measure: Callable[[], tuple[float, float]]) -> None:
    cpu_ms, wall_ms = measure()
    verdict = "met" if cpu_ms <= GOAL_MS else "NOT met"
    print(f"{label:<34} daemon CPU {cpu_ms:6.3f} ms/invocation  wall {wall_ms:6.2f} ms/invocation  ({verdict})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--mode", choices=("in-process", "daemon", "both"), default="both")
    parser.add_argument("--no-store", action="store_true", help="in-process: no durable store attached")
    parser.add_argument("--profile", action="store_true", help="in-process: cProfile every thread")
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, {args.count} invocations, goal <= {GOAL_MS} ms"
    )
    if args.mode in ("in-process", "both"):
        label = "in-process" + ("" if args.no_store else " (store attached)")
        report(label, lambda: run_in_process(args.count, not args.no_store, args.profile))
    if args.mode in ("daemon", "both"):
        report("daemon over HTTP Invoke", lambda: run_daemon(args.count))
    print(f"load average after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
