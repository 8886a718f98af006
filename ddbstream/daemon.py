"""The local daemon as a process: start it detached, ask whether it lives, stop it.

What runs inside the process is ddbstream/emulator/; this module only launches, pings and
signals it, so the CLI's short commands never load the emulator.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import signal
import sys
import time
from enum import Enum
from pathlib import Path
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

from ddbstream.errors import DaemonError
from ddbstream.stack_secret import SECRET_ENV, authorization_for, new_secret
from ddbstream.state import OWNER_FILE, STOPPED_FILE

START_TIMEOUT = 30.0
STOP_MARGIN = 30.0  # beyond the longest function timeout: the init phase, the store's close
LAMBDA_MAX_TIMEOUT = 900.0  # what a daemon we cannot ask may be waiting for
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

    @property
    def token(self) -> str | None: ...


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
    """True when the daemon answers its health route as the same process: its pid and its token."""
    if not process.endpoint or not process.token or not pid_running(process.pid):
        return False
    return _answers_as(ping(process.endpoint, process.secret), process)


def _answers_as(health: dict | None, process: DaemonProcess) -> bool:
    return health is not None and health.get("pid") == process.pid and health.get("token") == process.token


def _started_with(pid: int, token: str) -> bool:
    """Whether process ``pid`` is the daemon started with ``token`` (its command line says so)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return False
    wanted = [b"--token", token.encode()]
    return any(words[i : i + 2] == wanted for i in range(len(words) - 1))


def is_our_daemon(process: DaemonProcess) -> bool:
    """Whether ``process.pid`` is the daemon ``process`` describes, never judged by the pid alone.

    It answers its health route with that pid and token, or (busy stopping, or no endpoint
    known) its command line carries the token. A reused pid (after a crash or a reboot) is neither.
    """
    pid, token = process.pid, process.token
    if not pid or not token or not pid_running(pid):
        return False
    if process.endpoint and _answers_as(ping(process.endpoint, process.secret), process):
        return True
    return _started_with(pid, token)


class Owner(NamedTuple):
    """The daemon holding a state directory, as its own record (``daemon.lock``) names it."""

    pid: int
    token: str
    endpoint: str | None = None
    secret: str | None = None


def directory_owner(directory: Path) -> Owner | None:
    """The daemon serving ``directory`` per the record it keeps locked there (None: no daemon holds it).

    What finds a daemon nobody's state.json names any more (deleted or unreadable).
    """
    path = directory / OWNER_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None  # nobody holds it: its daemon is gone
        except OSError:
            pass
        record = json.loads(os.read(fd, 4096))
        owner = Owner(int(record["pid"]), str(record["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)
    return owner if is_our_daemon(owner) else None


class DaemonLaunch:
    """A daemon process just spawned; ``wait()`` returns once it answers its health ping."""

    def __init__(self, directory: Path, region: str, port: int | None = None, cors_origins: tuple[str, ...] = ()):
        # Imported here: a short command (put) only pings a running daemon and need not load them.
        from secrets import token_hex
        from subprocess import DEVNULL, Popen

        self.directory = directory.resolve()  # the daemon runs with this as its working directory
        self.region, self.port, self.cors_origins = region, port, cors_origins
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ready_file = self.directory / READY_FILE
        self.ready_file.unlink(missing_ok=True)
        self.log_path = self.directory / LOG_FILE
        self.restored: str | None = None  # what the daemon brought back from its store (or why nothing)
        self.secret = new_secret()  # handed over in the environment: argv is world-readable in /proc
        # Names this daemon on its health route and in its (world-readable) command line; grants nothing.
        self.token = token_hex(16)
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.process = Popen(
                self._command(),
                stdin=DEVNULL,
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
            "--token",
            self.token,
            *(argument for origin in self.cors_origins for argument in ("--cors-origin", origin)),
        ]

    def wait(self) -> tuple[str, int]:
        """(endpoint, pid) once the daemon answers; DaemonError if it dies or stays silent."""
        deadline = time.monotonic() + START_TIMEOUT
        restoring = self.ready_file.with_name(self.ready_file.name + ".restoring")  # touched while it replays
        while time.monotonic() < deadline or _recent(restoring):
            if self.process.poll() is not None:
                from ddbstream.ports import port_in_use, port_in_use_message  # only when a start failed

                if self.port and port_in_use(self.port):
                    raise DaemonError(port_in_use_message(self.port))
                raise DaemonError(
                    f"the local daemon exited at start (code {self.process.returncode}): see {self.log_path}"
                )
            if self.ready_file.exists():
                endpoint = f"http://127.0.0.1:{self.ready_file.read_text().strip()}"
                health = ping(endpoint, self.secret, timeout=2.0)
                if health and health.get("token") == self.token:
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


def _recent(path: Path, seconds: float = 10.0) -> bool:
    """Whether ``path`` was written in the last ``seconds`` (a daemon replaying its store touches it)."""
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False


class StartedDaemon(NamedTuple):
    endpoint: str
    pid: int
    secret: str
    token: str
    directory: Path


def start_daemon(directory: Path, region: str, port: int | None = None) -> StartedDaemon:
    """Start a detached daemon; return where it answers, its pid, secret and token once it answers."""
    launch = DaemonLaunch(directory, region, port)
    endpoint, pid = launch.wait()
    return StartedDaemon(endpoint, pid, launch.secret, launch.token, launch.directory)


class Stopped(Enum):
    """How a stop went."""

    NOT_RUNNING = "not running"  # nothing to stop: no daemon, or the pid is not ours (never signalled)
    SAVED = "saved"  # the daemon confirmed it drained and closed its store
    UNCONFIRMED = "unconfirmed"  # it exited without confirming a clean stop (see its log)
    KILLED = "killed"  # it did not stop within the timeout: SIGKILL

    def __bool__(self) -> bool:
        return self is not Stopped.NOT_RUNNING


def stop_daemon(process: DaemonProcess, directory: Path | None = None, timeout: float | None = None) -> Stopped:
    """Ask the daemon to stop (SIGTERM: it drains in-flight batches), after making sure it is ours.

    ``timeout`` defaults to the longest function timeout among the daemon's functions plus a
    margin; past it the daemon is killed. ``directory`` is where it confirms a clean stop.
    """
    pid, token = process.pid, process.token
    if not pid or not token or not is_our_daemon(process):
        return Stopped.NOT_RUNNING
    if timeout is None:
        timeout = _longest_function_timeout(process) + STOP_MARGIN
    os.kill(pid, signal.SIGTERM)
    if not _exits_within(pid, timeout):
        if _started_with(pid, token):  # still ours (the pid cannot have been reused while it lives)
            os.kill(pid, signal.SIGKILL)
            _exits_within(pid, 10.0)
        return Stopped.KILLED
    return Stopped.SAVED if directory is not None and _confirmed(directory, token) else Stopped.UNCONFIRMED


def _exits_within(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _confirmed(directory: Path, token: str) -> bool:
    """Whether the daemon with ``token`` recorded a clean stop in ``directory`` (the record is consumed)."""
    path = directory / STOPPED_FILE
    try:
        confirmed = path.read_text(encoding="utf-8").strip() == token
    except (OSError, UnicodeDecodeError):
        return False
    path.unlink(missing_ok=True)
    return confirmed


def _longest_function_timeout(process: DaemonProcess) -> float:
    """The longest Timeout among the daemon's functions: a batch in flight may run that long."""
    health = ping(process.endpoint, process.secret) if process.endpoint else None
    if health is None:  # busy stopping, or known only from its own record: assume the worst
        return LAMBDA_MAX_TIMEOUT
    from ddbstream.clients import local_client

    longest = 0.0
    try:
        client = local_client("lambda", process.endpoint, health.get("region") or "us-east-1", process.secret)
        for page in client.get_paginator("list_functions").paginate():
            longest = max([longest] + [float(f.get("Timeout") or 0) for f in page.get("Functions", [])])
    except Exception:  # noqa: BLE001 - botocore raises many kinds; a stop must not fail on this question
        return LAMBDA_MAX_TIMEOUT
    return longest
