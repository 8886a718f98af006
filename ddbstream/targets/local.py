"""The local target: the pipeline provisioned into the emulator daemon, started when needed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path

from ddbstream.clients import local_client
from ddbstream.daemon import (
    READY_FILE,
    DaemonLaunch,
    Stopped,
    daemon_alive,
    daemon_get,
    directory_owner,
    kept_files,
    stop_daemon,
)
from ddbstream.errors import Cancelled, DaemonError
from ddbstream.interpreters import local_interpreter
from ddbstream.pipeline import Pipeline
from ddbstream.plan.local import apply_plan, local_plan, losses
from ddbstream.plan.model import DESTROY, Change, Plan, render
from ddbstream.spec import Spec
from ddbstream.state import (
    FAKE_ACCOUNT,
    State,
    StateError,
    check_writable,
    project_lock,
    read_state,
    remove_state,
    write_state,
)
from ddbstream.targets.base import Progress, TargetUI

DEFAULT_REGION = "us-east-1"  # where a daemon started before the spec is read runs (it restarts if the spec differs)


class LocalTarget:
    """Provision the pipeline into the local daemon, starting it when needed."""

    name = "local"

    def __init__(
        self,
        directory: Path,
        ui: TargetUI,
        port: int | None = None,
        cors_origins: tuple[str, ...] = (),
        keep_old: bool = False,
    ):
        self.directory = directory
        self.ui = ui
        self.port = port
        self.cors_origins = cors_origins  # web origins the daemon answers (it refuses every other)
        self.keep_old = keep_old  # resources that left the definition stay deployed (status lists them)
        self._launch: DaemonLaunch | None = None
        self._lock: ExitStack | None = None  # the project's lock, held from prepare() to the end of up()
        self.stopped = Stopped.NOT_RUNNING  # how the last down() or destroy() stop went
        self._stand_in_said: str | None = None

    def prepare(self) -> None:
        """Take the project's lock; start a daemon now if none runs, so that it boots while the caller
        reads the spec."""
        self._take_lock("up")
        try:
            if self._running() is None:
                self._stop_unrecorded()
                self._launch = DaemonLaunch(self.directory, DEFAULT_REGION, self.port, self.cors_origins)
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Stop a daemon prepare() started that up() did not use, and release the lock."""
        self._drop_launch()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def up(self, spec: Spec) -> tuple[Pipeline, list[str]]:
        """Ensure a daemon runs, provision the spec into it; return (pipeline, drift notes)."""
        if self._lock is None:
            self.prepare()
        try:
            return self._up(spec)
        finally:
            self.cancel()

    def _up(self, spec: Spec) -> tuple[Pipeline, list[str]]:
        """Plan against what runs, ask before data goes, apply the plan; say each change."""
        region = spec["aws_region"]
        # Said before anything starts: RuntimeUnavailable (no node), or a stand-in interpreter.
        stand_in = local_interpreter(spec["lambda_runtime"]).warning
        with self.ui.spinner("starting the local pipeline") as progress:
            state, restored = self._daemon_for(region, progress)
            client = _client_of(state, region)
            progress("planning")
            plan = local_plan(spec, client, state.account, state.resources)
        if restored:
            self.ui.note(restored)
        self._confirm(plan)
        with self.ui.spinner("applying the plan") as progress:
            resources, notes, kept = apply_plan(plan, spec, client, state.account, region, self.keep_old, progress)
            if resources.get("api_id"):
                resources["api_url"] = _api_url(state, resources["api_id"])
            state.region = region
            state.resources = resources
            write_state(self.directory, state)
        if stand_in and stand_in != self._stand_in_said:  # once (`up --watch` applies again on every save)
            self._stand_in_said = stand_in
            self.ui.note(stand_in.removeprefix("ddbstream: "))
        for change in plan.pending:
            self.ui.note(_said(change, change in kept))
        if not plan.pending:
            self.ui.note(plan.summary())
        return Pipeline.from_state(state), notes

    def plan(self, spec: Spec) -> Plan:
        """What `up` would change in the running daemon (nothing runs: what it would create)."""
        state = self._running()
        if state is None:
            plan = local_plan(spec, None, FAKE_ACCOUNT, {})
            saved = " (up restores the stack 'down' saved first, then compares)" if kept_files(self.directory) else ""
            plan.notes.insert(0, f"no local daemon is running: everything would be created{saved}")
            return plan
        if state.region != spec["aws_region"]:
            raise DaemonError(
                f"the local stack runs in {state.region}, the spec says {spec['aws_region']}: run 'ddbstream down' first"
            )
        return local_plan(spec, _client_of(state, state.region), state.account, state.resources)

    def _confirm(self, plan: Plan) -> None:
        """Ask before a change that deletes a table, queue or bucket (Cancelled: refused, or no answer)."""
        lost = losses(plan, self.keep_old)
        if not lost:
            return
        what = ", ".join(f"{c.kind} {c.before.name}" for c in lost if c.before is not None)
        question = f"This deletes {what} with all {'they hold' if len(lost) > 1 else 'it holds'}. Apply?"
        if not self.ui.confirm(question, render(plan)):
            raise Cancelled(f"cancelled: nothing was applied ({what} would have been deleted)")

    def down(self) -> bool:
        """Stop the daemon (if any) and forget the state; True when a daemon was stopped.

        ``stopped`` then says whether the daemon confirmed it saved the stack.
        """
        if not self.directory.is_dir():
            return False
        with self._locked("down"):
            return bool(self._stop())

    def destroy(self, spec: Spec | None = None) -> bool:
        """Stop the daemon and delete what it saved: the next `up` starts empty. True if anything went."""
        if not self.directory.is_dir():
            return False
        with self._locked("destroy"):
            stopped = self._stop()
            kept = kept_files(self.directory)
            for path in kept:
                path.unlink(missing_ok=True)
            return bool(stopped) or bool(kept)

    # ------------------------------------------------------------------ the lock

    def _drop_launch(self) -> None:
        if self._launch is not None:
            self._launch.cancel()
            self._launch = None

    def _take_lock(self, command: str) -> None:
        if self._lock is None:
            stack = ExitStack()
            stack.enter_context(project_lock(self.directory, command, self.ui.passing))
            self._lock = stack

    @contextmanager
    def _locked(self, command: str) -> Iterator[None]:
        self._take_lock(command)
        try:
            yield
        finally:
            self.cancel()

    # ------------------------------------------------------------------ the daemon

    def _running(self) -> State | None:
        """The state of this project's local daemon when it runs (StateError: state.json is unusable)."""
        state = read_state(self.directory)
        return state if state is not None and state.is_local and daemon_alive(state) else None

    def _stop(self) -> Stopped:
        """Stop the daemon state.json names, or else one serving the directory unrecorded; forget the state."""
        check_writable(self.directory)  # first: the daemon saves the stack here, nothing stops if it cannot
        try:
            state, unusable = read_state(self.directory), None
        except StateError as exc:
            state, unusable = None, exc
        if state is not None and not state.is_local:
            return Stopped.NOT_RUNNING
        stopped = stop_daemon(state, self.directory) if state is not None else Stopped.NOT_RUNNING
        if not stopped:
            stopped = self._stop_unrecorded()
        if unusable is not None and not stopped:
            raise unusable  # nothing says the file was a local stack's: it stays for the person to look at
        remove_state(self.directory)
        (self.directory / READY_FILE).unlink(missing_ok=True)
        self.stopped = stopped
        return stopped

    def _stop_unrecorded(self) -> Stopped:
        """Stop a daemon that serves this directory though no usable state.json names it (it saves first)."""
        owner = directory_owner(self.directory)
        if owner is None:
            return Stopped.NOT_RUNNING
        self.ui.note(f"stopping the local daemon (pid {owner.pid}) that state.json no longer names")
        return stop_daemon(owner, self.directory)

    def _daemon_for(self, region: str, progress: Progress) -> tuple[State, str | None]:
        """The running daemon's state (refused when it cannot serve ``region``/port), else a new daemon's.

        Also returns what a new daemon restored from the saved stack (None: nothing, or no new daemon).
        """
        state = self._running()
        if state is None:
            return self._start(region, progress)
        self._drop_launch()
        if state.region != region:
            raise DaemonError(
                f"the local stack runs in {state.region}, the spec says {region}: run 'ddbstream down' first"
            )
        if self.port and state.endpoint and not state.endpoint.endswith(f":{self.port}"):
            raise DaemonError(
                f"a local stack already runs on {state.endpoint}: run 'ddbstream down' first to use port {self.port}"
            )
        progress(f"local daemon already running on {state.endpoint}")
        return state, None

    def _start(self, region: str, progress: Progress) -> tuple[State, str | None]:
        progress("starting the local daemon")
        launch, self._launch = self._launch, None
        if launch is None or (launch.region, launch.port) != (region, self.port):
            if launch is not None:
                launch.cancel()
            launch = DaemonLaunch(self.directory, region, self.port, self.cors_origins)
        endpoint, pid = launch.wait()
        state = State(
            target="local",
            region=region,
            account=FAKE_ACCOUNT,
            endpoint=endpoint,
            pid=pid,
            started_at=time.time(),
            secret=launch.secret,
            token=launch.token,
        )
        write_state(self.directory, state)
        return state, launch.restored


def _api_url(state: State, api_id: str) -> str:
    """Where the daemon's gateway serves the API (its listener's port is chosen when the daemon starts)."""
    listed = daemon_get(state.endpoint or "", state.secret, "/_ddbstream/apis") or {}
    url = next((api.get("url") for api in listed.get("apis", []) if api.get("apiId") == api_id), None)
    if not url:
        raise DaemonError(f"the local daemon does not serve the HTTP API {api_id} it just created")
    return url


def _client_of(state: State, region: str):
    """A client factory for the daemon ``state`` names."""

    def client(service: str):
        return _cached_client(service, state.endpoint, region, state.secret)

    return client


@lru_cache(maxsize=32)
def _cached_client(service: str, endpoint: str | None, region: str, secret: str | None):
    """One client per service and daemon: making one costs ~30 ms, and `up --watch` plans again on every save."""
    return local_client(service, endpoint, region, secret)


def _said(change: Change, kept: bool) -> str:
    """One line for an applied change; ``kept``: --keep-old left the deployed resource running."""
    if not kept or change.before is None:
        return change.line()
    if change.action == DESTROY:
        return f"kept {change.kind} {change.before.name}: no longer defined, left running (--keep-old)"
    return f"{change.line()}; {change.before.name} left running (--keep-old)"
