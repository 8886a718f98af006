"""Run the local daemon: ``python -m ddbstream.emulator --port 0 --ready-file F``.

Started detached by ``ddbstream up``; stops gracefully on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddbstream.emulator")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--ready-file", help="write the bound port here once serving")
    parser.add_argument(
        "--snapshot", help="restore from this file at start (then delete it); save to it at a graceful stop"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=os.environ.get("DDBSTREAM_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    log = logging.getLogger("ddbstream.emulator")
    # The daemon never uses the caller's AWS identity: moto only needs fake credentials.
    for name in list(os.environ):
        if name.startswith("AWS_") and name not in ("AWS_DEFAULT_REGION",):
            del os.environ[name]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=args.region)

    from ddbstream.emulator.server import DaemonServer, build_emulator, warm_up

    try:
        server = DaemonServer(build_emulator(args.region), args.port)
    except OSError as exc:
        log.error("cannot listen on 127.0.0.1:%s: %s", args.port, exc.strerror)
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1

    from pathlib import Path

    from ddbstream.emulator import snapshot

    snapshot_path = Path(args.snapshot).resolve() if args.snapshot else None
    if snapshot_path is not None:
        restored = snapshot.restore(server.emulator, snapshot_path)
        if restored:
            log.info("%s", restored)
            server.emulator.restored = restored

    stopping = threading.Event()

    def stop() -> None:
        server.stop()  # in-flight batches finish first
        if snapshot_path is not None:
            try:
                snapshot.save(server.emulator, snapshot_path)
            except Exception:  # the stop itself must still complete
                log.exception("could not save the stack to %s", snapshot_path)

    def request_stop(reason: str) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("%s: stopping", reason)
            threading.Thread(target=stop, name="ddbstream-stop").start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: request_stop(f"signal {number}"))

    log.info("serving on %s (pid %s)", server.emulator.endpoint, os.getpid())
    if args.ready_file:
        from ddbstream.files import write_private

        write_private(args.ready_file, str(server.port))  # private like state.json beside it
    warm_up(server.emulator)
    if args.ready_file:
        _stop_when_orphaned(os.path.dirname(os.path.abspath(args.ready_file)), stopping, request_stop)
    server.serve_forever()
    log.info("stopped")
    return 0


def _stop_when_orphaned(directory: str, stopping: threading.Event, request_stop: Callable[[str], None]) -> None:
    """Stop when the project's state directory is deleted: nothing could ever reach us again."""

    def watch() -> None:
        while not stopping.wait(ORPHAN_CHECK_SECONDS):
            if not os.path.isdir(directory):
                request_stop(f"{directory} was removed")
                return

    threading.Thread(target=watch, name="ddbstream-orphan-watch", daemon=True).start()


ORPHAN_CHECK_SECONDS = 2.0


if __name__ == "__main__":
    sys.exit(main())
