"""The local daemon as a process: start it detached, ask whether it lives, stop it.

What runs inside the process is ddbstream/emulator/; this module only launches, pings and
signals it, so the CLI's short commands never load the emulator.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

from ddbstream.errors import DaemonError
from ddbstream.stack_secret import SECRET_ENV, authorization_for, new_secret

START_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0
STORE_FILE = "store.sqlite3"  # every change the daemon acknowledged, kept across restarts (ddbstream/emulator/store/)
READY_FILE = "daemon.port"  # the daemon writes its port here once it listens
LOG_FILE = "daemon.log"


class DaemonProcess(Protocol):
    """Where a started daemon answers and which process it is (a saved State has both)."""

    @property
    def endpoint(self) -> str | None: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def secret(self) -> str | None: ...


def ping(endpoint: str, secret: str | None, timeout: float = 1.0) -> dict | None:
    """The daemon's health document, or None when nothing healthy answers (or not to ``secret``)."""
    return daemon_get(endpoint, secret, "/_ddbstream/health", timeout)


def daemon_get(endpoint: str, secret: str | None, path: str, timeout: float = 2.0) -> dict | None:
    """GET one of the daemon's own JSON routes (health, mapping metrics); None unless it answers 200."""
    address = urlsplit(endpoint)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=timeout)
    try:
        headers = {"Authorization": authorization_for(secret)} if secret else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return json.loads(response.read()) if response.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def kept_files(directory: Path) -> list[Path]:
    """What a daemon keeps in ``directory`` for the next one: its store (with its WAL), an unreadable
    store it set aside, and the snapshot an older ddbstream wrote (never read: a pickle runs code)."""
    names = [STORE_FILE + suffix for suffix in ("", "-wal", "-shm")]
    names += [STORE_FILE + ".unreadable" + suffix for suffix in ("", "-wal", "-shm")] + ["snapshot.pickle"]
    return [directory / name for name in names if (directory / name).exists()]


def pid_running(pid: int | None) -> bool:
    """True while the process ``pid`` exists and is not a zombie."""
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


def daemon_alive(process: DaemonProcess) -> bool:
    """True when the daemon's process runs and answers as the same process."""
    if not process.endpoint or not pid_running(process.pid):
        return False
    health = ping(process.endpoint, process.secret)
    return health is not None and health.get("pid") == process.pid


class DaemonLaunch:
    """A daemon process just spawned; ``wait()`` returns once it answers its health ping."""

    def __init__(self, directory: Path, region: str, port: int | None = None):
        self.directory = directory.resolve()  # the daemon runs with this as its working directory
        self.region, self.port = region, port
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ready_file = self.directory / READY_FILE
        self.ready_file.unlink(missing_ok=True)
        self.log_path = self.directory / LOG_FILE
        self.restored: str | None = None  # what the daemon brought back from its store (or why nothing)
        self.secret = new_secret()  # handed over in the environment: argv is world-readable in /proc
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                start_new_session=True,  # survives the CLI and its terminal
                cwd=self.directory,
                env={**os.environ, SECRET_ENV: self.secret},
            )
        finally:
            os.close(log_fd)

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ddbstream.emulator",
            "--port",
            str(self.port or 0),
            "--region",
            self.region,
            "--ready-file",
            str(self.ready_file),
            "--store",
            str(self.directory / STORE_FILE),
        ]

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
                health = ping(endpoint, self.secret, timeout=2.0)
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


class StartedDaemon(NamedTuple):
    endpoint: str
    pid: int
    secret: str


def start_daemon(directory: Path, region: str, port: int | None = None) -> StartedDaemon:
    """Start a detached daemon; return where it answers, its pid and secret once it answers its health ping."""
    launch = DaemonLaunch(directory, region, port)
    endpoint, pid = launch.wait()
    return StartedDaemon(endpoint, pid, launch.secret)


def stop_daemon(process: DaemonProcess, timeout: float = STOP_TIMEOUT) -> bool:
    """Ask the daemon to stop (SIGTERM: it drains in-flight batches); True if it was running."""
    pid = process.pid
    if pid is None or not pid_running(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_running(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True
