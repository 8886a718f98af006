"""ddbstream.stream_records: the one stream-record codec (Streams API shape and Lambda shape)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from ddbstream.items import item_size
from ddbstream.stream_records import (
    SEQUENCE_NUMBERS,
    VIEW_TYPES,
    SequenceNumbers,
    epoch_seconds,
    event_json,
    event_name_of,
    lambda_record,
    lambda_record_json,
    stream_record,
)

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"
KEYS = {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}}
NEW = {**KEYS, "tags": {"BS": [b"\x02"]}, "n": {"N": "2"}}
OLD = {**KEYS, "n": {"N": "1"}, "nested": {"M": {"l": {"L": [{"B": b"\x03"}]}}}}

# Which images each view type shows, for INSERT, MODIFY and REMOVE.
SHOWN = {
    "KEYS_ONLY": (set(), set(), set()),
    "NEW_IMAGE": ({"NewImage"}, {"NewImage"}, set()),
    "OLD_IMAGE": (set(), {"OldImage"}, {"OldImage"}),
    "NEW_AND_OLD_IMAGES": ({"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}),
}
CHANGES = [("INSERT", None, NEW), ("MODIFY", OLD, NEW), ("REMOVE", OLD, None)]


def record_for(view_type, old, new, ttl=False):
    return stream_record(
        event_name_of(old, new), KEYS, new, old, view_type, 42, created=1700000000, region="eu-west-1", ttl=ttl
    )


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_each_view_type_shows_its_images_in_the_api_shape(view_type):
    for (event_name, old, new), shown in zip(CHANGES, SHOWN[view_type], strict=True):
        record = record_for(view_type, old, new)
        assert list(record) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"]
        assert record["eventName"] == event_name
        assert (record["eventVersion"], record["eventSource"], record["awsRegion"]) == (
            "1.1",
            "aws:dynamodb",
            "eu-west-1",
        )
        assert len(record["eventID"]) == 32
        ddb = record["dynamodb"]
        expected_fields = ["ApproximateCreationDateTime", "Keys"]
        expected_fields += [name for name in ("NewImage", "OldImage") if name in shown]
        expected_fields += ["SequenceNumber", "SizeBytes", "StreamViewType"]
        assert list(ddb) == expected_fields
        assert ddb["ApproximateCreationDateTime"] == 1700000000
        assert ddb["Keys"] is KEYS and ddb["Keys"]["blob"]["B"] == b"\x00\x01"  # the API shape keeps bytes
        assert (ddb["SequenceNumber"], ddb["StreamViewType"]) == ("42", view_type)
        images = {"NewImage": new, "OldImage": old}
        assert ddb["SizeBytes"] == item_size(KEYS) + sum(item_size(images[name]) for name in shown)


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_the_lambda_shape_adds_the_source_and_encodes_binary_values(view_type):
    for _, old, new in CHANGES:
        record = record_for(view_type, old, new)
        event = lambda_record(record, ARN)
        assert list(event) == [
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        ]
        assert event["eventSourceARN"] == ARN
        assert list(event["dynamodb"]) == list(record["dynamodb"])
        assert event["dynamodb"]["Keys"] == {"pk": {"S": "a"}, "blob": {"B": "AAE="}}
        if "NewImage" in event["dynamodb"]:
            assert event["dynamodb"]["NewImage"]["tags"] == {"BS": ["Ag=="]}
        if "OldImage" in event["dynamodb"]:
            assert event["dynamodb"]["OldImage"]["nested"] == {"M": {"l": {"L": [{"B": "Aw=="}]}}}
        json.dumps(event)  # nothing left that JSON cannot carry
        assert record["dynamodb"]["Keys"]["blob"]["B"] == b"\x00\x01"  # the API record is left as it was


def test_a_ttl_deletion_names_the_service_in_each_shape():
    record = record_for("NEW_AND_OLD_IMAGES", OLD, None, ttl=True)
    assert record["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    event = lambda_record(record, ARN)
    assert list(event)[-2:] == ["eventSourceARN", "userIdentity"]
    assert json.dumps(event["userIdentity"]) == '{"type": "Service", "principalId": "dynamodb.amazonaws.com"}'


def test_an_event_id_can_be_given_and_the_event_name_comes_from_the_images():
    record = stream_record("MODIFY", KEYS, NEW, OLD, "KEYS_ONLY", "7", created=1.5, region="r", event_id="e-1")
    assert (record["eventID"], record["dynamodb"]["SequenceNumber"]) == ("e-1", "7")
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1.5
    assert [event_name_of(None, NEW), event_name_of(OLD, NEW), event_name_of(OLD, None)] == [
        "INSERT",
        "MODIFY",
        "REMOVE",
    ]


@pytest.mark.parametrize("view_type", VIEW_TYPES)
@pytest.mark.parametrize("ttl", [False, True])
def test_the_lambda_json_is_the_lambda_shape_encoded(view_type, ttl):
    record = record_for(view_type, OLD, NEW, ttl)
    record["dynamodb"]["ApproximateCreationDateTime"] = datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    assert lambda_record_json(record, ARN) == json.dumps(lambda_record(record, ARN), separators=(",", ":")).encode()


def test_event_ids_are_32_hex_digits_and_differ():
    records = [stream_record("INSERT", KEYS, NEW, None, "KEYS_ONLY", 1, created=0, region="r") for _ in range(50)]
    ids = {record["eventID"] for record in records}
    assert len(ids) == 50 and all(len(i) == 32 and set(i) <= set("0123456789abcdef") for i in ids)


def test_event_json_turns_boto3_values_into_lambda_json():
    whole = datetime(2024, 1, 1, tzinfo=UTC)
    part = datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert event_json({"t": whole, "l": [part, bytearray(b"\x01")], "s": "x"}) == {
        "t": 1704067200,
        "l": [1704067200.25, "AQ=="],
        "s": "x",
    }
    assert isinstance(epoch_seconds(whole), int)


def test_sequence_numbers_have_21_digits_and_only_grow():
    numbers = SequenceNumbers()
    taken: list[int] = []

    def take() -> None:
        for _ in range(500):
            taken.append(numbers.take())

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(taken)) == len(taken) == 2000
    assert all(len(str(number)) >= 21 for number in taken)
    first, second = SEQUENCE_NUMBERS.take(), SEQUENCE_NUMBERS.take()
    assert second > first and SequenceNumbers().take() > first  # a later run starts higher


def test_dlq_hydration_delivers_a_ttl_removal_as_lambda_does():
    """Replayed records match what Lambda delivers: userIdentity as {type, principalId}, after eventSourceARN."""
    from datetime import UTC, datetime

    from ddbstream.dlq import lambda_record as hydrated

    got = {
        "eventID": "1",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 1, tzinfo=UTC),
            "Keys": {"k": {"S": "a"}},
            "SequenceNumber": "100",
            "SizeBytes": 3,
            "StreamViewType": "KEYS_ONLY",
        },
        "userIdentity": {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"},
    }
    event = hydrated(got, "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/s")
    assert list(event)[-2:] == ["eventSourceARN", "userIdentity"]
    assert event["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert event["dynamodb"]["ApproximateCreationDateTime"] == 1767225600
