"""The durable store's pieces without a daemon: the file, what the journal keeps, stamps."""

from __future__ import annotations

import sqlite3
import stat

import pytest
from support import wait_until

from ddbstream.emulator.store.context import running, stamp
from ddbstream.emulator.store.db import StoreFile, UnreadableStore
from ddbstream.emulator.store.http_journal import changes_state, describe


def test_the_file_is_private_and_keeps_entries_in_order(tmp_path):
    path = tmp_path / "store.sqlite3"
    file = StoreFile(path)
    for n in range(1200):
        file.append("log-events", float(n), n, {"n": n}, [["record", n]])
    file.append("http", 1.0, 1, b'{"method": "POST"}\nbody', [])
    file.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entries = list(StoreFile(path).entries())
    assert [e.payload["n"] for e in entries[:-1]] == list(range(1200))
    assert entries[0].stamps == [["record", 0]] and entries[-1].payload == b'{"method": "POST"}\nbody'


def _kinds_in_file(path) -> list[str]:
    """What another connection (a daemon started after a kill) finds in the file now."""
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT kind FROM journal ORDER BY id")]


def test_deferred_entries_are_written_behind_and_before_any_later_synchronous_one(tmp_path):
    path = tmp_path / "store.sqlite3"
    file = StoreFile(path)
    try:
        file.append("log-events", 1.0, 1, {"n": 1}, [], defer=True)
        wait_until(lambda: _kinds_in_file(path) == ["log-events"], 5, 0.01, "the deferred entry in the file")
        file.append("log-events", 2.0, 2, {"n": 2}, [], defer=True)
        file.append("log-events", 3.0, 3, {"n": 3}, [], defer=True)
        file.append("http", 4.0, 4, b"{}", [])  # synchronous: in the file on return, after the queued ones
        assert _kinds_in_file(path) == ["log-events", "log-events", "log-events", "http"]
        file.append("log-events", 5.0, 5, {"n": 5}, [], defer=True)
        assert [e.payload for e in file.entries()][-1] == {"n": 5}  # reading commits what is queued
    finally:
        file.close()
    # a deferred entry after close is refused, not dropped silently
    with pytest.raises(Exception, match="closed"):
        file.append("log-events", 6.0, 6, {"n": 6}, [], defer=True)
    assert [e.payload["n"] for e in StoreFile(path).entries() if e.kind == "log-events"] == [1, 2, 3, 5]


def test_a_checkpoint_commits_the_deferred_entries_before_it(tmp_path):
    path = tmp_path / "store.sqlite3"
    file = StoreFile(path)
    try:
        file.append("log-events", 1.0, 1, {"line": "handled record 7"}, [], defer=True)
        file.save_checkpoint("mapping", 7)  # a kill now must not lose the line of a record passed
        assert _kinds_in_file(path) == ["log-events"]
    finally:
        file.close()


def test_closing_the_file_commits_the_deferred_entries(tmp_path):
    path = tmp_path / "store.sqlite3"
    file = StoreFile(path)
    for n in range(50):
        file.append("log-events", float(n), n, {"n": n}, [], defer=True)
    file.close()
    assert [e.payload["n"] for e in StoreFile(path).entries()] == list(range(50))


def test_a_corrupt_file_or_another_format_is_unreadable(tmp_path):
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"not a database " * 100)
    with pytest.raises(UnreadableStore, match="file is not a database"):
        StoreFile(corrupt)
    other = tmp_path / "other.sqlite3"
    StoreFile(other).close()
    with sqlite3.connect(other) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    with pytest.raises(UnreadableStore, match="format 99, this ddbstream reads format 1"):
        StoreFile(other)


@pytest.mark.parametrize(
    "environ, body, kept",
    [
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, b"{}", True),
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"}, b"{}", False),
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}, b"{}", False),
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"}, b"{}", False),
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.ChangeMessageVisibility"}, b"{}", False),
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.DeleteMessage"}, b"{}", True),
        ({"CONTENT_TYPE": "application/x-www-form-urlencoded"}, b"Action=ListTopics", False),
        ({"CONTENT_TYPE": "application/x-www-form-urlencoded"}, b"Action=CreateTopic&Name=t", True),
        ({"REQUEST_METHOD": "GET", "PATH_INFO": "/2015-03-31/functions"}, b"", False),
        ({"REQUEST_METHOD": "POST", "PATH_INFO": "/2015-03-31/functions"}, b"{}", True),
    ],
)
def test_only_requests_that_may_change_state_are_journaled(environ, body, kept):
    assert changes_state({"REQUEST_METHOD": "POST", **environ}, body) is kept


def test_a_journaled_request_keeps_the_credential_scope_not_the_secret():
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=s3cr3t/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=abc",
        "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem",
    }
    kept = describe(environ, b'{"TableName": "t"}')
    assert b"s3cr3t" not in kept and b"20260101/us-east-1/dynamodb/aws4_request" in kept
    assert kept.endswith(b'\n{"TableName": "t"}')


def test_stamps_are_noted_while_journaling_and_handed_back_while_replaying():
    assert stamp("record", lambda: 1) == 1  # outside an effect: just made
    with running(100.0, 1) as effect:
        assert stamp("record", lambda: 7) == 7 and stamp("arrival", lambda: 2.5) == 2.5
    assert effect.stamps == [["record", 7], ["arrival", 2.5]]
    with running(100.0, 1, effect.stamps):
        assert stamp("arrival", lambda: 9.9) == 2.5 and stamp("record", lambda: 8) == 7
        assert stamp("record", lambda: 8) == 8  # none noted left: made anew
