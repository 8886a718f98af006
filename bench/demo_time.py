"""Wall time of `ddbstream demo`: from nothing (with --down) and on a running stack.

Runs the real command (`python -m ddbstream demo`) in fresh project directories, as a
newcomer would, and prints the median and worst of each. Target: the whole run under 15 s.

    python bench/demo_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import cli_env, make_project  # noqa: E402


def timed(args: list[str], cwd: Path, ups: list[float] | None = None) -> float:
    """Wall time of one command; the demo's own "local stack up ... in N s" figure goes to ``ups``."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ddbstream", *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ddbstream {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    found = re.search(r"local stack up on \S+ in ([\d.]+) s", result.stdout)
    if ups is not None and found:
        ups.append(float(found.group(1)))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    cold, warm, ups = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            project = make_project(Path(tmp) / "project")
            cold.append(timed(["demo", "--down"], project, ups))
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project")
        timed(["up"], project)
        try:
            for _ in range(runs):
                warm.append(timed(["demo"], project))
        finally:
            subprocess.run(
                [sys.executable, "-m", "ddbstream", "down"],
                cwd=project,
                env=cli_env(),
                capture_output=True,
                timeout=120,
            )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    for label, values in (
        ("demo --down from nothing", cold),
        ("  of which starting the stack", ups),
        ("demo on a running stack", warm),
    ):
        print(f"{label}: median {statistics.median(values):.2f} s, max {max(values):.2f} s ({len(values)} runs)")


if __name__ == "__main__":
    main()
