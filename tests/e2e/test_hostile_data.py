"""User data reaches the terminal as text (issue 12): escape sequences, C1 and bidi controls are shown
escaped and Rich markup is shown literally, on a terminal and piped."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import make_project, run_cli, run_cli_on_terminal, stack_client, wait_until

from ddbstream.cli.output import escape, note, safe, safe_json

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"

# Raw sequences that must never reach the output: erase screen, OSC (window title, hyperlink), BEL,
# C1 CSI, a right-to-left override.
RAW = ("\x1b[2J", "\x1b]", "\x07", "\x9b", "\u202e")

KEY = "\x1b]0;pwned\x07[bold red]K1[/]\u202e"
KEY_SHOWN = r"\x1b]0;pwned\x07[bold red]K1[/]\u202e"
KEY_IN_JSON = r'"\u001b]0;pwned\u0007[bold red]K1[/]\u202e"'  # describe_key's JSON value, made safe
VALUE = "\x1b[2J\x9b31m[link=file:///etc/passwd]y[/link]"
VALUE_SHOWN = r"\x1b[2J\x9b31m[link=file:///etc/passwd]y[/link]"
ATTR = "\x1b]8;;https://evil.example/\x1b\\a[i]b\x1b]8;;\x1b\\"
ATTR_SHOWN = r"\x1b]8;;https://evil.example/\x1b\a[i]b\x1b]8;;\x1b" + "\\"
BOLD_KEY = "[bold]E1[/bold]"
# What tests/fixtures/hostile/handler.py prints, shown escaped.
HANDLER_SHOWN = r"\x1b[2J\x1b]0;pwned\x07\x9b31m\u202e[bold red]boom[/] [link=file:///etc/passwd]y[/link]"

_RICH_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")  # rich's own styles, cursor moves, \r\n of a pty


def assert_clean(text: str) -> None:
    for raw in RAW:
        assert raw not in text, f"raw {raw!r} in output: {text!r}"


def visible(text: str) -> str:
    """The text a terminal shows (rich's own SGR and cursor sequences removed), after assert_clean."""
    assert_clean(text)
    return _RICH_CONTROL.sub("", text)


# ---------------------------------------------------------------- the sanitiser


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b", r"\x1b"),
        ("a\x1b[2Jb", r"a\x1b[2Jb"),
        ("\x1b]0;title\x07", r"\x1b]0;title\x07"),
        ("\x1b]8;;file:///etc/passwd\x1b\\x\x1b]8;;\x1b\\", r"\x1b]8;;file:///etc/passwd\x1b\x\x1b]8;;\x1b" + "\\"),
        ("\x9b31m", r"\x9b31m"),
        ("\x85\x7f\x00", r"\x85\x7f\x00"),
        ("abc\u202edef\u2066\u200e\u061c", r"abc\u202edef\u2066\u200e\u061c"),
        ("one\ntwo\tthree\r", r"one\ntwo\tthree\r"),
        ("[bold red]x[/]", "[bold red]x[/]"),
        ("héllo wörld 日本 ✓ \\x1b", "héllo wörld 日本 ✓ \\x1b"),
    ],
)
def test_safe_shows_controls_escaped_and_leaves_the_rest(raw, shown):
    assert safe(raw) == shown


def test_safe_multiline_keeps_line_breaks_and_tabs():
    assert safe("a\tb\nc\x1b[2J\rd", multiline=True) == "a\tb\nc\\x1b[2J\\rd"
    assert safe(42) == "42"


def test_safe_json_is_still_the_same_json():
    value = {"k\u202e": "\x1b[2J\x9b\x7f\u2067 é [b]"}
    text = safe_json(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert_clean(text)
    assert "\x7f" not in text and "é" in text


HOSTILE_MARKUP = [
    "[bold red]x[/]",
    "[link=file:///etc/passwd]y[/link]",
    BOLD_KEY,
    "\\[bold]x",
    "\\\\[bold]x[/bold]",
    "a\\[1] b\\\\[2]",
    "C:\\dir\\",
    "ends with two\\\\",
    "[/]",
    ":warning: :smile:",
    "[@click=app.bell]x[/]",
    KEY,
]


@pytest.mark.parametrize("data", HOSTILE_MARKUP)
def test_escaped_data_prints_literally_through_rich_markup(data):
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", highlight=False, soft_wrap=True)
    console.print(f"[dim]{escape(data)}[/] then [bold]{escape(data)}[/bold] {escape(data)}", emoji=False)
    shown = safe(data)
    assert visible(out.getvalue()) == f"{shown} then {shown} {shown}\n"


@pytest.mark.parametrize("data", HOSTILE_MARKUP)
def test_a_piped_note_shows_data_exactly(data, capsys):
    note(f"[yellow]put[/] {escape(data)} into [bold]{escape(data)}[/]")
    shown = safe(data)
    assert capsys.readouterr().err == f"put {shown} into {shown}\n"


def test_tail_formats_escape_a_handlers_output():
    from rich.console import Console

    from ddbstream.logs import LogEvent, Renderer

    hostile = "\x1b[2J\x9b\u202e [bold]x[/bold]"
    lines = [
        f"2024-01-01T00:00:00.000Z\treq-1\tINFO\t{hostile}\nsecond {hostile}",
        f"[ERROR]\t2024-01-01T00:00:00.000Z\treq-1\t{hostile}\rTraceback (most recent call last):",
        json.dumps({"level": "info", "msg": hostile}, ensure_ascii=False),
        json.dumps({"msg": hostile, "pad": "x" * 120}, ensure_ascii=False),
        "START RequestId: \x1b]0;t\x07 Version: $LATEST\x9b",
        "REPORT RequestId: r1\tDuration: 1.0 ms\x1b[2J\tStatus: error\u202e",
        f"INIT_START {hostile}",
    ]
    for fmt in ("raw", "short", "json", "pretty"):
        renderer = Renderer(fmt)
        for line in lines:
            rendered = renderer.render(LogEvent(1_700_000_000_000, line, "stream\x1b[2J"))
            if fmt == "json":
                assert json.loads(rendered)["message"] == line.rstrip("\n")
            if not isinstance(rendered, str):
                out = io.StringIO()
                Console(file=out, force_terminal=True, width=200).print(rendered)
                rendered = visible(out.getvalue())
                if hostile in line:
                    assert "[bold]x[/bold]" in rendered
            assert_clean(rendered)
            if fmt in ("raw", "short") and "\n" in line:
                assert rendered.endswith("\nsecond \\x1b[2J\\x9b\\u202e [bold]x[/bold]")


def test_status_view_shows_names_and_errors_as_text():
    from rich.console import Console

    from ddbstream.cli.status_view import render, render_compact

    hostile = "\x1b]0;t\x07[bold red]x[/]\u202e"
    report = {
        "table": {"name": "t" + hostile, "error": "AccessDenied " + hostile},
        "mappings": [
            {
                "uuid": "u-" + hostile,
                "state": "Enabled" + hostile,
                "lastProcessingResult": "PROBLEM: " + hostile,
                "stateTransitionReason": hostile,
                "filters": [hostile],
            }
        ],
        "function": {"name": "f" + hostile, "state": hostile, "handler": hostile},
        "dlq": {"error": hostile},
        "alarms": [{"name": "alarm" + hostile, "state": "ALARM"}],
        "daemon": {"pid": 1, "endpoint": hostile, "healthy": True},
        "problems": ["problem " + hostile],
    }
    for view in (render(report), render_compact(report, 2)):
        out = io.StringIO()
        Console(file=out, force_terminal=True, width=250).print(view)
        shown = visible(out.getvalue())
        assert r"\x1b]0;t\x07[bold red]x[/]\u202e" in shown
        for label in ("alarmx", "ft", "u-x"):
            assert label not in shown


# ---------------------------------------------------------------- end to end, through the real CLI


@pytest.fixture(scope="module")
def hostile_stack(tmp_path_factory):
    """A local stack whose consumer prints hostile text."""
    project = make_project(tmp_path_factory.mktemp("hostile") / "project")
    result = run_cli("up", "--json", "--var", f"lambda_source_dir={FIXTURE}", cwd=project)
    try:
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        item = {"employeeid": KEY, ATTR: VALUE}
        put = run_cli("put", "--item", json.dumps(item), cwd=project)
        assert put.returncode == 0, put.stderr
        yield project, info, put
    finally:
        run_cli("down", cwd=project)


def on_terminal(*args: str, cwd: Path, columns: int = 250, timeout: float = 120) -> str:
    """What the terminal received when the CLI ran on one."""
    return run_cli_on_terminal(*args, cwd=cwd, columns=columns, timeout=timeout)[1]


def _json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.e2e
def test_put_update_delete_confirmations_name_the_key_literally(hostile_stack):
    project, _, put = hostile_stack
    assert put.stderr == f"put employeeid={KEY_IN_JSON} into employees\n"

    written = run_cli("put", "--item", json.dumps({"employeeid": BOLD_KEY}), cwd=project)
    assert written.stderr == f'put employeeid="{BOLD_KEY}" into employees\n'
    shown = visible(on_terminal("put", "--item", json.dumps({"employeeid": BOLD_KEY}), cwd=project))
    assert f'put employeeid="{BOLD_KEY}" into employees' in shown

    updated = run_cli("update", BOLD_KEY, "--set", f"note={VALUE}", "--return", "none", cwd=project)
    assert updated.returncode == 0, updated.stderr
    assert updated.stderr == f'updated employeeid="{BOLD_KEY}" in employees\n'
    shown = visible(on_terminal("update", KEY, "--set", "seen=1", "--return", "none", cwd=project))
    assert f"updated employeeid={KEY_IN_JSON} in employees" in shown

    deleted = run_cli("delete", BOLD_KEY, "--return", "old", cwd=project)
    assert deleted.stderr == f'deleted employeeid="{BOLD_KEY}" from employees\n'
    assert_clean(deleted.stdout)
    assert json.loads(deleted.stdout) == {"employeeid": BOLD_KEY, "note": VALUE}

    missing = run_cli("delete", BOLD_KEY + "\x1b[2J", "--if-exists", cwd=project)  # the error line names it too
    assert missing.returncode != 0
    assert_clean(missing.stderr)
    assert BOLD_KEY in missing.stderr


@pytest.mark.e2e
def test_get_prints_the_item_as_escaped_json(hostile_stack):
    project, _, _ = hostile_stack
    piped = run_cli("get", KEY, cwd=project)
    assert piped.returncode == 0, piped.stderr
    assert_clean(piped.stdout)
    assert json.loads(piped.stdout)[ATTR] == VALUE
    shown = visible(on_terminal("get", KEY, cwd=project))
    assert r'"\u001b[2J\u009b31m[link=file:///etc/passwd]y[/link]"' in shown
    assert json.loads(shown[shown.index("{") :])[ATTR] == VALUE


@pytest.mark.e2e
def test_scan_shows_keys_values_and_attribute_names_as_text(hostile_stack):
    project, _, _ = hostile_stack
    piped = run_cli("scan", cwd=project)
    assert_clean(piped.stdout)
    assert [item[ATTR] for item in _json_lines(piped.stdout) if item["employeeid"] == KEY] == [VALUE]
    shown = visible(on_terminal("scan", cwd=project))
    for text in (KEY_SHOWN, VALUE_SHOWN, ATTR_SHOWN):
        assert text in shown


def _handler_lines(project: Path) -> str:
    def printed():
        result = run_cli("tail", "--since", "1h", "--format", "raw", cwd=project)
        return result.stdout if "[bold red]K1[/]" in result.stdout else None

    return wait_until(printed, 60, 0.5, "the hostile handler's log lines")


@pytest.mark.e2e
def test_tail_shows_a_handlers_output_escaped_in_every_format(hostile_stack):
    project, _, _ = hostile_stack
    raw = _handler_lines(project)
    assert_clean(raw)
    assert f"hostile {HANDLER_SHOWN} keys" in raw
    short = run_cli("tail", "--since", "1h", "--format", "short", cwd=project).stdout
    assert_clean(short)
    assert f"hostile {HANDLER_SHOWN} keys" in short
    lines = _json_lines(run_cli("tail", "--since", "1h", "--format", "json", cwd=project).stdout)
    hostile = "\x1b[2J\x1b]0;pwned\x07\x9b31m\u202e[bold red]boom[/] [link=file:///etc/passwd]y[/link]"
    assert any(line["message"].startswith("hostile " + hostile) for line in lines)
    assert any((line.get("data") or {}).get("hostile") == hostile for line in lines)
    piped_pretty = run_cli("tail", "--since", "1h", cwd=project).stdout
    assert_clean(piped_pretty)
    shown = visible(on_terminal("tail", "--since", "1h", cwd=project))
    assert f"hostile {HANDLER_SHOWN} keys" in shown
    assert HANDLER_SHOWN.replace("\\x1b", "\\u001b").replace("\\x07", "\\u0007").replace("\\x9b", "\\u009b") in shown


@pytest.mark.e2e
def test_invoke_shows_the_handlers_log_and_response_escaped(hostile_stack):
    project, _, _ = hostile_stack
    event = json.dumps({"hostile": True, "Records": [{"dynamodb": {"Keys": {"employeeid": {"S": KEY}}}}]})
    piped = run_cli("invoke", "--event", event, cwd=project)
    assert piped.returncode == 0, piped.stderr
    assert_clean(piped.stdout + piped.stderr)
    assert f"1 record(s) reported as failed: {HANDLER_SHOWN}" in piped.stderr
    assert f"hostile {HANDLER_SHOWN} keys" in piped.stderr
    assert json.loads(piped.stdout)["note"].startswith("\x1b[2J")
    shown = visible(on_terminal("invoke", "--event", event, cwd=project))
    assert f"1 record(s) reported as failed: {HANDLER_SHOWN}" in shown


@pytest.mark.e2e
def test_event_prints_a_hostile_item_as_escaped_json(hostile_stack):
    project, _, _ = hostile_stack
    result = run_cli("event", "insert", "--item", json.dumps({"employeeid": KEY, ATTR: VALUE}), cwd=project)
    assert result.returncode == 0, result.stderr
    assert_clean(result.stdout)
    assert json.loads(result.stdout)["Records"][0]["dynamodb"]["Keys"]["employeeid"]["S"] == KEY


FORGED_CONDITION = "\x1b]0;pwned\x07[bold red]RetryAttemptsExhausted[/]"
FORGED_SHARD = "shard\x9b2J[link=file:///etc/passwd]s[/link]\u202e"


@pytest.fixture(scope="module")
def forged_message(hostile_stack):
    """A message sent straight to the dead-letter queue whose fields carry escapes and markup."""
    project, info, _ = hostile_stack
    body = {
        "requestContext": {"condition": FORGED_CONDITION, "approximateInvokeCount": "[bold]9[/bold]\x1b[2J"},
        "responseContext": {"functionError": "\x1b[2J"},
        "timestamp": datetime.now(UTC).isoformat(),
        "DDBStreamBatchInfo": {
            "shardId": FORGED_SHARD,
            "startSequenceNumber": "[red]1[/red]",
            "endSequenceNumber": "2\u202e",
            "batchSize": "[i]3[/i]",
            "streamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/x/stream/y\x07",
            "approximateArrivalOfFirstRecord": datetime.now(UTC).isoformat(),
        },
    }
    sent = stack_client(project, "sqs").send_message(
        QueueUrl=info["resources"]["queue_url"], MessageBody=json.dumps(body)
    )
    return sent["MessageId"]


@pytest.mark.e2e
def test_dlq_list_and_show_print_forged_fields_as_text(hostile_stack, forged_message):
    project, _, _ = hostile_stack
    piped = run_cli("dlq", "list", cwd=project)
    assert_clean(piped.stdout)
    (listed,) = [m for m in _json_lines(piped.stdout) if m["messageId"] == forged_message]
    assert listed["condition"] == FORGED_CONDITION and listed["shardId"] == FORGED_SHARD
    for columns in (250, 120):  # a table, and one block per message on a narrow terminal
        shown = visible(on_terminal("dlq", "list", cwd=project, columns=columns))
        for text in (
            r"\x1b]0;pwned\x07[bold red]RetryAttemptsExhausted[/]",
            r"shard\x9b2J[link=file:///etc/passwd]s[/link]\u202e",
            r"[bold]9[/bold]\x1b[2J",
            r"[red]1[/red]",
            r"[i]3[/i]",
        ):
            assert text in shown, columns
    show = run_cli("dlq", "show", forged_message, cwd=project)
    assert show.returncode == 0, show.stderr
    assert_clean(show.stdout)
    assert json.loads(show.stdout)["message"]["shardId"] == FORGED_SHARD


ALARM = "employees-\x1b]0;pwned\x07[bold red]alarm[/]\u202e"
ALARM_SHOWN = r"employees-\x1b]0;pwned\x07[bold red]alarm[/]\u202e"


@pytest.mark.e2e
def test_status_shows_names_from_aws_as_text(hostile_stack):
    project, info, _ = hostile_stack
    cloudwatch = stack_client(project, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="\x1b[2J")
    piped = run_cli("status", "--check", cwd=project)
    assert_clean(piped.stdout + piped.stderr)
    assert ALARM_SHOWN in piped.stdout and f"alarm {ALARM_SHOWN} is in ALARM" in piped.stderr
    shown = visible(on_terminal("status", cwd=project))
    assert ALARM_SHOWN in shown and f"alarm {ALARM_SHOWN} is in ALARM" in shown
    assert_clean(run_cli("status", "--json", cwd=project).stdout)
