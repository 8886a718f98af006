"""ddbstream.events: stream records shaped like the ones Lambda receives."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ddbstream.errors import ExitCode, InvalidInput
from ddbstream.events import make_event, make_stream_record, stream_arn

KEY = {"employeeid": "E1"}


def images(record):
    return {name for name in ("NewImage", "OldImage") if name in record["dynamodb"]}


@pytest.mark.parametrize(
    "view, insert, modify, remove",
    [
        ("KEYS_ONLY", set(), set(), set()),
        ("NEW_IMAGE", {"NewImage"}, {"NewImage"}, set()),
        ("OLD_IMAGE", set(), {"OldImage"}, {"OldImage"}),
        ("NEW_AND_OLD_IMAGES", {"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}),
    ],
)
def test_view_type_decides_the_images(view, insert, modify, remove):
    assert images(make_stream_record("INSERT", KEY, {"a": 1}, view_type=view)) == insert
    assert images(make_stream_record("MODIFY", KEY, {"a": 2}, {"a": 1}, view_type=view)) == modify
    assert images(make_stream_record("REMOVE", KEY, old_image={"a": 1}, view_type=view)) == remove


def test_record_has_the_fields_lambda_sends():
    record = make_stream_record(
        "modify",
        KEY,
        {"name": "Al", "blob": b"\x00\x01", "tags": {"x"}, "n": Decimal("0.1")},
        {"name": "A"},
        sequence_number=4421584500000000017450439091,
        event_id="abc",
        created=1700000000,
        table_name="people",
        region="eu-west-1",
        account="111122223333",
    )
    assert record == {
        "eventID": "abc",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1700000000,
            "Keys": {"employeeid": {"S": "E1"}},
            "NewImage": {
                "employeeid": {"S": "E1"},
                "name": {"S": "Al"},
                "blob": {"B": "AAE="},
                "tags": {"SS": ["x"]},
                "n": {"N": "0.1"},
            },
            "OldImage": {"employeeid": {"S": "E1"}, "name": {"S": "A"}},
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 12 + 32 + 17,  # keys + new image + old image (names + values, as DynamoDB counts)
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:111122223333:table/people/stream/2024-01-01T00:00:00.000",
    }
    assert stream_arn("people", "eu-west-1", "111122223333") == record["eventSourceARN"]


def test_missing_images_hold_the_key_and_ttl_removes_name_the_service():
    record = make_stream_record("REMOVE", KEY, ttl=True, created=datetime(2025, 8, 23, 14, 5, 22, tzinfo=UTC))
    assert record["dynamodb"]["OldImage"] == {"employeeid": {"S": "E1"}}
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1755957922
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_default_sequence_numbers_increase():
    numbers = [make_stream_record("INSERT", KEY)["dynamodb"]["SequenceNumber"] for _ in range(3)]
    assert all(len(n) == 21 and n.isdigit() for n in numbers)
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"event_name": "UPSERT"}, "unknown event name 'UPSERT': use INSERT, MODIFY, REMOVE"),
        (
            {"view_type": "BOTH"},
            "unknown stream view type 'BOTH': use KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES",
        ),
        ({"old_image": {"a": 1}}, "an INSERT has no old image"),
        ({"event_name": "REMOVE", "new_image": {"a": 1}}, "a REMOVE has no new image"),
        ({"new_image": {"employeeid": "E2"}}, "new image has employeeid='E2' but the key says 'E1'"),
        ({"sequence_number": "12a"}, "sequence number must be digits, got '12a'"),
        ({"ttl": True}, "only a REMOVE can come from Time to Live"),
        ({"keys": {}}, "a stream record needs the item's key attributes"),
        ({"new_image": {"price": 1.5}}, "float values are not supported: use Decimal so no digit is lost"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs, message):
    arguments = {"event_name": "INSERT", "keys": KEY, **kwargs}
    with pytest.raises(InvalidInput) as caught:
        make_stream_record(**arguments)
    assert caught.value.message == message
    assert caught.value.exit_code == ExitCode.INVALID_INPUT


def test_make_event_wraps_records():
    first, second = make_stream_record("INSERT", KEY), make_stream_record("REMOVE", KEY)
    assert make_event([first, second]) == {"Records": [first, second]}
