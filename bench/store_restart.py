"""`down` and `up` of a local stack after N writes: how long each takes and how big the store is.

    python bench/store_restart.py --writes 20000

A fresh project in a temporary directory: `up`, N puts (4 threads, 1,000 keys) through boto3
with the stack's secret, wait until the consumer has caught up, then time `down` (the store is
already complete: nothing to save), the replay of the store into a fresh daemon (what the next
`up` waits for), and report the store's size on disk. The issue's pickle snapshot took 10.4 s and 95 MB for `down`
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import make_project, run_cli, stack_client, stack_state  # noqa: E402


def _client(project: Path, service: str):
    return stack_client(project, service)


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
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = run_cli("status", "--json", cwd=project)
        if status.returncode != 0:
            raise SystemExit(f"ddbstream status failed: {status.stderr}")
        if all(m["pendingRecords"] == 0 for m in json.loads(status.stdout)["mappings"]):
            return
        time.sleep(1)
    raise SystemExit("the consumer did not catch up within 600 s")


def _timed(project: Path, *args: str) -> float:
    started = time.monotonic()
    result = run_cli(*args, cwd=project, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"ddbstream {' '.join(args)} failed: {result.stderr}")
    return time.monotonic() - started


_REPLAY = """
import os, shutil, sys, tempfile, time
from pathlib import Path
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
from ddbstream.emulator.daemon import build_daemon
from ddbstream.emulator.store import restore
copy = Path(tempfile.mkdtemp()) / "store.sqlite3"
shutil.copy(sys.argv[1], copy)
daemon = build_daemon()
file, _ = restore.open_store(copy)
started = time.monotonic()
restore.restore(file, daemon.emulator, daemon.streams, daemon.engine)
print(time.monotonic() - started)
"""


def _replay_seconds(store: Path) -> float:
    """How long a daemon takes to replay ``store`` (a copy), without the rest of its start."""
    result = subprocess.run([sys.executable, "-c", _REPLAY, str(store)], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


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
            replay = _replay_seconds(store)
            up = run_cli("up", cwd=project, timeout=600)
            figures = {
                "writes": args.writes,
                "write_rate_per_s": round(rate),
                "store_bytes_while_running": live,
                "down_s": round(down, 2),
                "store_bytes_after_down": size,
                "replay_s": round(replay, 2),
                "next_up": "ok" if up.returncode == 0 else up.stderr.strip(),
            }
            print(json.dumps(figures, indent=2))
        finally:
            subprocess.run([sys.executable, "-m", "ddbstream", "destroy"], cwd=project, capture_output=True)


if __name__ == "__main__":
    main()
