"""The durable store's pieces without a daemon: the file, what the journal keeps, stamps."""

from __future__ import annotations

import sqlite3
import stat

import pytest

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
