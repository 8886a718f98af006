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
from pathlib import Path

from ddbstream.emulator.ownership import Claim, Taken
from ddbstream.files import write_private
from ddbstream.stack_secret import SECRET_ENV


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        print(f"the daemon needs the stack secret in ${SECRET_ENV} ('ddbstream up' sets it)", file=sys.stderr)
        return 2
    _set_up_process(args.region)
    log = logging.getLogger("ddbstream.emulator")
    try:
        claim = _claim(args)
    except Taken as exc:
        print(f"{exc}: not starting a second daemon", file=sys.stderr)
        return 3

    # moto (imported by the daemon's modules) is only loaded once the environment is set.
    from ddbstream.emulator.daemon import build_daemon, keep_in_store
    from ddbstream.emulator.server import DaemonServer, warm_up
    from ddbstream.emulator.store.db import StoreUnavailable

    daemon = build_daemon(args.region, secret)
    daemon.emulator.token = args.token or ""
    if claim is not None:  # function code lives beside the state, not in /tmp (removed at the next start)
        daemon.runtime.use_work_dir(claim.directory / "lambda")
    try:
        server = DaemonServer(daemon.emulator, args.port, tuple(args.cors_origin))
    except OSError as exc:
        log.error("cannot listen on 127.0.0.1:%s: %s", args.port, exc.strerror)
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1

    # While a long journal is replayed, ``<ready file>.restoring`` is touched: the CLI waits on
    # while it is recent. It is left to go stale (the CLI reads the ready file meanwhile).
    restoring = Path(f"{args.ready_file}.restoring") if args.ready_file else None
    try:
        close_store = keep_in_store(daemon, Path(args.store).resolve(), _toucher(restoring)) if args.store else None
    except StoreUnavailable as exc:
        log.error("cannot use the store %s", exc)
        print(f"cannot use the store {exc}", file=sys.stderr)
        return 1
    if daemon.emulator.restored:
        log.info("%s", daemon.emulator.restored)

    stopping = threading.Event()

    def stop() -> None:
        server.stop()  # in-flight batches finish first
        if claim is not None and not claim.held():
            # Closing the store would remove its WAL file by name in a directory that is no longer ours.
            log.warning("%s is no longer this daemon's: exiting without touching it", claim.directory)
            os._exit(0)
        if close_store is not None:
            try:
                close_store()
            except Exception:  # the stop itself must still complete; every change is in the file already
                log.exception("could not close the store %s", args.store)
                return
        if claim is not None:
            claim.confirm_clean_stop()

    def request_stop(reason: str) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("%s: stopping", reason)
            threading.Thread(target=stop, name="ddbstream-stop").start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: request_stop(f"signal {number}"))

    log.info("serving on %s (pid %s)", server.emulator.endpoint, os.getpid())
    if args.ready_file:
        write_private(args.ready_file, str(server.port))  # private like state.json beside it
    warm_up(server.emulator)
    if claim is not None:
        _stop_when_orphaned(claim, stopping, request_stop)
    server.serve_forever()
    log.info("stopped")
    return 0


def _toucher(path: Path | None) -> Callable[[], None]:
    def touch() -> None:
        if path is not None:
            write_private(path, "")

    return touch


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ddbstream.emulator")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--ready-file", help="write the bound port here once serving")
    parser.add_argument("--store", help="the durable store: restore from it at start, keep every change in it")
    parser.add_argument("--token", help="names this daemon on its health route (ddbstream/daemon.py checks it)")
    parser.add_argument(
        "--cors-origin", action="append", default=[], help="a web origin allowed to call the daemon (repeatable)"
    )
    return parser.parse_args(argv)


def _set_up_process(region: str) -> None:
    """Logging to stderr, and no AWS credentials at all: the daemon never uses the caller's AWS identity.

    The stack secret leaves the environment too: workers get it from the runtime, nothing else does.
    """
    logging.basicConfig(
        level=os.environ.get("DDBSTREAM_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in list(os.environ):
        if (name.startswith("AWS_") and name != "AWS_DEFAULT_REGION") or name == SECRET_ENV:
            del os.environ[name]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=region)
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"  # CORS is the guard's decision (--cors-origin)


def _claim(args: argparse.Namespace) -> Claim | None:
    """Hold the state directory (the ready file's) for this daemon's life; Taken if another daemon does."""
    if not args.ready_file:
        return None
    return Claim(Path(args.ready_file).resolve().parent, args.token or "")


def _stop_when_orphaned(claim: Claim, stopping: threading.Event, request_stop: Callable[[str], None]) -> None:
    """Stop when the state directory is removed (or replaced by a new one): nothing could reach us again."""

    def watch() -> None:
        while not stopping.wait(ORPHAN_CHECK_SECONDS):
            if not claim.held():
                request_stop(f"{claim.directory} was removed")
                return

    threading.Thread(target=watch, name="ddbstream-orphan-watch", daemon=True).start()


ORPHAN_CHECK_SECONDS = 2.0


if __name__ == "__main__":
    sys.exit(main())
