"""StartLiveTail through the daemon, read by boto3's own event stream parser (emulator/logs/live_tail.py):
a session starts, then brings only the events ingested after it that match its filter pattern
(new streams included), an empty update at least every second, and ends when the daemon stops."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError
from esm_support import InThreadDaemon

from ddbstream.emulator.logs.live_tail import HEARTBEAT_SECONDS, encode_message


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


@pytest.fixture
def group(daemon):
    logs = daemon.client("logs")
    name = f"/aws/lambda/live-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="2026/01/01/[$LATEST]a")
    put(logs, name, "2026/01/01/[$LATEST]a", '{"level": "ERROR", "n": 0}')  # before the session: never sent
    return logs, name, logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"].removesuffix(":*")


def put(logs, group: str, stream: str, *messages: str) -> None:
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": message} for i, message in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def live(daemon, **kwargs):
    """boto3's StartLiveTail on the daemon (host prefix off: "stream-127.0.0.1" names no host)."""
    return daemon.client("logs", inject_host_prefix=False).start_live_tail(**kwargs)["responseStream"]


def read_until(stream, done, seconds: float = 10.0) -> list[dict]:
    """Messages until ``done(messages)``; the session's heartbeats keep each read short."""
    messages: list[dict] = []
    deadline = time.monotonic() + seconds
    for message in stream:
        messages.append(message)
        if done(messages) or time.monotonic() > deadline:
            break
    return messages


def results(messages: list[dict]) -> list[dict]:
    return [r for m in messages if "sessionUpdate" in m for r in m["sessionUpdate"]["sessionResults"]]


def test_a_session_brings_the_new_matching_events_of_every_stream(daemon, group):
    logs, name, arn = group
    stream = live(daemon, logGroupIdentifiers=[arn], logEventFilterPattern='{ $.level = "ERROR" }')
    first = next(iter(stream))
    assert first["sessionStart"]["logGroupIdentifiers"] == [arn]
    assert first["sessionStart"]["logEventFilterPattern"] == '{ $.level = "ERROR" }'
    put(logs, name, "2026/01/01/[$LATEST]a", '{"level": "INFO", "n": 1}', '{"level": "ERROR", "n": 2}')
    logs.create_log_stream(logGroupName=name, logStreamName="2026/01/01/[$LATEST]b")
    put(logs, name, "2026/01/01/[$LATEST]b", '{"level": "ERROR", "n": 3}', "START RequestId: x")
    messages = read_until(stream, lambda got: len(results(got)) >= 2)
    stream.close()
    found = results(messages)
    assert [(r["logStreamName"], r["message"]) for r in found] == [
        ("2026/01/01/[$LATEST]a", '{"level": "ERROR", "n": 2}'),
        ("2026/01/01/[$LATEST]b", '{"level": "ERROR", "n": 3}'),
    ]
    assert all(r["logGroupIdentifier"] == arn and r["ingestionTime"] >= r["timestamp"] for r in found)
    assert all(m["sessionUpdate"]["sessionMetadata"] == {"sampled": False} for m in messages)


def test_a_quiet_session_sends_an_empty_update_every_second(daemon, group):
    _, _, arn = group
    stream = live(daemon, logGroupIdentifiers=[arn])
    started = time.monotonic()
    messages = read_until(stream, lambda got: len(got) >= 3)
    stream.close()
    assert [next(iter(m)) for m in messages] == ["sessionStart", "sessionUpdate", "sessionUpdate"]
    assert results(messages) == []
    assert time.monotonic() - started < 3 * HEARTBEAT_SECONDS + 1


def test_stream_name_prefixes_narrow_the_session(daemon, group):
    logs, name, arn = group
    logs.create_log_stream(logGroupName=name, logStreamName="other")
    stream = live(daemon, logGroupIdentifiers=[arn], logStreamNamePrefixes=["2026/"])
    next(iter(stream))
    put(logs, name, "other", "not this one")
    put(logs, name, "2026/01/01/[$LATEST]a", "this one")
    messages = read_until(stream, lambda got: results(got))
    stream.close()
    assert [r["message"] for r in results(messages)] == ["this one"]


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        ({"logEventFilterPattern": "{ $.level = }"}, "InvalidParameterException", "Invalid filter pattern"),
        (
            {"logEventFilterPattern": "RequestId:"},
            "InvalidParameterException",
            "Invalid character(s) in term 'RequestId:'",
        ),
    ],
)
def test_a_refused_request_is_an_error_before_any_stream(daemon, group, kwargs, code, message):
    _, _, arn = group
    with pytest.raises(ClientError) as raised:
        live(daemon, logGroupIdentifiers=[arn], **kwargs)
    assert raised.value.response["Error"] == {"Code": code, "Message": message}


def test_a_missing_group_is_not_found(daemon):
    with pytest.raises(ClientError) as raised:
        live(daemon, logGroupIdentifiers=["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/nope"])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_sessions_end_when_the_daemon_stops():
    own = InThreadDaemon()
    logs = own.client("logs")
    logs.create_log_group(logGroupName="/g")
    stream = live(own, logGroupIdentifiers=["/g"])
    next(iter(stream))
    own.stop()
    started = time.monotonic()
    assert all("sessionUpdate" in message for message in stream)  # the iteration ends
    assert time.monotonic() - started < 5


def test_messages_are_framed_as_the_event_stream_format_says():
    payload = b'{"sessionResults": []}'
    buffer = EventStreamBuffer()
    buffer.add_data(encode_message({":message-type": "event", ":event-type": "sessionUpdate"}, payload))
    [message] = list(buffer)  # botocore checks the prelude's and the message's CRC32
    assert message.headers == {":message-type": "event", ":event-type": "sessionUpdate"}
    assert message.payload == payload
