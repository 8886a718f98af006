"""Soak: `ddbstream load` logic at scale through a consumer that fails a predictable share of records.

Brings up a local stack in a temporary project (the fault-injecting consumer of
tests/fixtures/reliability, bisect, 2 retries, ReportBatchItemFailures, the DLQ), writes
--count puts/updates/deletes, waits until every stream record is processed or in the DLQ,
and prints the figures as JSON (for bench/README.md, section "Reliability"). Exit status 1
when an event was lost or misplaced.

    .venv/bin/python bench/soak.py --count 50000 --workers 4
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from reliability_support import check, choose_faults, consumer_dir, fault_environment, up_arguments  # noqa: E402
from support import make_project, run_cli  # noqa: E402

from ddbstream.load import make_plan, run_load  # noqa: E402
from ddbstream.pipeline import Pipeline  # noqa: E402
from ddbstream.state import read_state  # noqa: E402

SCHEMA = [("employeeid", "S")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--keys", type=int, default=None, help="default: count / 10")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--percent", type=int, default=5, help="share of keys whose records fail")
    parser.add_argument("--hangs", type=int, default=2)
    parser.add_argument("--exits", type=int, default=2)
    parser.add_argument("--segfaults", type=int, default=1)
    parser.add_argument("--wait", type=float, default=3600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    keys = args.keys or max(1, args.count // 10)
    run = f"soak{args.seed:04d}"

    with tempfile.TemporaryDirectory(prefix="ddbstream-soak-") as tmp:
        project = make_project(Path(tmp) / "project")
        plan = make_plan(args.count, keys, SCHEMA, run, args.workers, args.seed)
        chosen = choose_faults(plan, args.percent, {"hang": args.hangs, "exit": args.exits, "segv": args.segfaults})
        env = fault_environment(args.percent, chosen)
        up = run_cli("up", "--json", *up_arguments(consumer_dir(project), env, timeout=2), cwd=project)
        if up.returncode != 0:
            print(up.stderr, file=sys.stderr)
            return 2
        started = time.monotonic()
        last = [0.0]

        def progress(p) -> None:
            if time.monotonic() - last[0] >= 10:
                last[0] = time.monotonic()
                print(
                    f"[{time.monotonic() - started:7.0f} s] {p.phase}: {p.written}/{p.total} written, "
                    f"{p.accounted} accounted for",
                    file=sys.stderr,
                    flush=True,
                )

        try:
            pipeline = Pipeline.from_state(read_state(project / ".ddbstream"))
            report = run_load(
                pipeline,
                args.count,
                args.rate,
                args.workers,
                keys,
                args.wait,
                args.seed,
                on_progress=progress,
                poll_interval=5.0,
                run=run,
            )
        finally:
            run_cli("down", cwd=project)
    problems, figures = check(report, env)
    figures["wallSeconds"] = round(time.monotonic() - started, 1)
    figures["problems"] = problems
    text = json.dumps(figures, indent=2, sort_keys=True)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
