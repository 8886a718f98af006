"""`up --watch [--tail]`: after `up`, redeploy on every save, one line a reload; the consumer's log alongside."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ddbstream.spec import Spec
    from ddbstream.targets import Target
    from ddbstream.watch import Reload

AWS_REFUSAL = (
    "--watch runs on the local target only: on aws, run 'ddbstream up --target aws' after a change "
    "(each is a terraform apply)"
)


def check_options(target: str, watch: bool, tail: bool, json_out: bool) -> None:
    """Refuse what --watch and --tail cannot do, before anything starts (InvalidInput)."""
    from ddbstream.errors import InvalidInput

    if tail and not watch:
        raise InvalidInput("--tail follows the consumer's log while --watch runs: add --watch")
    if watch and json_out:
        raise InvalidInput("--json cannot be combined with --watch")
    if watch and target != "local":
        raise InvalidInput(AWS_REFUSAL)


def watched_files(read_spec: Callable[[], Spec], var_files: list[str]) -> dict:
    """What the watch will watch, as it is now (taken before `up`: a save during `up` is reloaded after it)."""
    from ddbstream.state import state_dir
    from ddbstream.watch import watched_of

    spec = read_spec()
    return watched_of(spec, var_files, state_dir(spec.project_dir)).snapshot()


def watch_and_reload(
    stack: Target,
    read_spec: Callable[[], Spec],
    var_files: list[str],
    assume_yes: bool,
    tail: bool,
    baseline: dict | None = None,
) -> None:
    """Reload on each save until Ctrl-C (KeyboardInterrupt: the CLI exits 130, the stack keeps running)."""
    from ddbstream.cli.output import note
    from ddbstream.state import state_dir
    from ddbstream.watch import DevLoop, watched_of

    spec = read_spec()
    watched = watched_of(spec, var_files, state_dir(spec.project_dir))
    loop = DevLoop(stack, read_spec, watched, assume_yes=assume_yes)
    follower = _LogFollower() if tail else None
    shown = " and ".join(
        f"{watched.shown(root)}/" if root.is_dir() else watched.shown(root) for root in watched.roots()
    )

    def ready() -> None:  # said once a save is seen: a script may save right after this line
        note(f"watching {_escaped(shown)} for changes (Ctrl-C to stop)")

    def said(reload: Reload) -> None:
        _say(reload)
        if follower is not None and reload.error is None:
            follower.ensure()  # the stack may have started again (a 'down' elsewhere, then a save)

    if follower is not None:
        follower.ensure()
    try:
        loop.run(said, on_ready=ready, baseline=baseline)
    except KeyboardInterrupt:
        note("stopped watching: the local stack keeps running ('ddbstream down' stops it)")
        raise


def _say(reload: Reload) -> None:
    """One line: the reload done (stderr), or why nothing was applied (an error line, and the watch goes on)."""
    from ddbstream.cli.output import error, note

    stamp = time.strftime("%H:%M:%S")
    if reload.error is not None:
        error(f"{stamp} {reload.line()}")
    else:
        note(f"{stamp} {_escaped(reload.line())}")
    for line in reload.notes:
        note(f"[yellow]drift:[/] {_escaped(line)}")


class _LogFollower:
    """`--tail`: the consumer's log followed in a thread, its lines on stdout between the reload lines."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.endpoint: str | None = None  # of the daemon followed: a new daemon needs a new follower

    def ensure(self) -> None:
        """Follow from now, unless a follower of the running daemon still runs."""
        from ddbstream.cli.common import current_pipeline
        from ddbstream.cli.output import error
        from ddbstream.errors import DdbstreamError

        try:
            endpoint = current_pipeline().endpoint
        except DdbstreamError as exc:
            error(f"the consumer's log is not followed: {exc.message}")
            return
        if self.thread is not None and self.thread.is_alive() and endpoint == self.endpoint:
            return
        self.endpoint = endpoint
        since_ms = int(time.time() * 1000)
        self.thread = threading.Thread(
            target=self._follow, args=(since_ms, endpoint), name="up-watch-tail", daemon=True
        )
        self.thread.start()

    def _follow(self, since_ms: int, endpoint: str | None) -> None:
        from ddbstream.cli.output import error
        from ddbstream.cli.tail import _consumer_tail, _print_events
        from ddbstream.logs import Renderer

        try:
            stream = _consumer_tail(None, None, since_ms, None, True)
            _print_events(stream, Renderer("line", None, None), filtered=False, waiting_spinner=False)
        except Exception as exc:  # the daemon went away ('down' elsewhere): the watch goes on
            if endpoint == self.endpoint:  # not when a follower of a new daemon replaced this one
                error(f"the consumer's log is no longer followed: {getattr(exc, 'message', exc)}")


def _escaped(text: str) -> str:
    from ddbstream.cli.output import escape

    return escape(text)
