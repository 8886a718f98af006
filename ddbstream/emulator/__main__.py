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

    # moto (imported by the daemon's modules) is only loaded once the environment is set.
    from ddbstream.emulator.daemon import build_daemon, keep_in_store
    from ddbstream.emulator.server import DaemonServer, warm_up

    daemon = build_daemon(args.region, secret)
    try:
        server = DaemonServer(daemon.emulator, args.port, tuple(args.cors_origin))
    except OSError as exc:
        log.error("cannot listen on 127.0.0.1:%s: %s", args.port, exc.strerror)
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1

    close_store = keep_in_store(daemon, Path(args.store).resolve()) if args.store else None
    if daemon.emulator.restored:
        log.info("%s", daemon.emulator.restored)

    stopping = threading.Event()

    def stop() -> None:
        server.stop()  # in-flight batches finish first
        if close_store is not None:
            try:
                close_store()
            except Exception:  # the stop itself must still complete; every change is in the file already
                log.exception("could not close the store %s", args.store)

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
    if args.ready_file:
        _stop_when_orphaned(os.path.dirname(os.path.abspath(args.ready_file)), stopping, request_stop)
    server.serve_forever()
    log.info("stopped")
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ddbstream.emulator")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--ready-file", help="write the bound port here once serving")
    parser.add_argument("--store", help="the durable store: restore from it at start, keep every change in it")
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
