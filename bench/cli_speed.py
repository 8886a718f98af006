"""CLI cost: `ddbstream up` to ready, and `ddbstream put` against `aws dynamodb put-item`.

Both writers hit the same local daemon in the same run, so the ratio compares like with like.
Run:  pip install -e '.[bench]' && python bench/cli_speed.py [--runs 15]
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


CPU_TIMES: list[float] = []  # user + system seconds of the last timed command


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one run (its CPU seconds go to CPU_TIMES: steadier on a busy machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_TIMES.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed: {result.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
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
        ddbstream = [sys.executable, "-m", "ddbstream"]
        up = timed([*ddbstream, "up"], project, env)
        try:
            state = json.loads((project / ".ddbstream" / "state.json").read_text())
            endpoint = state["endpoint"]
            # The peer signs with the stack's secret, as `eval "$(ddbstream env)"` would set it.
            peer_env = {**env, "AWS_ACCESS_KEY_ID": state["secret"]}
            ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
            for i in range(args.runs):  # interleaved, so both see the same machine
                item = {"employeeid": f"B{i}", "name": "Alice", "n": 1}
                ddb_item = {"employeeid": {"S": f"A{i}"}, "name": {"S": "Alice"}, "n": {"N": "1"}}
                ours.append(timed([*ddbstream, "put", "--item", json.dumps(item)], project, env))
                ours_cpu.append(CPU_TIMES[-1])
                theirs.append(
                    timed(
                        [
                            aws,
                            "dynamodb",
                            "put-item",
                            "--endpoint-url",
                            endpoint,
                            "--table-name",
                            "employees",
                            "--item",
                            json.dumps(ddb_item),
                        ],
                        project,
                        peer_env,
                    )
                )
                theirs_cpu.append(CPU_TIMES[-1])
            up_again = timed([*ddbstream, "up"], project, env)
        finally:
            subprocess.run([*ddbstream, "down"], cwd=project, env=env, capture_output=True)

    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"ddbstream up (cold, daemon start + provisioning): {up:.2f} s  (target < 3 s)")
    print(f"ddbstream up (second run, reconcile):             {up_again:.2f} s")
    print(f"ddbstream put median of {args.runs}:                    {ours_median * 1000:.0f} ms")
    print(f"aws dynamodb put-item median of {args.runs}:            {theirs_median * 1000:.0f} ms")
    print(f"ratio put / put-item:                             {ours_median / theirs_median:.2f}x  (target <= 0.6x)")
    ours_cpu_median, theirs_cpu_median = statistics.median(ours_cpu), statistics.median(theirs_cpu)
    print(
        f"CPU time (user+sys) median: put {ours_cpu_median * 1000:.0f} ms, put-item {theirs_cpu_median * 1000:.0f} ms, "
        f"ratio {ours_cpu_median / theirs_cpu_median:.2f}x"
    )


if __name__ == "__main__":
    main()
