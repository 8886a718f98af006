"""The local target: the pipeline provisioned into the emulator daemon, started when needed."""

from __future__ import annotations

import time
from pathlib import Path

from ddbstream.clients import local_client
from ddbstream.daemon import READY_FILE, DaemonLaunch, daemon_alive, kept_files, stop_daemon
from ddbstream.errors import DaemonError
from ddbstream.interpreters import local_interpreter
from ddbstream.pipeline import Pipeline
from ddbstream.provision import provision
from ddbstream.spec import Spec
from ddbstream.state import FAKE_ACCOUNT, State, read_state, remove_state, write_state
from ddbstream.targets.base import Progress, TargetUI

DEFAULT_REGION = "us-east-1"  # where a daemon started before the spec is read runs (it restarts if the spec differs)


class LocalTarget:
    """Provision the pipeline into the local daemon, starting it when needed."""

    name = "local"

    def __init__(self, directory: Path, ui: TargetUI, port: int | None = None):
        self.directory = directory
        self.ui = ui
        self.port = port
        self._launch: DaemonLaunch | None = None

    def prepare(self) -> None:
        """Start a daemon now if none runs, so that it boots while the caller reads the spec."""
        if self._running() is None:
            self._launch = DaemonLaunch(self.directory, DEFAULT_REGION, self.port)

    def cancel(self) -> None:
        if self._launch is not None:
            self._launch.cancel()
            self._launch = None

    def up(self, spec: Spec) -> tuple[Pipeline, list[str]]:
        """Ensure a daemon runs, provision the spec into it; return (pipeline, drift notes)."""
        region = spec["aws_region"]
        # Said before anything starts: RuntimeUnavailable (no node), or a stand-in interpreter.
        stand_in = local_interpreter(spec["lambda_runtime"]).warning
        with self.ui.spinner("starting the local pipeline") as progress:
            state, restored = self._daemon_for(region, progress)
            endpoint = state.endpoint

            def client(service: str):
                return local_client(service, endpoint, region, state.secret)

            progress("provisioning the pipeline")
            resources, notes = provision(
                spec, client, account=state.account, region=region, existing=state.resources, progress=progress
            )
            state.region = region
            state.resources = resources
            write_state(self.directory, state)
        if restored:
            self.ui.note(restored)
        if stand_in:
            self.ui.note(stand_in.removeprefix("ddbstream: "))
        return Pipeline.from_state(state), notes

    def down(self) -> bool:
        """Stop the daemon (if any) and forget the state; True when a daemon was stopped."""
        state = read_state(self.directory)
        if state is None or not state.is_local:
            return False
        stopped = stop_daemon(state)
        remove_state(self.directory)
        (self.directory / READY_FILE).unlink(missing_ok=True)
        return stopped

    def destroy(self, spec: Spec | None = None) -> bool:
        """Stop the daemon and delete what it saved: the next `up` starts empty. True if anything went."""
        stopped = self.down()
        kept = kept_files(self.directory)
        for path in kept:
            path.unlink(missing_ok=True)
        return stopped or bool(kept)

    # ------------------------------------------------------------------ the daemon

    def _running(self) -> State | None:
        """The state of this project's local daemon when it runs."""
        state = read_state(self.directory)
        return state if state is not None and state.is_local and daemon_alive(state) else None

    def _daemon_for(self, region: str, progress: Progress) -> tuple[State, str | None]:
        """The running daemon's state (refused when it cannot serve ``region``/port), else a new daemon's.

        Also returns what a new daemon restored from the saved stack (None: nothing, or no new daemon).
        """
        state = self._running()
        if state is None:
            return self._start(region, progress)
        self.cancel()
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
            launch = DaemonLaunch(self.directory, region, self.port)
        endpoint, pid = launch.wait()
        state = State(
            target="local",
            region=region,
            account=FAKE_ACCOUNT,
            endpoint=endpoint,
            pid=pid,
            started_at=time.time(),
            secret=launch.secret,
        )
        write_state(self.directory, state)
        return state, launch.restored
