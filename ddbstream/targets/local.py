"""The local target: start/stop the emulator daemon and provision the pipeline into it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ddbstream.errors import DaemonError
from ddbstream.spec import Spec
from ddbstream.state import FAKE_ACCOUNT, State, read_state, remove_state, write_state

START_TIMEOUT = 30.0
SNAPSHOT_FILE = "snapshot.pickle"  # what `down` keeps for the next `up` (ddbstream/emulator/snapshot.py)
STOP_TIMEOUT = 60.0


def ping(endpoint: str, timeout: float = 1.0) -> dict | None:
    """The daemon's health document, or None when nothing healthy answers."""
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)
    try:
        connection.request("GET", "/_ddbstream/health")
        response = connection.getresponse()
        return json.loads(response.read()) if response.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def pid_running(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (not yet reaped) still answers kill(0): check its state.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def daemon_alive(state: State) -> bool:
    """True when the state's daemon process runs and answers as the same process."""
    if not state.endpoint or not pid_running(state.pid):
        return False
    health = ping(state.endpoint)
    return health is not None and health.get("pid") == state.pid


class DaemonLaunch:
    """A daemon process just spawned; ``wait()`` returns once it answers its health ping."""

    def __init__(self, directory: Path, region: str, port: int | None = None):
        self.directory = directory.resolve()  # the daemon runs with this as its working directory
        self.region, self.port = region, port
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ready_file = self.directory / "daemon.port"
        self.ready_file.unlink(missing_ok=True)
        self.log_path = self.directory / "daemon.log"
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        command = [
            sys.executable,
            "-m",
            "ddbstream.emulator",
            "--port",
            str(port or 0),
            "--region",
            region,
            "--ready-file",
            str(self.ready_file),
            "--snapshot",
            str(self.directory / SNAPSHOT_FILE),
        ]
        self.restored: str | None = None  # what the daemon brought back from the snapshot
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                start_new_session=True,  # survives the CLI and its terminal
                cwd=self.directory,
            )
        finally:
            os.close(log_fd)

    def wait(self) -> tuple[str, int]:
        """(endpoint, pid) once the daemon answers; DaemonError if it dies or stays silent."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DaemonError(
                    f"the local daemon exited at start (code {self.process.returncode}): see {self.log_path}"
                )
            if self.ready_file.exists():
                endpoint = f"http://127.0.0.1:{self.ready_file.read_text().strip()}"
                health = ping(endpoint, timeout=2.0)
                if health:
                    self.restored = health.get("restored")
                    return endpoint, self.process.pid
            time.sleep(0.02)
        self.cancel()
        raise DaemonError(f"the local daemon did not answer within {START_TIMEOUT:.0f} s: see {self.log_path}")

    def cancel(self) -> None:
        """Stop a daemon nobody will use (the spec turned out invalid, say)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.ready_file.unlink(missing_ok=True)


def start_daemon(directory: Path, region: str, port: int | None = None) -> tuple[str, int]:
    """Start a detached daemon; return (endpoint, pid) once it answers its health ping."""
    return DaemonLaunch(directory, region, port).wait()


def stop_daemon(state: State, timeout: float = STOP_TIMEOUT) -> bool:
    """Ask the daemon to stop (SIGTERM: it drains in-flight batches); True if it was running."""
    if not pid_running(state.pid):
        return False
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_running(state.pid):
            return True
        time.sleep(0.05)
    os.kill(state.pid, signal.SIGKILL)
    return True


class LocalTarget:
    """Provision the pipeline into the local daemon, starting it when needed."""

    name = "local"

    def __init__(self, directory: Path):
        self.directory = directory
        self._launch: DaemonLaunch | None = None
        self.restored: str | None = None  # set by up() when a new daemon restored the saved stack

    def prelaunch(self, port: int | None = None, region: str = "us-east-1") -> None:
        """Start a daemon now if none runs, so that it boots while the caller reads the spec."""
        state = read_state(self.directory)
        if state is None or not state.is_local or not daemon_alive(state):
            self._launch = DaemonLaunch(self.directory, region, port)

    def cancel_prelaunch(self) -> None:
        if self._launch is not None:
            self._launch.cancel()
            self._launch = None

    def up(self, spec: Spec, port: int | None = None, progress: Callable[[str], None] = lambda _: None):
        """Ensure a daemon runs, provision the spec into it; return (state, notes)."""
        from ddbstream.clients import local_client
        from ddbstream.provision import provision

        region = spec["aws_region"]
        state = read_state(self.directory)
        if state is not None and state.is_local and daemon_alive(state):
            self.cancel_prelaunch()
            if state.region != region:
                raise DaemonError(
                    f"the local stack runs in {state.region}, the spec says {region}: run 'ddbstream down' first"
                )
            if port and state.endpoint and not state.endpoint.endswith(f":{port}"):
                raise DaemonError(
                    f"a local stack already runs on {state.endpoint}: run 'ddbstream down' first to use port {port}"
                )
            progress(f"local daemon already running on {state.endpoint}")
        else:
            progress("starting the local daemon")
            launch, self._launch = self._launch, None
            if launch is None or (launch.region, launch.port) != (region, port):
                if launch is not None:
                    launch.cancel()
                launch = DaemonLaunch(self.directory, region, port)
            endpoint, pid = launch.wait()
            self.restored = launch.restored
            state = State(
                target="local", region=region, account=FAKE_ACCOUNT, endpoint=endpoint, pid=pid, started_at=time.time()
            )
            write_state(self.directory, state)

        def client(service: str):
            return local_client(service, state.endpoint, region)

        progress("provisioning the pipeline")
        resources, notes = provision(
            spec, client, account=state.account, region=region, existing=state.resources, progress=progress
        )
        state.region = region
        state.resources = resources
        write_state(self.directory, state)
        return state, notes

    def down(self) -> bool:
        """Stop the daemon (if any) and forget the state; True when a daemon was stopped."""
        state = read_state(self.directory)
        if state is None or not state.is_local:
            return False
        stopped = stop_daemon(state)
        remove_state(self.directory)
        (self.directory / "daemon.port").unlink(missing_ok=True)
        return stopped

    def forget(self) -> bool:
        """Stop the daemon and delete what it saved: the next `up` starts empty. True if anything went."""
        stopped = self.down()
        snapshot = self.directory / SNAPSHOT_FILE
        saved = snapshot.exists()
        snapshot.unlink(missing_ok=True)
        return stopped or saved
