"""The daemon's claim on its state directory: one daemon per directory, and only while it owns it.

The daemon holds ``daemon.lock`` locked for its whole life and writes its pid and token in it,
so a second daemon for the same directory refuses to start, and `ddbstream down` can find a
daemon whose state.json is gone. If the directory is removed (or removed and made anew by a
later `up`), the file at that path is no longer the one held: the daemon has lost its
directory and must not write there again.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from ddbstream.files import write_private
from ddbstream.state import OWNER_FILE, STOPPED_FILE


class Taken(Exception):
    """Another daemon holds the directory."""


class Claim:
    """This daemon's hold on ``directory``."""

    def __init__(self, directory: Path, token: str):
        self.directory = directory
        self.token = token
        self.path = directory / OWNER_FILE
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(self._fd, 4096).decode("utf-8", "replace")
            os.close(self._fd)
            raise Taken(f"another daemon serves {directory}: {holder}") from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, json.dumps({"pid": os.getpid(), "token": token}).encode())

    def held(self) -> bool:
        """Whether the directory is still ours: the file at our path is the one we hold."""
        try:
            on_disk = os.stat(self.path)
        except OSError:
            return False
        mine = os.fstat(self._fd)
        return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)

    def confirm_clean_stop(self) -> None:
        """Tell `ddbstream down` the stop was clean (written only while the directory is ours)."""
        if self.held():
            write_private(self.directory / STOPPED_FILE, self.token)
