"""`down` and `up` of a local stack after N writes: how long each takes and how big the store is.

    python bench/store_restart.py --writes 20000

A fresh project in a temporary directory: `up`, N puts (4 threads, 1,000 keys) through boto3
with the stack's secret, wait until the consumer has caught up, then time `down` (the store is
already complete: nothing to save) and the next `up` (the journal replayed into the daemon), and
report the store's size on disk. The issue's pickle snapshot took 10.4 s and 95 MB for `down`
after 20,000 writes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import make_project, run_cli, stack_state  # noqa: E402


def _client(project: Path, service: str):
    state = stack_state(project)
    return boto3.client(
        service,
        endpoint_url=state["endpoint"],
        region_name=state["region"],
        aws_access_key_id=state["secret"],
        aws_secret_access_key="bench",
    )


def _write(project: Path, writes: int, threads: int = 4) -> float:
    table = stack_state(project)["resources"]["table_name"]

    def worker(part: int) -> None:
        client = _client(project, "dynamodb")
        for n in range(part, writes, threads):
            client.put_item(TableName=table, Item={"employeeid": {"S": f"k{n % 1000}"}, "n": {"N": str(n)}})

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(part,)) for part in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.monotonic() - started


def _caught_up(project: Path) -> None:
    mapping = stack_state(project)["resources"]["mapping_uuid"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = run_cli("status", "--json", cwd=project)
        if status.returncode == 0 and f'"{mapping}"' in status.stdout and '"PendingRecords": 0' in status.stdout:
            return
        time.sleep(1)


def _timed(project: Path, *args: str) -> float:
    started = time.monotonic()
    result = run_cli(*args, cwd=project, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"ddbstream {' '.join(args)} failed: {result.stderr}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        project = make_project(Path(directory) / "project")
        _timed(project, "up")
        try:
            rate = args.writes / _write(project, args.writes)
            _caught_up(project)
            store = project / ".ddbstream" / "store.sqlite3"
            live = sum(p.stat().st_size for p in store.parent.glob("store.sqlite3*"))
            down = _timed(project, "down")
            size = store.stat().st_size
            up = _timed(project, "up")
            log = (project / ".ddbstream" / "daemon.log").read_text().splitlines()
            replay = [line for line in log if "replayed" in line][-1]
            figures = {
                "writes": args.writes,
                "write_rate_per_s": round(rate),
                "store_bytes_while_running": live,
                "down_s": round(down, 2),
                "store_bytes_after_down": size,
                "up_s": round(up, 2),
                "replay": replay.split(": ", 1)[-1],
            }
            print(json.dumps(figures, indent=2))
        finally:
            subprocess.run([sys.executable, "-m", "ddbstream", "destroy"], cwd=project, capture_output=True)


if __name__ == "__main__":
    main()
