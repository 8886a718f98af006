"""The project's ``.ddbstream/`` directory: state.json (mode 0600), the commands' lock and the daemon's files."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ddbstream.errors import DdbstreamError, ExitCode
from ddbstream.files import write_private

FAKE_ACCOUNT = "123456789012"
STATE_FILE = "state.json"
LOCK_FILE = "commands.lock"  # held by `up`, `down` and `destroy` while they change what runs
LOCK_TIMEOUT = 300.0
OWNER_FILE = "daemon.lock"  # the daemon holds it locked while it serves; it names the pid and token
STOPPED_FILE = "daemon.stopped"  # the daemon's token, written once it stopped cleanly (store closed after the drain)


class StateError(DdbstreamError):
    """state.json or the directory holding it cannot be read or written; the message says what to do."""

    exit_code = ExitCode.ERROR


def state_dir(project_dir: Path | None = None) -> Path:
    """Where ddbstream keeps its files: ``$DDBSTREAM_STATE_DIR`` or ``<project>/.ddbstream``."""
    override = os.environ.get("DDBSTREAM_STATE_DIR")
    if override:
        return Path(override)
    if project_dir is None:
        from ddbstream.project import find_infra_dir

        project_dir = find_infra_dir().parent
    return project_dir / ".ddbstream"


@dataclass
class State:
    """What `up` provisioned and how to reach it."""

    target: str
    region: str
    account: str = FAKE_ACCOUNT
    endpoint: str | None = None  # local daemon only
    pid: int | None = None  # local daemon only
    started_at: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None  # aws only: the AWS profile `up` deployed with
    secret: str | None = None  # local only: the stack secret every request to the daemon carries
    token: str | None = None  # local only: names this daemon (health route, command line); not a credential

    @property
    def is_local(self) -> bool:
        return self.target == "local"


# The JSON types each field may hold (None is allowed for all but target and region).
_TYPES: dict[str, tuple[type, ...]] = {
    "target": (str,),
    "region": (str,),
    "account": (str,),
    "endpoint": (str,),
    "pid": (int,),
    "started_at": (int, float),
    "resources": (dict,),
    "profile": (str,),
    "secret": (str,),
    "token": (str,),
}


def write_state(directory: Path, state: State) -> Path:
    """Write state.json atomically with mode 0600."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return write_private(directory / STATE_FILE, json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise StateError(f"cannot write {directory / STATE_FILE}: {_reason(exc)}") from None


def read_state(directory: Path) -> State | None:
    """The saved state, or None when there is none; StateError when the file cannot be used."""
    path = directory / STATE_FILE
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _unusable(path, _reason(exc)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _unusable(path, f"not valid JSON ({exc})") from None
    problem = _shape_problem(data)
    if problem:
        raise _unusable(path, problem)
    return State(**data)


def _shape_problem(data: Any) -> str | None:
    """What is wrong with a decoded state.json (None: nothing)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    known = {f.name for f in fields(State)}
    unknown = sorted(set(data) - known)
    if unknown:
        return f"unknown field {unknown[0]!r}"
    for name in ("target", "region"):
        if name not in data:
            return f"field {name!r} is missing"
    for name, value in data.items():
        allowed = _TYPES[name]
        if value is None and name not in ("target", "region"):
            continue
        if isinstance(value, bool) or not isinstance(value, allowed):
            return f"field {name!r} has the wrong type"
    return None


def _unusable(path: Path, why: str) -> StateError:
    return StateError(
        f"cannot use {path}: {why}; run 'ddbstream down' to stop the local stack it describes "
        f"(its data is kept), or move the file away"
    )


def remove_state(directory: Path) -> None:
    (directory / STATE_FILE).unlink(missing_ok=True)


def check_writable(directory: Path) -> None:
    """StateError unless ddbstream can create and delete files in ``directory`` (made if missing)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = write_private(directory / ".write-check", "")
        probe.unlink()
    except OSError as exc:
        raise StateError(
            f"cannot write to {directory}: {_reason(exc)}; ddbstream keeps the stack's state there: "
            f"make it writable (chmod u+w) and try again"
        ) from None


def _reason(exc: Exception) -> str:
    """ "permission denied", not "[Errno 13] Permission denied: '/x/state.json'" (the path is said already)."""
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return strerror.lower() if strerror else str(exc)


@contextmanager
def project_lock(
    directory: Path, command: str, on_wait: Callable[[str], None], timeout: float = LOCK_TIMEOUT
) -> Iterator[None]:
    """Hold the project's lock while ``command`` (up, down, destroy) changes what runs.

    Another holder is named through ``on_wait`` and waited for, up to ``timeout`` seconds.
    """
    check_writable(directory)
    path = directory / LOCK_FILE
    deadline = time.monotonic() + timeout
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if _try_flock(fd) and _same_file(fd, path):
            break
        os.close(fd)  # held by another command (or the file was replaced meanwhile): wait
        holder = _holder(path)
        if time.monotonic() > deadline:
            raise StateError(f"{holder} still holds {path} after {timeout:.0f} s: try again once it has finished")
        if not told:
            on_wait(f"{holder} is running in this project: waiting for it to finish")
            told = True
        time.sleep(0.05)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command}).encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` locked (a removed .ddbstream/ is recreated anew)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _holder(path: Path) -> str:
    """Who holds the lock, as its record names it: "another 'ddbstream up' (pid 123)"."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return f"another 'ddbstream {record['command']}' (pid {int(record['pid'])})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another ddbstream command"
