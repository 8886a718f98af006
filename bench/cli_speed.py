"""CLI cost: `ddbstream up` to ready, and `ddbstream put`/`get` against `aws dynamodb put-item`/`get-item`.

Both tools hit the same local daemon in the same run, in alternating pairs (which of the two
goes first alternates too), so each pair's ratio compares like with like; the medians and the
spread of the pairs' ratios (min, quartiles, max) are printed for wall and CPU time. Both run
from compiled bytecode, as after `pip install` (a cache directory of the run's own, warmed by one
unmeasured run of each command, even where PYTHONDONTWRITEBYTECODE is set).
Run:  pip install -e '.[bench]' && python bench/cli_speed.py [--runs 21]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 0.5  # issue 20: ddbstream's command at most half the awscli command's wall time


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run; CPU time is steadier on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed: {result.stderr.strip()}")
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def spread(values: list[float]) -> str:
    """min / lower quartile / median / upper quartile / max."""
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return f"min {min(values):.2f}  q1 {q1:.2f}  median {median:.2f}  q3 {q3:.2f}  max {max(values):.2f}"


def pairs(ours: list[str], theirs: list[str], runs: int, project: Path, env: dict, peer_env: dict) -> dict:
    """``runs`` alternating pairs of our command and the peer's (after one unmeasured run each)."""
    timed(ours, project, env)
    timed(theirs, project, peer_env)
    times: dict[str, list[float]] = {"ours": [], "theirs": [], "ours_cpu": [], "theirs_cpu": []}
    for i in range(runs):
        order = [("ours", ours, env), ("theirs", theirs, peer_env)]
        for name, command, command_env in order if i % 2 == 0 else reversed(order):
            wall, cpu = timed(command, project, command_env)
            times[name].append(wall)
            times[f"{name}_cpu"].append(cpu)
    times["ratio"] = [a / b for a, b in zip(times["ours"], times["theirs"])]
    times["ratio_cpu"] = [a / b for a, b in zip(times["ours_cpu"], times["theirs_cpu"])]
    return times


def report(label: str, peer: str, times: dict) -> None:
    ours, theirs = statistics.median(times["ours"]), statistics.median(times["theirs"])
    verdict = "met" if statistics.median(times["ratio"]) <= TARGET else "NOT met"
    print(
        f"ddbstream {label}: median {ours * 1000:.0f} ms wall, {statistics.median(times['ours_cpu']) * 1000:.0f} ms CPU"
    )
    print(f"aws {peer}: median {theirs * 1000:.0f} ms wall, {statistics.median(times['theirs_cpu']) * 1000:.0f} ms CPU")
    print(
        f"  ratio of the {len(times['ratio'])} pairs, wall: {spread(times['ratio'])}  (target median <= {TARGET}x: {verdict})"
    )
    print(f"  ratio of the {len(times['ratio'])} pairs, CPU:  {spread(times['ratio_cpu'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21, help="alternating pairs per command (at least 20)")
    args = parser.parse_args()
    aws = shutil.which("aws") or str(Path(sys.executable).with_name("aws"))
    if not Path(aws).exists():
        sys.exit("the awscli package is needed as the peer: pip install -e '.[bench]'")

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(REPO / "infra", project / "infra")
        shutil.copytree(REPO / "lambda", project / "lambda")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", NO_COLOR="1"
        )
        # The pairs run from bytecode compiled into a cache of their own (the up timings as before).
        compiled = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        compiled["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        ddbstream = [sys.executable, "-m", "ddbstream"]
        up, _ = timed([*ddbstream, "up"], project, env)
        try:
            state = json.loads((project / ".ddbstream" / "state.json").read_text())
            # The peer signs with the stack's secret, as `eval "$(ddbstream env)"` would set it.
            peer_env = {**compiled, "AWS_ACCESS_KEY_ID": state["secret"]}
            peer = [aws, "dynamodb", "--endpoint-url", state["endpoint"]]
            item = {"employeeid": "B1", "name": "Alice", "n": 1}
            ddb_item = {"employeeid": {"S": "A1"}, "name": {"S": "Alice"}, "n": {"N": "1"}}
            put = pairs(
                [*ddbstream, "put", "--item", json.dumps(item)],
                [*peer, "put-item", "--table-name", "employees", "--item", json.dumps(ddb_item)],
                args.runs,
                project,
                compiled,
                peer_env,
            )
            get = pairs(
                [*ddbstream, "get", "B1"],
                [*peer, "get-item", "--table-name", "employees", "--key", '{"employeeid": {"S": "A1"}}'],
                args.runs,
                project,
                compiled,
                peer_env,
            )
            up_again, _ = timed([*ddbstream, "up"], project, env)
        finally:
            subprocess.run([*ddbstream, "down"], cwd=project, env=env, capture_output=True)

    print(f"load average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print(f"ddbstream up (cold, daemon start + provisioning): {up:.2f} s  (target < 3 s)")
    print(f"ddbstream up (second run, reconcile):             {up_again:.2f} s")
    report("put", "dynamodb put-item", put)
    report("get", "dynamodb get-item", get)


if __name__ == "__main__":
    main()
