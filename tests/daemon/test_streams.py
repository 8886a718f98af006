"""Stream fidelity in the daemon: the DynamoDB Streams API as AWS documents it."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError
from esm_support import InThreadDaemon, wait_until

from ddbstream.emulator import streams


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


def shard_iterator(daemon, arn, kind, sequence=None):
    client = daemon.client("dynamodbstreams")
    shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    extra = {"SequenceNumber": sequence} if sequence else {}
    return client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)["ShardIterator"]


def read_all(daemon, arn, kind="TRIM_HORIZON", sequence=None):
    client = daemon.client("dynamodbstreams")
    iterator = shard_iterator(daemon, arn, kind, sequence)
    records = []
    while True:
        page = client.get_records(ShardIterator=iterator, Limit=1000)
        records += page["Records"]
        if not page["Records"] or "NextShardIterator" not in page:  # caught up, or a closed shard read to its end
            return records
        iterator = page["NextShardIterator"]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_sequence_numbers_increase_and_are_never_reused(daemon):
    table, arn = daemon.table()
    for n in range(30):
        daemon.put(table, f"k{n % 3}", v=n)
    first = read_all(daemon, arn)
    second = read_all(daemon, arn)  # a second consumer sees the very same records
    numbers = [r["dynamodb"]["SequenceNumber"] for r in first]
    assert len(numbers) == 30
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
    assert all(len(n) >= 21 and n.isdigit() for n in numbers)
    assert [r["eventID"] for r in second] == [r["eventID"] for r in first]
    daemon.put(table, "later", v=1)
    assert int(read_all(daemon, arn)[-1]["dynamodb"]["SequenceNumber"]) > int(numbers[-1])


def test_record_shape_insert_modify_remove(daemon):
    table, arn = daemon.table()
    before = int(time.time())
    daemon.put(table, "a", v=1)
    daemon.put(table, "a", v=2)
    daemon.client("dynamodb").delete_item(TableName=table, Key={"k": {"S": "a"}})
    insert, modify, remove = read_all(daemon, arn)
    assert [insert["eventName"], modify["eventName"], remove["eventName"]] == ["INSERT", "MODIFY", "REMOVE"]
    for record in (insert, modify, remove):
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == "us-east-1"
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert record["dynamodb"]["Keys"] == {"k": {"S": "a"}}
        assert record["dynamodb"]["ApproximateCreationDateTime"].timestamp() >= before
        assert "userIdentity" not in record
    assert insert["dynamodb"]["NewImage"] == {"k": {"S": "a"}, "v": {"N": "1"}} and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert remove["dynamodb"]["OldImage"]["v"] == {"N": "2"} and "NewImage" not in remove["dynamodb"]
    assert insert["dynamodb"]["SizeBytes"] > 0


@pytest.mark.parametrize(
    "view_type, images",
    [
        ("KEYS_ONLY", set()),
        ("NEW_IMAGE", {"NewImage"}),
        ("OLD_IMAGE", {"OldImage"}),
        ("NEW_AND_OLD_IMAGES", {"NewImage", "OldImage"}),
    ],
)
def test_view_type_decides_images(daemon, view_type, images):
    table, arn = daemon.table(view_type)
    daemon.put(table, "a", v=1)
    daemon.put(table, "a", v=2)
    modify = read_all(daemon, arn)[1]
    assert modify["eventName"] == "MODIFY"
    assert {"NewImage", "OldImage"} & set(modify["dynamodb"]) == images
    assert modify["dynamodb"]["StreamViewType"] == view_type


def test_update_of_a_missing_item_is_one_insert_and_a_no_op_write_is_no_record(daemon):
    table, arn = daemon.table()
    client = daemon.client("dynamodb")
    client.update_item(
        TableName=table,
        Key={"k": {"S": "u"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "5"}},
    )
    daemon.put(table, "u", v=5)  # the same item again: nothing changes, no record
    client.update_item(
        TableName=table,
        Key={"k": {"S": "u"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "6"}},
    )
    records = read_all(daemon, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert records[0]["dynamodb"]["NewImage"] == {"k": {"S": "u"}, "v": {"N": "5"}}
    assert records[1]["dynamodb"]["OldImage"]["v"] == {"N": "5"}


def test_iterator_types(daemon):
    table, arn = daemon.table()
    for n in range(5):
        daemon.put(table, f"k{n}")
    records = read_all(daemon, arn)
    numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert [
        r["dynamodb"]["SequenceNumber"] for r in read_all(daemon, arn, "AT_SEQUENCE_NUMBER", numbers[2])
    ] == numbers[2:]
    assert [
        r["dynamodb"]["SequenceNumber"] for r in read_all(daemon, arn, "AFTER_SEQUENCE_NUMBER", numbers[2])
    ] == numbers[3:]
    client = daemon.client("dynamodbstreams")
    latest = shard_iterator(daemon, arn, "LATEST")
    assert client.get_records(ShardIterator=latest)["Records"] == []
    daemon.put(table, "after-latest")
    page = client.get_records(ShardIterator=latest)
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in page["Records"]] == ["after-latest"]
    assert client.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []
    # An iterator can be used again until it expires, and Limit is honoured.
    first = shard_iterator(daemon, arn, "TRIM_HORIZON")
    assert len(client.get_records(ShardIterator=first, Limit=2)["Records"]) == 2
    assert len(client.get_records(ShardIterator=first, Limit=2)["Records"]) == 2


def test_describe_stream(daemon):
    table, arn = daemon.table("NEW_IMAGE", range_key=True)
    description = daemon.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamArn"] == arn
    assert description["StreamStatus"] == "ENABLED"
    assert description["StreamViewType"] == "NEW_IMAGE"
    assert description["TableName"] == table
    assert description["KeySchema"] == [
        {"AttributeName": "k", "KeyType": "HASH"},
        {"AttributeName": "r", "KeyType": "RANGE"},
    ]
    (shard,) = description["Shards"]
    assert shard["ShardId"].startswith("shardId-")
    assert len(shard["SequenceNumberRange"]["StartingSequenceNumber"]) >= 21


def test_errors(daemon):
    table, arn = daemon.table()
    daemon.put(table, "a")
    client = daemon.client("dynamodbstreams")
    with pytest.raises(ClientError) as excinfo:
        client.get_records(ShardIterator="not-an-iterator")
    assert error_code(excinfo) == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        client.describe_stream(StreamArn=arn.replace(table, "no-such-table"))
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        shard_iterator(daemon, arn, "AT_SEQUENCE_NUMBER", "9" * 30)
    assert error_code(excinfo) == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        client.get_shard_iterator(
            StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST"
        )
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_expired_iterator(daemon, monkeypatch):
    table, arn = daemon.table()
    iterator = shard_iterator(daemon, arn, "TRIM_HORIZON")
    monkeypatch.setattr(streams.api, "ITERATOR_LIFETIME_SECONDS", -1.0)
    with pytest.raises(ClientError) as excinfo:
        daemon.client("dynamodbstreams").get_records(ShardIterator=iterator)
    assert error_code(excinfo) == "ExpiredIteratorException"


def test_records_are_kept_for_the_retention_period_then_trimmed(daemon, monkeypatch):
    table, arn = daemon.table()
    daemon.put(table, "old")
    old_iterator = shard_iterator(daemon, arn, "TRIM_HORIZON")
    old_number = read_all(daemon, arn)[0]["dynamodb"]["SequenceNumber"]
    monkeypatch.setenv(streams.RETENTION_ENV, "0.2")
    wait_until(lambda: daemon.stream(arn).is_trimmed(0), message="the record to pass the retention period")
    daemon.put(table, "new")
    client = daemon.client("dynamodbstreams")
    with pytest.raises(ClientError) as excinfo:
        client.get_records(ShardIterator=old_iterator)
    assert error_code(excinfo) == "TrimmedDataAccessException"
    with pytest.raises(ClientError) as excinfo:
        shard_iterator(daemon, arn, "AT_SEQUENCE_NUMBER", old_number)
    assert error_code(excinfo) == "TrimmedDataAccessException"
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in read_all(daemon, arn)] == ["new"]


def test_ttl_deletions_carry_the_service_identity(daemon):
    table, arn = daemon.table()
    client = daemon.client("dynamodb")
    client.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    now = int(time.time())
    daemon.put(table, "expired", expires=now - 10)
    daemon.put(table, "alive", expires=now + 3600)
    daemon.put(table, "ancient", expires=now - 6 * 365 * 24 * 3600)  # AWS leaves items expired > 5 years ago
    daemon.put(table, "no-ttl")
    daemon.client("dynamodb").delete_item(TableName=table, Key={"k": {"S": "no-ttl"}})  # a user's delete
    wait_until(
        lambda: "Item" not in client.get_item(TableName=table, Key={"k": {"S": "expired"}}),
        message="the TTL sweeper to delete the expired item",
    )
    assert "Item" in client.get_item(TableName=table, Key={"k": {"S": "alive"}})
    assert "Item" in client.get_item(TableName=table, Key={"k": {"S": "ancient"}})
    removes = [r for r in read_all(daemon, arn) if r["eventName"] == "REMOVE"]
    by_key = {r["dynamodb"]["Keys"]["k"]["S"]: r for r in removes}
    assert set(by_key) == {"expired", "no-ttl"}
    assert by_key["expired"]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert "userIdentity" not in by_key["no-ttl"]
    # The Lambda rendering of the same record uses Lambda's field names.
    record = next(r for r in daemon.stream(arn).read(0, 100) if r.data.get("userIdentity"))
    assert record.event["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert record.event["eventSourceARN"] == arn


def test_a_write_wakes_a_waiting_reader(daemon):
    table, arn = daemon.table()
    stream = daemon.stream(arn)
    position = stream.end_index
    woke = threading.Event()

    def reader():
        if stream.wait(position, timeout=30):
            woke.set()

    thread = threading.Thread(target=reader)
    thread.start()
    daemon.put(table, "wake")
    thread.join(timeout=10)
    assert woke.is_set()
    assert stream.read(position, 10)[0].data["dynamodb"]["Keys"] == {"k": {"S": "wake"}}


def test_a_deleted_tables_stream_stays_readable_and_is_disabled(daemon):
    table, arn = daemon.table()
    daemon.put(table, "kept")
    daemon.client("dynamodb").delete_table(TableName=table)
    description = daemon.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in description["Shards"][0]["SequenceNumberRange"]
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in read_all(daemon, arn)] == ["kept"]
    client = daemon.client("dynamodbstreams")
    page = client.get_records(ShardIterator=shard_iterator(daemon, arn, "TRIM_HORIZON"))
    assert len(page["Records"]) == 1 and "NextShardIterator" not in page  # the closed shard ends there


def test_batch_writes_and_transactions_are_streamed(daemon):
    table, arn = daemon.table()
    client = daemon.client("dynamodb")
    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"k": {"S": f"b{n}"}}}} for n in range(3)]})
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": {"k": {"S": "b0"}},
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": table, "Key": {"k": {"S": "b1"}}}},
        ]
    )
    records = read_all(daemon, arn)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["k"]["S"]) for r in records] == [
        ("INSERT", "b0"),
        ("INSERT", "b1"),
        ("INSERT", "b2"),
        ("MODIFY", "b0"),
        ("REMOVE", "b1"),
    ]
    assert records[3]["dynamodb"]["NewImage"] == {"k": {"S": "b0"}, "v": {"N": "1"}}


def test_a_cancelled_transaction_writes_no_record(daemon):
    table, arn = daemon.table()
    daemon.put(table, "a", v=1)
    client = daemon.client("dynamodb")
    with pytest.raises(ClientError) as excinfo:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"k": {"S": "b"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"k": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                },
            ]
        )
    assert error_code(excinfo) == "TransactionCanceledException"
    assert "Item" not in client.get_item(TableName=table, Key={"k": {"S": "b"}})
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in read_all(daemon, arn)] == ["a"]
    daemon.put(table, "c")  # the stream goes on after the rollback
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in read_all(daemon, arn)] == ["a", "c"]


def test_disabling_closes_the_stream_and_enabling_starts_a_new_one(daemon):
    table, arn = daemon.table()
    client = daemon.client("dynamodb")
    daemon.put(table, "before")
    client.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    daemon.put(table, "while-disabled")
    streams_api = daemon.client("dynamodbstreams")
    old = streams_api.describe_stream(StreamArn=arn)["StreamDescription"]
    assert old["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in old["Shards"][0]["SequenceNumberRange"]
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in read_all(daemon, arn)] == ["before"]
    client.update_table(TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    new_arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    assert new_arn != arn
    daemon.put(table, "after")
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in read_all(daemon, new_arn)] == ["after"]
    assert streams_api.describe_stream(StreamArn=new_arn)["StreamDescription"]["StreamViewType"] == "KEYS_ONLY"


def test_binary_keys_and_attributes_are_streamed(daemon):
    dynamodb = daemon.client("dynamodb")
    arn = dynamodb.create_table(
        TableName="binary-keys",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "B"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    item = {
        "k": {"B": b"\x00\x01"},
        "blob": {"B": b"\xff"},
        "set": {"BS": [b"a", b"b"]},
        "nested": {"M": {"inner": {"B": b"x"}}},
    }
    dynamodb.put_item(TableName="binary-keys", Item=item)
    dynamodb.delete_item(TableName="binary-keys", Key={"k": {"B": b"\x00\x01"}})
    records = read_all(daemon, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert records[0]["dynamodb"]["Keys"] == {"k": {"B": b"\x00\x01"}}
    assert records[0]["dynamodb"]["NewImage"] == item
    assert records[1]["dynamodb"]["OldImage"] == item


REFUSED = [
    ({"": {"N": "1"}}, "an attribute name is empty"),
    ({"s": {"SS": ["x", "x"]}}, "Input collection [x, x] contains duplicates."),
    ({"m": {"M": {"n": {"NS": ["1", "1.0"]}}}}, "Input collection contains duplicates"),  # AWS's texts
    ({"b": {"L": [{"BS": [b"a", b"a"]}]}}, "Input collection [YQ==, YQ==]of type BS contains duplicates."),
]
# An update names its attributes in the expression (where moto already refuses an empty one):
# only the values can carry a repeated set member.
WRITES = [(write, *case) for write in ("put", "batch", "transact") for case in REFUSED] + [
    ("update", *case) for case in REFUSED if "" not in case[0]
]


@pytest.mark.parametrize("write, attributes, message", WRITES)
def test_what_dynamodb_refuses_is_refused_and_streams_nothing(daemon, write, attributes, message):
    """moto stores these and then serves them mangled (an empty name comes back as a top-level
    "N": "1"), which breaks every reader of the item and of its stream records."""
    table, arn = daemon.table()
    client = daemon.client("dynamodb")
    item = {"k": {"S": "a"}, **attributes}
    calls = {
        "put": lambda: client.put_item(TableName=table, Item=item),
        "batch": lambda: client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]}),
        "transact": lambda: client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}]),
        "update": lambda: client.update_item(
            TableName=table,
            Key={"k": {"S": "a"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": next(iter(attributes.values()))},
        ),
    }
    with pytest.raises(ClientError) as excinfo:
        calls[write]()
    assert error_code(excinfo) == "ValidationException"
    assert message in str(excinfo.value)
    assert "Item" not in client.get_item(TableName=table, Key={"k": {"S": "a"}})
    assert read_all(daemon, arn) == []
