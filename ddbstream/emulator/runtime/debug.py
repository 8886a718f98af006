"""Debug mode's bookkeeping for the pool: which functions are debugged on which port, one worker
per port at a time, and the one directory per function a debugged worker runs its code from.

A debugged worker waits for a debugger on 127.0.0.1:PORT (languages.py) and has no timeout
(worker.py); the route that turns debug mode on and off is debug_api.py.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ddbstream.emulator.runtime.model import FunctionConfig, InvokeError


class DebugPorts:
    """Function name -> debug port, and port -> the worker listening there (None: one is starting)."""

    def __init__(self, lock: threading.Condition):
        self.ports: dict[str, int] = {}
        self.root: Path | None = None  # where debugged code runs from (the pool's work directory if None)
        self._claims: dict[int, Any] = {}
        self._lock = lock  # the pool's: the claims change with its idle and busy workers
        self._copy_lock = threading.Lock()

    def apply(self, config: FunctionConfig) -> FunctionConfig:
        """``config`` with its debug port (a different fingerprint: warm workers of the other mode retire)."""
        port = self.ports.get(config.name)
        return config if port is None else replace(config, debug_port=port)

    def turn(self, config: FunctionConfig, idle: dict[Any, list[Any]], stopping: Callable[[], bool]) -> list[Any]:
        """Wait (with the pool's lock held) while an invocation holds the port: debug mode runs one at a
        time, and the caller, e.g. a mapping, waits instead of being throttled. Returns the idle worker
        of another configuration that listens there, for the caller to stop before a new one starts."""
        port = config.debug_port
        assert port is not None
        while True:
            if stopping():
                raise InvokeError("the local Lambda runtime is stopping", "ServiceException", 503)
            if port not in self._claims:
                self._claims[port] = None  # this caller starts the port's worker
                return []
            holder = self._claims[port]
            waiting = idle.get(holder.config.key, []) if holder is not None else []
            if holder is not None and holder in waiting:
                if holder.config == config and holder.alive:
                    return []  # the caller takes it from the idle list
                waiting.remove(holder)
                self._claims[port] = None
                return [holder]
            self._lock.wait(0.5)

    def claimed(self, worker: Any) -> None:
        """``worker`` now listens on its port (called with the lock held)."""
        if worker.config.debug_port is not None:
            self._claims[worker.config.debug_port] = worker

    def free(self, port: int | None, holder: Any) -> None:
        """The port's worker (``holder``; None: the one that was starting) is gone: wake who waits."""
        if port is None:
            return
        with self._lock:
            if port in self._claims and self._claims[port] is holder:
                del self._claims[port]
            self._lock.notify_all()

    def run_dir(self, config: FunctionConfig, extracted: Path) -> Path:
        """Where a debugged worker runs the code: one path per function (ROOT/NAME), the same across code
        changes and daemon restarts, so an IDE's path mapping (remoteRoot) stays right."""
        root = self.root or extracted.parent.parent / "debug"
        target = root / config.name
        digest = root / f"{config.name}.code-digest"
        with self._copy_lock:
            if not (digest.is_file() and digest.read_text() == config.code_digest and target.is_dir()):
                root.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(extracted, target, symlinks=True)
                digest.write_text(config.code_digest)
        return target
