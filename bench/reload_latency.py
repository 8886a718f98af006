"""`ddbstream up --watch` reload latency: from saving the handler to the first invocation running it.

Makes a project in a temporary directory (the repository's infra/ and lambda/, with a handler that
returns its VERSION and the wall clock), runs the real `ddbstream up --watch` in a subprocess, warms
the function with one invocation, then N times: writes handler.py with the next VERSION and invokes
the function back to back (every 10 ms) until one answers with that version. Measured per save:

- deploy: the watch's own "reloaded in X s" (the change seen -> plan and apply done);
- live: the save -> the first invocation of the new code running its handler (its clock in the
  answer), which includes seeing the change, the apply and the new worker's start. The runtime
  starts the new worker as the apply updates the code, so an invocation right after a save waits at
  most for what is left of its start.

A pause of --gap seconds between saves (a developer does not save every 10 ms). Both clocks are this
machine's. Prints p50 / p95 / max and the load average (the machine is shared: note it with them).

Usage: python bench/reload_latency.py [--count 20] [--gap 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ddbstream.clients import local_client  # noqa: E402

HANDLER = """import time

VERSION = {version}


def lambda_handler(event, context):
    return {{"version": VERSION, "at": time.time()}}
"""
RELOADED = re.compile(r"reloaded in ([0-9.]+) s")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def make_project(directory: Path) -> Path:
    ignore = shutil.ignore_patterns(".terraform", "terraform.tfstate*", "__pycache__", "*.tfvars")
    shutil.copytree(REPO / "infra", directory / "infra", ignore=ignore)
    shutil.copytree(REPO / "lambda", directory / "lambda", ignore=ignore)
    (directory / "lambda" / "handler.py").write_text(HANDLER.format(version=0))
    return directory


def start_watch(project: Path) -> tuple[subprocess.Popen, list[str]]:
    """`ddbstream up --watch` in a subprocess; its stderr lines collected as they come."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DDBSTREAM_"))}
    env.update(NO_COLOR="1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "ddbstream", "up", "--watch"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()  # type: ignore[arg-type]
    deadline = time.monotonic() + 120
    while not any(line.startswith("watching ") for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("ddbstream up --watch did not start:\n" + "".join(lines))
        time.sleep(0.05)
    return process, lines


def invoke(lam, function: str) -> dict:
    return json.loads(lam.invoke(FunctionName=function, Payload=b"{}")["Payload"].read())


def one_reload(project: Path, lam, function: str, version: int, lines: list[str]) -> tuple[float, float]:
    """(deploy seconds from the watch's line, save -> new code running seconds)."""
    seen = len(lines)
    handler = project / "lambda" / "handler.py"
    handler.write_text(HANDLER.format(version=version))
    saved = time.time()
    deadline = time.monotonic() + 30
    while True:
        answer = invoke(lam, function)
        if answer.get("version") == version:
            live = answer["at"] - saved
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"version {version} never ran: {answer}")
        time.sleep(0.01)
    deadline = time.monotonic() + 10
    while not (found := [m for line in lines[seen:] if (m := RELOADED.search(line))]):
        if time.monotonic() > deadline:
            raise SystemExit("no reload line:\n" + "".join(lines[seen:]))
        time.sleep(0.01)
    return float(found[0].group(1)), live


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between one reload and the next save")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project")
        process, lines = start_watch(project)
        try:
            state = json.loads((project / ".ddbstream" / "state.json").read_text())
            lam = local_client("lambda", state["endpoint"], state["region"], state["secret"])
            function = state["resources"]["function_name"]
            invoke(lam, function)  # the first worker: from now on a reload replaces a warm one
            deploys, lives = [], []
            for version in range(1, args.count + 1):
                deploy, live = one_reload(project, lam, function, version, lines)
                deploys.append(deploy)
                lives.append(live)
                time.sleep(args.gap)
        finally:
            process.terminate()
            process.wait(30)
            subprocess.run(
                [sys.executable, "-m", "ddbstream", "down"], cwd=project, capture_output=True, timeout=120, check=False
            )
    load = os.getloadavg()
    print(f"{args.count} reloads, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for label, values in (("deploy (watch line)", deploys), ("save -> new code running", lives)):
        print(
            f"{label:26s} p50 {percentile(values, 50) * 1000:6.0f} ms  p95 {percentile(values, 95) * 1000:6.0f} ms"
            f"  max {max(values) * 1000:6.0f} ms  mean {statistics.mean(values) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
