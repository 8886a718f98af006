"""The comparator itself: strict where the suite promises to be (absent / null / empty, JSON types)."""

from __future__ import annotations

import datetime as dt

import pytest
from compare import Comparison, Mismatch, matches

UUID_A = "0b6b1c8e-1d2f-4a5b-9c0d-0e1f2a3b4c5d"
UUID_B = "1c7c2d9f-2e3a-4b6c-8d1e-1f2a3b4c5d6e"


@pytest.mark.parametrize(
    ("recorded", "actual"),
    [
        ({"functionError": None}, {"functionError": ""}),  # null is not empty
        ({"functionError": None}, {}),  # null is not absent
        ({"OnFailure": {}}, {}),  # an empty object is not absent
        ({}, {"FilterCriteria": None}),  # a key AWS leaves out must be absent
        ({"SizeBytes": 70}, {"SizeBytes": 70.0}),  # an integer is not a float
        ({"BisectBatchOnFunctionError": False}, {"BisectBatchOnFunctionError": 0}),  # a bool is not a number
        ({"batchSize": 1}, {"batchSize": "1"}),
        ([1, 2], [1]),
        ("Invalid filter pattern definition.", "Invalid filter pattern definition. Detail."),
        ("<approximate-creation-datetime>", 1_700_000_000_000),  # milliseconds where AWS has seconds
        ("<timestamp:2022-07-13T13:48:01Z>", "2022-07-13T13:48:01.000Z"),  # seconds vs milliseconds
        ("datetime", "2022-07-13T13:48:01Z"),  # botocore did not parse it as a timestamp
        (
            "arn:<partition>:lambda:<region>:111111111111:function:<resource:1>",
            "arn:aws:lambda:us-east-1:999999999999:function:f",
        ),
    ],
)
def test_a_difference_is_a_mismatch(recorded, actual):
    with pytest.raises(Mismatch):
        matches(recorded, actual)


def test_placeholders_match_by_kind_and_stand_for_one_value():
    recorded = {
        "UUID": "<uuid:1>",
        "EventSourceMappingArn": "arn:<partition>:lambda:<region>:111111111111:event-source-mapping:<uuid:1>",
    }
    arn = f"arn:aws:lambda:us-east-1:123456789012:event-source-mapping:{UUID_A}"
    matches(recorded, {"UUID": UUID_A, "EventSourceMappingArn": arn})
    with pytest.raises(Mismatch, match="stood for"):
        matches(recorded, {"UUID": UUID_B, "EventSourceMappingArn": arn})
    with pytest.raises(Mismatch, match="stands for both"):
        matches({"a": "<uuid:1>", "b": "<uuid:2>"}, {"a": UUID_A, "b": UUID_A})


def test_kinds_and_embedded_json():
    comparison = Comparison()
    comparison.check("<approximate-creation-datetime>", 1_700_000_000)
    comparison.check("datetime", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    comparison.check("<timestamp:2022-07-13T13:48:01.000Z>", "2026-11-29T20:00:00.123Z")
    comparison.check({"Pattern": {"eventName": ["INSERT"]}}, {"Pattern": '{"eventName": ["INSERT"]}'})
    with pytest.raises(Mismatch, match="JSON document"):
        comparison.check({"Pattern": {}}, {"Pattern": "not json"})


def test_the_readme_table_lists_every_recorded_case():
    # Regenerate it with report.py (see its docstring) when cases are added.
    import json

    from compare import RECORDINGS

    table = (RECORDINGS.parent / "README.md").read_text()
    for path in sorted(RECORDINGS.glob("*.json")):
        for case_id in json.loads(path.read_text())["cases"]:
            assert f"`{path.stem}:{case_id}`" in table, f"{path.stem}:{case_id} is not in README.md's table"
