"""tail's core: durations, FilterLogEvents paging and following, live tail, Lambda line parsing, formats."""

from __future__ import annotations

import io
import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ddbstream.durations import iso_ms, parse_duration, parse_time
from ddbstream.errors import AwsError, InvalidInput, NotFound
from ddbstream.logs import (
    LogEvent,
    LogSource,
    Notice,
    Renderer,
    Seen,
    Tail,
    compile_grep,
    log_group_for,
    summarise_report,
)

GROUP = "/aws/lambda/employees_stream_consumer"
REQUEST = "8f5b2f4e-2f5c-4c1e-9a51-7d3f6f9f0a11"


class _Stop(Exception):
    pass


@pytest.fixture
def logs(aws_credentials):
    with mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName=GROUP)
        for stream in ("s1", "s2"):
            client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        yield client


def put(client, stream, *events):
    client.put_log_events(
        logGroupName=GROUP, logStreamName=stream, logEvents=[{"timestamp": ts, "message": msg} for ts, msg in events]
    )


def collect(tail: Tail, count: int) -> list:
    """The first `count` log events of a follow; fails if they do not come within 20 polls."""
    out = []
    for item in tail.events():
        if isinstance(item, LogEvent):
            out.append(item)
            if len(out) == count:
                return out
    return out


def scripted_sleep(steps):
    """A sleep that runs the next scripted step (writing events) instead of waiting; stops after them."""
    steps = list(steps)
    calls = []

    def sleep(seconds):
        calls.append(seconds)
        if not steps:
            raise _Stop()
        steps.pop(0)()

    sleep.calls = calls
    return sleep


# ---------------------------------------------------------------- durations


def test_parse_time_relative_iso_and_errors():
    now = 1_700_000_000.0
    assert parse_time("10m", now=now) == int((now - 600) * 1000)
    assert parse_time("2h", now=now) == int((now - 7200) * 1000)
    assert parse_time("1d", now=now) == int((now - 86400) * 1000)
    assert parse_time("now", now=now) == int(now * 1000)
    assert parse_time("2024-05-01T12:00:00Z") == 1714564800000
    assert parse_time("2024-05-01T12:00:00") == 1714564800000  # no zone: UTC
    assert parse_time("2024-05-01T14:00:00+02:00") == 1714564800000
    assert parse_duration("1.5h") == 5400
    with pytest.raises(InvalidInput, match=r"invalid --since 'yesterday': use a duration such as 10m"):
        parse_time("yesterday")
    assert iso_ms(1714564800123) == "2024-05-01T12:00:00.123Z"


def test_log_group_for():
    assert log_group_for("orders_consumer") == "/aws/lambda/orders_consumer"
    assert log_group_for("/custom/group") == "/custom/group"


# ---------------------------------------------------------------- fetching


def test_backfill_pages_interleaves_and_respects_the_range(logs):
    base = int(time.time() * 1000) - 60_000
    put(logs, "s1", *[(base + 2 * i, f"a{i}") for i in range(25)])
    put(logs, "s2", *[(base + 2 * i + 1, f"b{i}") for i in range(25)])
    source = LogSource(logs, GROUP)
    source.page_limit = 7  # force many pages
    pages = list(source.fetch(base + 10, base + 39))
    assert len(pages) > 3
    messages = [e.message for page in pages for e in page]
    assert messages == [f"{'a' if n % 2 == 0 else 'b'}{n // 2}" for n in range(10, 40)]
    events = list(Tail(source, base, base + 100).events())
    assert [e.message for e in events][:4] == ["a0", "b0", "a1", "b1"] and len(events) == 50


def test_backfill_of_a_missing_group_is_not_found(logs):
    with pytest.raises(NotFound, match="log group /aws/lambda/nope does not exist"):
        list(Tail(LogSource(logs, "/aws/lambda/nope"), 0).events())


def test_filter_pattern_goes_to_cloudwatch(logs):
    now = int(time.time() * 1000)
    put(logs, "s1", (now, "INSERT one"), (now + 1, "MODIFY two"), (now + 2, "INSERT three"))
    events = list(Tail(LogSource(logs, GROUP, "INSERT"), now - 1000).events())
    assert [e.message for e in events] == ["INSERT one", "INSERT three"]


# ---------------------------------------------------------------- following


def test_follow_shows_each_event_once_across_poll_and_page_boundaries(logs):
    now = int(time.time() * 1000)
    put(logs, "s1", (now, "first"), (now + 5, "boundary-1"))
    steps = [
        # Same millisecond as the newest event already shown, in another stream.
        lambda: put(logs, "s2", (now + 5, "boundary-2")),
        lambda: None,  # a poll with nothing new
        lambda: put(logs, "s1", (now + 5, "boundary-3"), (now + 9, "later")),
        # Ingested late, with a timestamp before the newest one shown (within the re-read window).
        lambda: put(logs, "s2", (now + 7, "late")),
        lambda: None,
        lambda: None,
    ]
    source = LogSource(logs, GROUP)
    source.page_limit = 1  # every event on its own page
    sleep = scripted_sleep(steps)
    tail = Tail(source, now - 1000, follow=True, local=True, sleep=sleep)
    shown = []
    with pytest.raises(_Stop):
        for item in tail.events():
            shown.append(item.message)
    assert shown == ["first", "boundary-1", "boundary-2", "boundary-3", "later", "late"]
    assert all(0 < s <= 0.25 for s in sleep.calls)  # never more often than every 250 ms on local


def test_follow_waits_for_a_group_that_does_not_exist_yet(logs):
    now = int(time.time() * 1000)
    group = "/aws/lambda/later"

    def create():
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": "hi"}])

    tail = Tail(LogSource(logs, group), now - 1000, follow=True, sleep=scripted_sleep([create, lambda: None]))
    items = []
    with pytest.raises(_Stop):
        for item in tail.events():
            items.append(item)
    assert isinstance(items[0], Notice) and "does not exist" in items[0].text and "waiting" in items[0].text
    assert [i.message for i in items[1:]] == ["hi"]


class _Throttling:
    """A logs client that refuses the first `n` calls of one operation with ThrottlingException."""

    def __init__(self, client, operation, n):
        self.client, self.operation, self.left = client, operation, n

    def __getattr__(self, name):
        real = getattr(self.client, name)
        if name != self.operation:
            return real

        def call(**kwargs):
            if self.left:
                self.left -= 1
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, name)
            return real(**kwargs)

        return call


def test_polling_backs_off_on_throttling(logs):
    now = int(time.time() * 1000)
    put(logs, "s1", (now, "one"))
    sleep = scripted_sleep([lambda: None] * 4)
    tail = Tail(
        LogSource(_Throttling(logs, "filter_log_events", 2), GROUP), now - 1000, follow=True, local=False, sleep=sleep
    )
    items = []
    with pytest.raises(_Stop):
        for item in tail.events():
            items.append(item)
    notices = [i.text for i in items if isinstance(i, Notice)]
    assert notices == ["CloudWatch is throttling: next poll in 2 s", "CloudWatch is throttling: next poll in 4 s"]
    assert [i.message for i in items if isinstance(i, LogEvent)] == ["one"]
    assert sleep.calls[:2] == [2.0, 4.0]


def test_live_tail_reconciles_with_filter_log_events(logs):
    """moto's StartLiveTail replays every stored event and ends the session: each is shown once."""
    now = int(time.time() * 1000)
    put(logs, "s1", (now, "old"), (now + 1, "same"), (now + 1, "same"))
    source = LogSource(logs, GROUP)
    steps = [lambda: put(logs, "s2", (now + 2, "new")), lambda: None, lambda: None]
    tail = Tail(
        source,
        now - 1000,
        follow=True,
        local=False,
        live_tail_arn=source.arn("us-east-1", "123456789012"),
        sleep=scripted_sleep(steps),
    )
    assert tail.live_tail_arn == f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"
    shown = []
    with pytest.raises(_Stop):
        for item in tail.events():
            shown.append(item.message)
    assert shown == ["old", "same", "same", "new"]


def test_live_tail_falls_back_to_polling_when_throttled(logs):
    now = int(time.time() * 1000)
    put(logs, "s1", (now, "one"))
    source = LogSource(_Throttling(logs, "start_live_tail", 1), GROUP)
    tail = Tail(
        source, now - 1000, follow=True, local=False, live_tail_arn="arn:x", sleep=scripted_sleep([lambda: None])
    )
    items = []
    with pytest.raises(_Stop):
        for item in tail.events():
            items.append(item)
    assert (
        isinstance(items[0], Notice) and items[0].text == "live tail unavailable (ThrottlingException): polling instead"
    )
    assert [i.message for i in items[1:]] == ["one"]


class _ScriptedLive:
    """A logs client whose StartLiveTail sessions come from a script: AWS behaviour moto lacks
    (sampling, sessions that run for hours); everything else goes to moto."""

    def __init__(self, client, sessions):
        self.client, self.sessions = client, list(sessions)

    def __getattr__(self, name):
        return getattr(self.client, name)

    def start_live_tail(self, **kwargs):
        items = self.sessions.pop(0) if self.sessions else []
        # Each item is produced when read, so the test's clock moves as the stream is consumed.
        return {"responseStream": (item() if callable(item) else item for item in items)}


def test_live_tail_warns_when_sampled_and_reconnects_before_three_hours(logs, monkeypatch):
    now = int(time.time() * 1000)
    clock = [1000.0]

    def update(ts, message, sampled=False):
        def advance():
            clock[0] += 3600  # each update an hour later
            return {
                "sessionUpdate": {
                    "sessionMetadata": {"sampled": sampled},
                    "sessionResults": [{"timestamp": ts, "message": message, "logStreamName": "s1"}],
                }
            }

        return advance

    sessions = [
        [
            {"sessionStart": {}},
            update(now, "a", sampled=True),
            update(now + 1, "b"),
            update(now + 2, "c"),
            update(now + 3, "never: the session is renewed first"),
        ],
        [{"sessionStart": {}}, update(now + 3, "d")],
    ]
    tail = Tail(
        LogSource(_ScriptedLive(logs, sessions), GROUP),
        now - 1000,
        follow=True,
        local=False,
        live_tail_arn="arn:x",
        sleep=scripted_sleep([lambda: None]),
        clock=lambda: clock[0],
    )
    items = []
    with pytest.raises(_Stop):
        for item in tail.events():
            items.append(item)
    texts = [i.text if isinstance(i, Notice) else i.message for i in items]
    assert texts == [
        "AWS is sampling this live tail (over 500 events/s): some events are not shown",
        "a",
        "b",
        "c",
        "d",
    ]


def test_live_tail_reconnects_with_backoff_until_it_keeps_failing(logs):
    """A broken session counts as a failure unless it brought an update; the fourth in a row gives up."""
    now = int(time.time() * 1000)

    def broken():
        raise RuntimeError("stream broke")

    def update(ts, message):
        return {"sessionUpdate": {"sessionResults": [{"timestamp": ts, "message": message, "logStreamName": "s1"}]}}

    sessions = [
        [broken],
        [],  # ended by itself: the count stays
        [update(now, "a"), broken],  # an update first: the count restarts
        [update(now + 1, "b")],
        [broken],
        [broken],
        [broken],
        [broken],
    ]
    sleep = scripted_sleep([lambda: None] * 7)
    tail = Tail(
        LogSource(_ScriptedLive(logs, sessions), GROUP), now - 1000, follow=True, local=False, live_tail_arn="arn:x"
    )
    tail.sleep = sleep
    items = []
    with pytest.raises(AwsError, match="live tail keeps failing: stream broke"):
        for item in tail.events():
            items.append(item)
    assert [i.message for i in items if isinstance(i, LogEvent)] == ["a", "b"]
    assert [i.text for i in items if isinstance(i, Notice)] == [
        "live tail interrupted (RuntimeError): reconnecting"
    ] * 5
    assert sleep.calls == [2, 2, 2, 0.5, 2, 4, 8]


def test_seen_reconciles_sources_by_multiplicity():
    seen = Seen()
    polled = seen.new_pass()
    assert [seen.admit(LogEvent(5, "x", "s", i), polled) for i in ("1", "2")] == [True, True]
    assert seen.admit(LogEvent(5, "x", "s", "1"), seen.new_pass()) is False  # same id in a later pass
    live = seen.new_pass()
    # Two copies were shown; a live session bringing a third copy has a new one.
    assert [seen.admit(LogEvent(5, "x", "s"), live) for _ in range(3)] == [False, False, True]
    seen.prune(6, live)
    assert not seen.ids and not seen.shown and not live


# ---------------------------------------------------------------- parsing and formats

RAW = [
    ("s1", "INIT_START Runtime Version: python:3.12.local"),
    ("s1", f"START RequestId: {REQUEST} Version: $LATEST"),
    ("s1", '{"eventName": "INSERT", "keys": {"employeeid": "E1"}, "new": {"employeeid": "E1", "name": "Ann"}}'),
    ("s1", f'2024-05-01T12:00:00.123Z\t{REQUEST}\tINFO\t{{"ok": true}}'),
    ("s1", f"[WARNING]\t2024-05-01T12:00:00.124Z\t{REQUEST}\tcareful"),
    ("s1", '[ERROR] ValueError: boom\rTraceback (most recent call last):\r  File "/var/task/handler.py", line 3'),
    ("s2", "START RequestId: other-request Version: $LATEST"),
    ("s2", "2024-05-01T12:00:01.000Z other-request Task timed out after 3.00 seconds"),
    ("s1", f"END RequestId: {REQUEST}"),
    (
        "s1",
        f"REPORT RequestId: {REQUEST}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 50 MB\tInit Duration: 101.20 ms",
    ),
    ("s1", "plain line after the invocation"),
]


def events():
    return [LogEvent(1714564800000 + i, message, stream, str(i)) for i, (stream, message) in enumerate(RAW)]


def rendered(fmt, terminal=False, **kwargs):
    from rich.console import Console

    renderer = Renderer(fmt, **kwargs)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=terminal,
        color_system="standard" if terminal else None,
        width=200,
        soft_wrap=True,
        highlight=False,
    )
    for event in events():
        out = renderer.render(event)
        if out is not None:
            console.print(out)
    return buffer.getvalue()


def test_pretty_folds_summarises_and_prints_json():
    text = rendered("pretty")
    lines = text.splitlines()
    assert "END RequestId" not in text  # folded
    assert lines[1] == f"12:00:00.001 8f5b2f4e START {REQUEST} ($LATEST)"
    assert lines[2].startswith("12:00:00.002 8f5b2f4e INFO  {") and '"eventName": "INSERT"' in text
    assert '12:00:00.003 8f5b2f4e INFO  {"ok": true}' in text  # Node-style prefix stripped, JSON kept
    assert "12:00:00.004 8f5b2f4e WARN  careful" in text
    assert "8f5b2f4e ERROR ValueError: boom\nTraceback (most recent call last):" in text
    assert "12:00:00.007 other-re ERROR Task timed out after 3.00 seconds\n" in text
    assert lines[-2] == "12:00:00.009 8f5b2f4e REPORT 12.34 ms (billed 13 ms) · 50/128 MB · init 101.20 ms"
    assert lines[-1] == "12:00:00.010 -        INFO  plain line after the invocation"
    assert "\x1b[" not in text  # plain when not a terminal


def test_pretty_long_json_is_indented():
    from rich.console import Console

    payload = {
        "eventName": "MODIFY",
        "keys": {"employeeid": "E1"},
        "old": {"name": "A" * 60},
        "new": {"name": "B" * 60},
    }
    buffer = io.StringIO()
    out = Renderer("pretty").render(LogEvent(0, json.dumps(payload), "s"))
    Console(file=buffer, width=200).print(out)
    text = buffer.getvalue()
    lines = text.splitlines()
    assert lines[0] == "00:00:00.000 -        INFO" and lines[1] == "  {" and lines[-1] == "  }"
    assert all(line.startswith("    ") for line in lines[2:-1])
    assert json.loads(text.split("INFO", 1)[1]) == payload


def test_pretty_colours_failures_red_on_a_terminal():
    text = rendered("pretty", terminal=True)
    error_lines = [line for line in text.splitlines() if "boom" in line or "timed out" in line]
    assert error_lines and all("\x1b[31m" in line or "\x1b[1;31m" in line for line in error_lines)
    careful = next(line for line in text.splitlines() if "careful" in line)
    assert "\x1b[31m" not in careful


def test_short_raw_and_json_formats():
    short = rendered("short").splitlines()
    assert short[0] == "2024-05-01T12:00:00.000Z INIT_START Runtime Version: python:3.12.local"
    assert len(short) == len(RAW)
    assert rendered("raw").splitlines()[1] == f"START RequestId: {REQUEST} Version: $LATEST"
    lines = [json.loads(line) for line in rendered("json").splitlines()]
    assert len(lines) == len(RAW)
    consumer = lines[2]
    assert consumer["requestId"] == REQUEST and consumer["data"]["keys"] == {"employeeid": "E1"}
    assert consumer["timestamp"] == "2024-05-01T12:00:00.002Z" and consumer["logStreamName"] == "s1"
    assert lines[9]["report"]["Billed Duration"] == "13 ms" and lines[9]["kind"] == "report"


def test_request_id_and_grep_select_lines():
    only = rendered("raw", request_id=REQUEST).splitlines()
    assert only[0].startswith("START RequestId: 8f5b") and only[-1].startswith("REPORT RequestId: 8f5b")
    assert not any("other-request" in line for line in only) and "plain line after the invocation" not in only
    assert len(only) == 7
    grepped = rendered("raw", grep=compile_grep(r"INSERT|careful")).splitlines()
    assert len(grepped) == 2
    with pytest.raises(InvalidInput, match=r"invalid --grep regular expression '\(unclosed'"):
        compile_grep("(unclosed")


def test_report_summary_with_a_status():
    assert (
        summarise_report(
            {
                "Duration": "3000.00 ms",
                "Billed Duration": "3000 ms",
                "Memory Size": "128 MB",
                "Max Memory Used": "40 MB",
                "Status": "timeout",
            }
        )
        == "3000.00 ms (billed 3000 ms) · 40/128 MB · status timeout"
    )
