"""FilterLogEvents through the daemon applies CloudWatch's filter pattern language (emulator/logs/):
each kind of pattern returns only the events it matches, across streams, and a pattern CloudWatch
refuses is refused with its InvalidParameterException."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from esm_support import InThreadDaemon

START = "START RequestId: 6f1b Version: $LATEST"
ERROR = json.dumps({"level": "ERROR", "keys": {"employeeid": "E2"}, "latency": 12})
INFO = json.dumps({"level": "INFO", "keys": {"employeeid": "E1"}, "latency": 1500})
ACCESS = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 534'
REPORT = "REPORT RequestId: 6f1b\tDuration: 2.00 ms\tBilled Duration: 2 ms"


@pytest.fixture(scope="module")
def group():
    """A log group with two streams holding one event of each shape."""
    daemon = InThreadDaemon()
    logs = daemon.client("logs")
    name = f"/aws/lambda/filter-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    now = int(time.time() * 1000)
    for stream, messages in (("s1", [START, ERROR, INFO]), ("s2", [ACCESS, REPORT])):
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
        events = [{"timestamp": now + i, "message": message} for i, message in enumerate(messages)]
        logs.put_log_events(logGroupName=name, logStreamName=stream, logEvents=events)
    yield logs, name
    daemon.stop()


def matched(group, pattern: str) -> list[str]:
    logs, name = group
    response = logs.filter_log_events(logGroupName=name, filterPattern=pattern, startTime=0)
    return sorted(event["message"] for event in response["events"])


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", sorted([START, ERROR, INFO, ACCESS, REPORT])),
        ("RequestId", sorted([START, REPORT])),
        ("-START", sorted([ERROR, INFO, ACCESS, REPORT])),
        ('"Billed Duration"', [REPORT]),
        ("?START ?REPORT", sorted([START, REPORT])),
        ("%^REPORT RequestId: [0-9a-f]+%", [REPORT]),
        ('{ $.level = "ERROR" }', [ERROR]),
        ("{ $.level != ERROR }", [INFO]),
        ("{ $.latency > 1000 }", [INFO]),
        ('{ $.keys.employeeid = "E*" && $.latency < 100 }', [ERROR]),
        ("{ $.missing NOT EXISTS }", sorted([ERROR, INFO])),
        ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes < 1000]", [ACCESS]),
        ("[first = START, ...]", [START]),
    ],
)
def test_filter_log_events_returns_only_the_matching_events(group, pattern, expected):
    assert matched(group, pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ('{ $.level = "ERROR"', "If a filter pattern starts with '{' it must end with '}'"),
        ("RequestId:", "Invalid character(s) in term 'RequestId:'"),
        ("{ $.latency > fast }", "Invalid filter pattern"),
    ],
)
def test_a_pattern_cloudwatch_refuses_is_an_invalid_parameter(group, pattern, message):
    logs, name = group
    with pytest.raises(ClientError) as raised:
        logs.filter_log_events(logGroupName=name, filterPattern=pattern, startTime=0)
    assert raised.value.response["Error"] == {"Code": "InvalidParameterException", "Message": message}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_refused_pattern_is_refused_even_where_there_is_nothing_to_filter(group):
    logs, _ = group
    name = f"/aws/lambda/empty-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    with pytest.raises(ClientError) as raised:
        logs.filter_log_events(logGroupName=name, filterPattern="{ $.a = ", startTime=0)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
