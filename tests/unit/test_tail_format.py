"""tail's default format prints one line an event (JSON compact, breaks escaped), ``pretty`` still
expands long JSON; following live waits for a log group that does not exist yet."""

from __future__ import annotations

import io
import json
import time

import pytest
from botocore.exceptions import ClientError
from rich.console import Console

from ddbstream.logs import DEFAULT_FORMAT, LogEvent, LogSource, Notice, Renderer, Tail

REQUEST = "8f5b2f4e-2f5c-4c1e-9a51-7d3f6f9f0a11"
PAYLOAD = {"eventName": "INSERT", "keys": {"employeeid": "E1"}, "new": {"name": "x" * 150}}
EVENTS = [
    f"START RequestId: {REQUEST} Version: $LATEST",
    json.dumps(PAYLOAD),
    f"[ERROR]\t2024-01-01T00:00:00.000Z\t{REQUEST}\tboom\rTraceback (most recent call last):\r  File x",
    f"END RequestId: {REQUEST}",
    f"REPORT RequestId: {REQUEST}\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB",
]


def printed(fmt: str, width: int = 60) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, soft_wrap=True, highlight=False, color_system=None)
    renderer = Renderer(fmt)
    for number, message in enumerate(EVENTS):
        rendered = renderer.render(LogEvent(1_700_000_000_000 + number, message, "s"))
        if rendered is not None:
            console.print(rendered)
    return out.getvalue().splitlines()


def test_the_default_format_prints_one_line_an_event():
    assert DEFAULT_FORMAT == "line" and Renderer().fmt == "line"
    lines = printed("line")
    assert len(lines) == len(EVENTS) - 1  # END is folded, as in pretty
    assert lines[0] == f"22:13:20.000 8f5b2f4e START {REQUEST} ($LATEST)"
    assert (
        lines[1].startswith("22:13:20.001 8f5b2f4e INFO  {") and json.loads(lines[1].split("INFO  ", 1)[1]) == PAYLOAD
    )
    assert lines[2] == "22:13:20.002 8f5b2f4e ERROR boom\\nTraceback (most recent call last):\\n  File x"
    assert lines[3] == "22:13:20.004 8f5b2f4e REPORT 2.00 ms (billed 2 ms) · 50/128 MB"


def test_pretty_still_expands_long_json_and_keeps_line_breaks():
    lines = printed("pretty")
    assert lines[1] == "22:13:20.001 8f5b2f4e INFO" and lines[2] == "  {"
    assert "Traceback (most recent call last):" in lines
    assert len(lines) > len(EVENTS) + 5


class _GroupAppearsLater:
    """A logs client whose group does not exist for the first StartLiveTail, then brings one event."""

    def __init__(self, now: int):
        self.now, self.calls = now, 0

    def start_live_tail(self, **kwargs):
        self.calls += 1
        if self.calls == 1:
            error = {
                "Error": {"Code": "ResourceNotFoundException", "Message": "The specified log group does not exist."}
            }
            raise ClientError(error, "StartLiveTail")
        result = {"timestamp": self.now, "message": "hello", "logStreamName": "s1"}
        return {"responseStream": iter([{"sessionStart": {}}, {"sessionUpdate": {"sessionResults": [result]}}])}

    def filter_log_events(self, **kwargs):
        return {"events": []}


def test_following_live_waits_for_a_group_that_does_not_exist_yet():
    now = int(time.time() * 1000)
    client = _GroupAppearsLater(now)
    tail = Tail(
        LogSource(client, "/aws/lambda/new"), now - 1000, follow=True, live_tail_arn="arn:x", sleep=lambda s: None
    )
    items = []
    for item in tail.events():
        items.append(item)
        if isinstance(item, LogEvent):
            break
    assert [i.text if isinstance(i, Notice) else i.message for i in items] == [
        "log group /aws/lambda/new does not exist (has the function run yet?); waiting for it",
        "hello",
    ]
    assert client.calls == 2


@pytest.mark.parametrize("fmt", ["line", "pretty", "short", "json", "raw"])
def test_every_format_is_accepted(fmt):
    assert Renderer(fmt).fmt == fmt
