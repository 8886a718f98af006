"""The consumer handler (lambda/handler.py) on generated stream events, without sinks."""

from __future__ import annotations

import ast
import sys
from decimal import Decimal

import pytest
from handler_support import LAMBDA_DIR, handler, invoke, load_handler, parse  # noqa: F401 (fixture)

from ddbstream.events import make_event, make_stream_record

CREATED = 1755957922  # 2025-08-23T14:05:22Z


def record(event_name, key, new=None, old=None, view="NEW_AND_OLD_IMAGES", seq=1, **extra):
    return make_stream_record(
        event_name,
        {"employeeid": key},
        new,
        old,
        view,
        f"{seq:021d}",
        event_id=f"ev-{seq}",
        created=CREATED,
        **extra,
    )


def test_insert_log_line_is_exact(handler, capsys):
    item = {"employeeid": "E101", "name": "Alice", "department": "Finance"}
    response, lines = invoke(handler, make_event([record("INSERT", "E101", item, seq=111)]), capsys)
    assert response == {"batchItemFailures": []}
    assert lines == [
        '{"eventName": "INSERT", "keys": {"employeeid": "E101"}, "old": null, '
        '"new": {"employeeid": "E101", "name": "Alice", "department": "Finance"}, '
        '"sequenceNumber": "000000000000000000111", "eventID": "ev-111", '
        '"approximateCreationTime": "2025-08-23T14:05:22Z"}'
    ]


OLD = {"employeeid": "E1", "salary": 100}
NEW = {"employeeid": "E1", "salary": 200}


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY", "REMOVE"])
def test_view_types_decide_which_images_are_logged(handler, capsys, event_name, view):
    new = NEW if event_name != "REMOVE" else None
    old = OLD if event_name != "INSERT" else None
    response, lines = invoke(handler, make_event([record(event_name, "E1", new, old, view, seq=7)]), capsys)
    assert response == {"batchItemFailures": []}
    wants_new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and event_name != "REMOVE"
    wants_old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and event_name != "INSERT"
    assert [parse(line) for line in lines] == [
        {
            "eventName": event_name,
            "keys": {"employeeid": "E1"},
            "old": {"employeeid": "E1", "salary": 100} if wants_old else None,
            "new": {"employeeid": "E1", "salary": 200} if wants_new else None,
            "sequenceNumber": "000000000000000000007",
            "eventID": "ev-7",
            "approximateCreationTime": "2025-08-23T14:05:22Z",
        }
    ]


def test_types_are_converted_exactly(handler, capsys):
    item = {
        "employeeid": "E7",
        "price": Decimal("12345678901234567890.123456789"),
        "big": Decimal("12345678901234567890123456789012345678"),
        "neg": Decimal("-0.5"),
        "tiny": Decimal("1E-7"),
        "whole": Decimal("1.000"),
        "scaled": Decimal("2.5E+3"),
        "tags": {"b", "c", "a"},
        "scores": {Decimal("10"), Decimal("2"), Decimal("-1.5")},
        "blobs": {b"\xff", b"\x02", b"\x00\x01"},
        "raw": b"hello",
        "active": True,
        "manager": None,
        "name": "Zo\u00eb \u2713",
        "address": {
            "city": "Oslo",
            "geo": {"lat": Decimal("59.9139"), "lng": Decimal("10.7522")},
            "lines": ["a", {"floor": 3}],
        },
        "history": [1, [2, [3]], {"x": []}],
    }
    response, lines = invoke(handler, make_event([record("INSERT", "E7", item, seq=9)]), capsys)
    assert response == {"batchItemFailures": []}
    assert lines == [
        '{"eventName": "INSERT", "keys": {"employeeid": "E7"}, "old": null, "new": {"employeeid": "E7", '
        '"price": 12345678901234567890.123456789, "big": 12345678901234567890123456789012345678, '
        '"neg": -0.5, "tiny": 1E-7, "whole": 1, "scaled": 2500, '
        '"tags": ["a", "b", "c"], "scores": [-1.5, 2, 10], "blobs": ["AAE=", "Ag==", "/w=="], '
        '"raw": "aGVsbG8=", "active": true, "manager": null, "name": "Zo\\u00eb \\u2713", '
        '"address": {"city": "Oslo", "geo": {"lat": 59.9139, "lng": 10.7522}, "lines": ["a", {"floor": 3}]}, '
        '"history": [1, [2, [3]], {"x": []}]}, '
        '"sequenceNumber": "000000000000000000009", "eventID": "ev-9", '
        '"approximateCreationTime": "2025-08-23T14:05:22Z"}'
    ]
    assert parse(lines[0])["new"]["price"] == Decimal("12345678901234567890.123456789")


def test_fractional_creation_time_keeps_its_fraction(handler, capsys):
    event = make_event(
        [make_stream_record("INSERT", {"employeeid": "E1"}, sequence_number="5", event_id="x", created=1700000000.25)]
    )
    _, lines = invoke(handler, event, capsys)
    assert parse(lines[0])["approximateCreationTime"] == "2023-11-14T22:13:20.250000Z"


def poison_batch():
    return make_event(
        [
            record("INSERT", "E1", {"name": "ok"}, seq=1),
            record("INSERT", "E2", {"poison": True}, seq=2),
            record("MODIFY", "E3", {"poison": False}, {"poison": True}, seq=3),  # only NewImage counts
            record("REMOVE", "E4", None, {"poison": "yes"}, seq=4),  # REMOVE: OldImage counts
            record("INSERT", "E5", {"poison": 0}, seq=5),
        ]
    )


def error_line(key, seq, event_name="INSERT", error=None):
    error = error or "InjectedFailure: attribute 'poison' is set on this item (FAIL_ATTRIBUTE)"
    return (
        f'{{"eventName": "{event_name}", "keys": {{"employeeid": "{key}"}}, "sequenceNumber": "{seq:021d}", '
        f'"eventID": "ev-{seq}", "level": "ERROR", "step": "process", "error": "{error}"}}'
    )


def test_failing_records_are_reported_alone(handler, capsys, monkeypatch):
    monkeypatch.setenv("FAIL_ATTRIBUTE", "poison")
    response, lines = invoke(handler, poison_batch(), capsys)
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": "000000000000000000002"},
            {"itemIdentifier": "000000000000000000004"},
        ]
    }
    # every record is logged; the two failures each add one error line after their change line
    assert [parse(line)["keys"]["employeeid"] for line in lines] == ["E1", "E2", "E2", "E3", "E4", "E4", "E5"]
    assert lines[2] == error_line("E2", 2)
    assert lines[5] == error_line("E4", 4, "REMOVE")


def test_fail_attribute_is_off_unless_configured(handler, capsys):
    response, lines = invoke(handler, poison_batch(), capsys)
    assert response == {"batchItemFailures": []}
    assert len(lines) == 5 and all("ERROR" not in line for line in lines)


def test_redelivery_skips_done_records_and_retries_failed_ones(handler, capsys, monkeypatch):
    monkeypatch.setenv("FAIL_ATTRIBUTE", "poison")
    event = poison_batch()
    first, _ = invoke(handler, event, capsys)
    second, lines = invoke(handler, event, capsys)
    assert second == first
    assert lines[0] == (
        '{"eventName": "INSERT", "keys": {"employeeid": "E1"}, "sequenceNumber": "000000000000000000001", '
        '"eventID": "ev-1", "duplicate": true}'
    )
    assert [parse(line).get("duplicate", False) for line in lines] == [True, False, False, True, False, False, True]
    assert lines[2] == error_line("E2", 2)


def test_exception_in_process_change_fails_only_its_record(handler, capsys, monkeypatch):
    def process_change(change):
        if change.keys["employeeid"] == "E3":
            raise RuntimeError("downstream said no")

    monkeypatch.setattr(handler, "process_change", process_change)
    response, lines = invoke(handler, poison_batch(), capsys)
    assert response == {"batchItemFailures": [{"itemIdentifier": "000000000000000000003"}]}
    assert error_line("E3", 3, "MODIFY", "RuntimeError: downstream said no") in lines


def test_malformed_records_fail_without_hurting_the_others(handler, capsys):
    good = record("INSERT", "E1", {"name": "ok"}, seq=1)
    unknown = record("INSERT", "E2", seq=2)
    unknown["eventName"] = "UPSERT"
    no_section = {"eventID": "ev-3", "eventName": "INSERT"}
    response, lines = invoke(handler, make_event([good, unknown, no_section]), capsys)
    # no SequenceNumber to report: "" makes Lambda retry the whole batch instead of losing the record
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": "000000000000000000002"},
            {"itemIdentifier": ""},
        ]
    }
    assert parse(lines[0])["keys"] == {"employeeid": "E1"}
    assert lines[1:] == [
        '{"eventName": "UPSERT", "sequenceNumber": "000000000000000000002", "eventID": "ev-2", '
        '"level": "ERROR", "step": "process", "error": "ValueError: unknown eventName \'UPSERT\'"}',
        '{"eventName": "INSERT", "sequenceNumber": null, "eventID": "ev-3", '
        '"level": "ERROR", "step": "process", "error": "ValueError: record has no \'dynamodb\' section"}',
    ]


def test_empty_event(handler, capsys):
    assert invoke(handler, {"Records": []}, capsys) == ({"batchItemFailures": []}, [])


def test_tumbling_window_counts_changes_and_logs_them_at_the_end(handler, capsys):
    window = {"start": "2025-08-23T14:05:00Z", "end": "2025-08-23T14:06:00Z"}
    first = {
        **poison_batch(),
        "window": window,
        "state": {},
        "shardId": "shard-1",
        "isFinalInvokeForWindow": False,
        "isWindowTerminatedEarly": False,
    }
    response, _ = invoke(handler, first, capsys)
    assert response == {"batchItemFailures": [], "state": {"INSERT": 3, "MODIFY": 1, "REMOVE": 1}}
    final = {
        "Records": [],
        "window": window,
        "state": response["state"],
        "shardId": "shard-1",
        "isFinalInvokeForWindow": True,
        "isWindowTerminatedEarly": False,
    }
    response, lines = invoke(handler, final, capsys)
    assert response["state"] == {"INSERT": 3, "MODIFY": 1, "REMOVE": 1}
    assert lines == [
        '{"window": {"start": "2025-08-23T14:05:00Z", "end": "2025-08-23T14:06:00Z"}, '
        '"shardId": "shard-1", "counts": {"INSERT": 3, "MODIFY": 1, "REMOVE": 1}}'
    ]


def test_settings_from_environment(handler):
    from consumer.settings import Settings

    settings = Settings.from_env(
        {"AUDIT_PREFIX": "audit", "NOTIFY_EVENT_NAMES": " remove, INSERT ", "TOPIC_ARN": "", "FAIL_ATTRIBUTE": "poison"}
    )
    assert settings.audit_prefix == "audit/"
    assert settings.notify_event_names == {"REMOVE", "INSERT"}
    assert settings.topic_arn is None and settings.audit_bucket is None
    assert Settings.from_env({"NOTIFY_EVENT_NAMES": "*"}).notify_event_names == {"INSERT", "MODIFY", "REMOVE"}
    with pytest.raises(
        ValueError, match=r"NOTIFY_EVENT_NAMES: unknown event name DELETE \(use INSERT, MODIFY, REMOVE or \*\)"
    ):
        Settings.from_env({"NOTIFY_EVENT_NAMES": "REMOVE,DELETE"})


def test_bad_notify_setting_fails_the_invocation(handler, capsys, monkeypatch):
    monkeypatch.setenv("NOTIFY_EVENT_NAMES", "DELETE")
    with pytest.raises(ValueError, match="NOTIFY_EVENT_NAMES"):
        handler.lambda_handler(poison_batch(), None)


def test_ledger_forgets_the_oldest_event_ids(handler):
    from consumer.ledger import Ledger

    ledger = Ledger(capacity=2)
    ledger.mark("a", "process")
    ledger.mark("b", "process")
    ledger.done("a")  # touching "a" makes "b" the oldest
    ledger.mark("c", "audit")
    assert (ledger.done("a"), ledger.done("b"), ledger.done("c")) == ({"process"}, set(), {"audit"})
    assert len(ledger) == 2


def test_handler_imports_only_the_standard_library_and_boto3():
    """The stream consumer (not lambda/api/, which bundles Powertools) needs nothing Lambda lacks."""
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "consumer", "__future__"}
    imported = set()
    for path in [LAMBDA_DIR / "handler.py", *(LAMBDA_DIR / "consumer").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert imported and imported <= allowed, imported - allowed
    assert callable(load_handler().lambda_handler)
