"""The store's file: SQLite in WAL mode, one connection shared by the daemon's threads.

Tables: ``meta`` (the format version), ``journal`` (effects in the order they happened:
kind, time, seed, payload, stamps), ``mappings`` (each event source mapping's definition)
and ``checkpoints`` (each mapping's lowest lane checkpoint).

An entry is in the file when ``append`` returns, or, for a *deferred* one (an invocation's log
events: no client is ever told they were kept), within WRITE_BEHIND_SECONDS: a writer thread
commits the deferred entries together (one transaction for many, issue 20), and an entry that is
not deferred takes the ones queued before it into its own commit, so the file keeps their order,
and so does a mapping's change or checkpoint (a checkpoint past a record never outlives the log
lines its invocation printed: the record is not delivered again after a kill).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "1"
# The longest a deferred entry waits for its commit (what a killed daemon can lose of them).
WRITE_BEHIND_SECONDS = 0.05

log = logging.getLogger("ddbstream.emulator.store")
_INSERT = "INSERT INTO journal (kind, at, seed, payload, stamps) VALUES (?, ?, ?, ?, ?)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at REAL NOT NULL, seed INTEGER NOT NULL,
    payload BLOB NOT NULL, stamps TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mappings (uuid TEXT PRIMARY KEY, definition TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (uuid TEXT PRIMARY KEY, cursor INTEGER NOT NULL);
"""


class UnreadableStore(Exception):
    """The file is not a store this version can read (corrupt, or another format)."""


class StoreUnavailable(Exception):
    """The store cannot be opened or written at all (a read-only directory, say)."""


@dataclass
class Entry:
    """One journaled effect."""

    kind: str
    at: float
    seed: int
    payload: Any  # bytes for "http" entries (JSON inside), else a JSON value
    stamps: list[list[Any]]


class StoreFile:
    """The SQLite database behind the store; every method is safe to call from any thread."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._pending: list[tuple[str, float, int, bytes, str]] = []  # deferred, not yet committed
        self._has_pending = threading.Event()
        self._writer: threading.Thread | None = None
        self._closed = False
        try:
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private from the start
        except OSError as exc:
            raise StoreUnavailable(f"{path}: {exc.strerror}") from None
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit is in the WAL file (the OS's page cache) before it returns, which a
            # killed process cannot lose; only a power loss can take the last commits back.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            found = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.OperationalError as exc:  # readable perhaps, but not writable here
            self._close_quietly()
            raise StoreUnavailable(f"{path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise UnreadableStore(str(exc)) from None
        if found is None:
            self._db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
        elif found[0] != FORMAT:
            self._close_quietly()
            raise UnreadableStore(f"format {found[0]}, this ddbstream reads format {FORMAT}")

    def _close_quietly(self) -> None:
        try:
            self._db.close()
        except Exception:  # noqa: BLE001 - already failing; the caller reports the first error
            pass

    # ------------------------------------------------------------ the journal

    def append(
        self, kind: str, at: float, seed: int, payload: Any, stamps: list[list[Any]], defer: bool = False
    ) -> None:
        """Add one effect; it is in the file when this returns (``defer``: within WRITE_BEHIND_SECONDS)."""
        blob = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        row = (kind, at, seed, blob, json.dumps(stamps))
        with self._lock:
            if not defer:
                self._pending.append(row)
                self._commit_pending()
                return
            if self._closed:
                raise StoreUnavailable(f"{self.path}: closed")
            self._pending.append(row)
            if len(self._pending) > 1:
                return  # the writer thread is already due
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_behind, name="store-writer", daemon=True)
                self._writer.start()
            self._has_pending.set()

    def _commit_pending(self) -> None:
        """Commit the queued entries, in order, in one transaction (called holding the lock)."""
        rows, self._pending = self._pending, []
        self._has_pending.clear()
        if len(rows) == 1:
            self._db.execute(_INSERT, rows[0])
        elif rows:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_INSERT, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _write_behind(self) -> None:
        """The writer thread: commits deferred entries at most WRITE_BEHIND_SECONDS after the first came."""
        while not self._closed:
            self._has_pending.wait()
            time.sleep(WRITE_BEHIND_SECONDS)  # the bound itself: what comes meanwhile shares the commit
            with self._lock:
                if self._closed:
                    return
                try:
                    self._commit_pending()
                except Exception:  # the effects happened; only their durability is lost (a full disk)
                    log.exception("could not journal deferred effects")

    def entries(self) -> Iterator[Entry]:
        """Every journaled effect, oldest first."""
        last = 0
        while True:
            with self._lock:
                self._commit_pending()
                rows = self._db.execute(
                    "SELECT id, kind, at, seed, payload, stamps FROM journal WHERE id > ? ORDER BY id LIMIT 500",
                    (last,),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _, kind, at, seed, payload, stamps in rows:
                value = payload if kind == "http" else json.loads(payload)
                yield Entry(kind, at, seed, value, json.loads(stamps))

    def count(self) -> int:
        with self._lock:
            self._commit_pending()
            return self._db.execute("SELECT count(*) FROM journal").fetchone()[0]

    # ------------------------------------------------------------ mappings

    def save_mapping(self, mapping_uuid: str, definition: dict) -> None:
        with self._lock:
            self._commit_pending()
            self._db.execute("INSERT OR REPLACE INTO mappings VALUES (?, ?)", (mapping_uuid, json.dumps(definition)))

    def forget_mapping(self, mapping_uuid: str) -> None:
        with self._lock:
            self._commit_pending()
            self._db.execute("DELETE FROM mappings WHERE uuid = ?", (mapping_uuid,))
            self._db.execute("DELETE FROM checkpoints WHERE uuid = ?", (mapping_uuid,))

    def save_checkpoint(self, mapping_uuid: str, cursor: int) -> None:
        with self._lock:
            self._commit_pending()  # what led to it first: the logs of the records it passes
            self._db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (mapping_uuid, cursor))

    def mappings(self) -> list[tuple[dict, int | None]]:
        """Each saved mapping's definition and checkpoint (None: never checkpointed)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT m.definition, c.cursor FROM mappings m LEFT JOIN checkpoints c USING (uuid)"
            ).fetchall()
        return [(json.loads(definition), cursor) for definition, cursor in rows]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._has_pending.set()  # the writer thread ends
            try:
                self._commit_pending()
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()
