"""DescribeStream, GetShardIterator and GetRecords (every field of a stream record, per view type and
write API), against AWS's recordings: tests/conformance/recordings/streams_api.json (LocalStack's
AWS-validated ``test_dynamodb`` and ``test_dynamodb_streams`` snapshots; each case names its key).
"""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError
from compare import Comparison, case, matches, response
from esm_support import wait_until
from recorded_pipelines import events, function

RECORDED = "streams_api"
THROUGHPUT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def table(daemon, key: str, view: str | None) -> tuple[str, str | None]:
    """A provisioned table as the recorded tests made it: (name, stream ARN or None)."""
    name = f"test-ddb-table-{uuid.uuid4().hex[:8]}"
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}} if view else {}
    created = daemon.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        ProvisionedThroughput=THROUGHPUT,
        **extra,
    )["TableDescription"]
    return name, created.get("LatestStreamArn")


def all_records(daemon, iterator: str, count: int) -> dict:
    """GetRecords from ``iterator`` until ``count`` records came (as the recorded tests read them)."""
    streams = daemon.client("dynamodbstreams")
    records: list[dict] = []
    for _ in range(20):
        answer = streams.get_records(ShardIterator=iterator)
        records.extend(answer["Records"])
        iterator = answer.get("NextShardIterator")
        if len(records) >= count or iterator is None:
            break
    return {"Records": records}


class Recorded:
    """One recorded test: its cases compared with shared placeholder bindings."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.comparison = Comparison()

    def check(self, entry: str, actual) -> None:
        self.comparison.check(case(RECORDED, self.prefix + entry)["recorded"], actual)


def test_keys_only_stream_with_item_and_partiql_writes(daemon):
    ddb, streams = daemon.client("dynamodb"), daemon.client("dynamodbstreams")
    recorded = Recorded("keys_only_")
    name, arn = table(daemon, "Username", "KEYS_ONLY")
    fred = {"Username": {"S": "Fred"}}
    ddb.put_item(TableName=name, Item=fred)
    ddb.put_item(TableName=name, Item=fred)  # unchanged: no record
    ddb.update_item(
        TableName=name,
        Key=fred,
        UpdateExpression="set S=:r",
        ExpressionAttributeValues={":r": {"S": "Fred_Modified"}},
        ReturnValues="UPDATED_NEW",
    )
    ddb.delete_item(TableName=name, Key=fred)
    described = streams.describe_stream(StreamArn=arn)
    recorded.check("describe-stream", response(described))
    ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'Username': 'Alice'}}")
    # The recorded statement says ``SET partiql=1``; moto's PartiQL parser takes no unquoted number
    # (README, "Where the local target differs"), so the same number goes as a parameter.
    ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET partiql=? WHERE Username='Alice'", Parameters=[{"N": "1"}])
    ddb.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE Username='Alice'")
    shard = described["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn,
        ShardId=shard["ShardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=shard["SequenceNumberRange"]["StartingSequenceNumber"],
    )
    recorded.check("get-shard-iterator", response(iterator))
    recorded.check("get-records", all_records(daemon, iterator["ShardIterator"], 6))


def _trim_horizon(daemon, arn: str, recorded: Recorded) -> str:
    streams = daemon.client("dynamodbstreams")
    described = streams.describe_stream(StreamArn=arn)
    recorded.check("describe-stream", response(described))
    shard = described["StreamDescription"]["Shards"][0]["ShardId"]
    return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]


def test_batch_write_records(daemon):
    ddb = daemon.client("dynamodb")
    recorded = Recorded("batch_write_")
    name, arn = table(daemon, "id", "NEW_AND_OLD_IMAGES")
    iterator = _trim_horizon(daemon, arn, recorded)
    recorded.check("put-item-1", response(ddb.put_item(TableName=name, Item={"id": {"S": "Fred"}})))
    overwrite = [{"PutRequest": {"Item": {"id": {"S": "Fred"}}}}, {"PutRequest": {"Item": {"id": {"S": "NewKey"}}}}]
    recorded.check(
        "batch-write-response-overwrite-item-1", response(ddb.batch_write_item(RequestItems={name: overwrite}))
    )
    delete = [
        {"DeleteRequest": {"Key": {"id": {"S": "NewKey"}}}},
        {"PutRequest": {"Item": {"id": {"S": "Fred"}, "name": {"S": "Fred"}}}},
    ]
    recorded.check("batch-write-response-delete", response(ddb.batch_write_item(RequestItems={name: delete})))
    # A stream orders the records of each item; those of different items in one BatchWriteItem have
    # no order (moto writes a batch's puts before its deletes): compared item by item.
    recorded.comparison.check(
        by_item(case(RECORDED, "batch_write_get-records")["recorded"]), by_item(all_records(daemon, iterator, 4))
    )


def by_item(records: dict) -> dict:
    """The records sorted by item key (stable: each item's own records keep their order)."""
    return {"Records": sorted(records["Records"], key=lambda r: r["dynamodb"]["Keys"]["id"]["S"])}


def _update(name: str, key: str, **values: str) -> dict:
    expression = "SET " + ", ".join(f"{attribute} = :v{i}" for i, attribute in enumerate(values, 1))
    bound = {f":v{i}": {"S": value} for i, value in enumerate(values.values(), 1)}
    return {
        "Update": {
            "TableName": name,
            "Key": {"id": {"S": key}},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": bound,
        }
    }


def test_transact_write_records(daemon):
    ddb = daemon.client("dynamodb")
    recorded = Recorded("transact_")
    name, arn = table(daemon, "id", "NEW_AND_OLD_IMAGES")
    iterator = _trim_horizon(daemon, arn, recorded)
    recorded.check("put-item-1", response(ddb.put_item(TableName=name, Item={"id": {"S": "Fred"}})))
    put = [{"Put": {"TableName": name, "Item": {"id": {"S": key}}}} for key in ("Fred", "NewKey")]
    recorded.check("transact-write-response-overwrite", response(ddb.transact_write_items(TransactItems=put)))
    update = [_update(name, "NewKey", attr1="value1", attr2="value2")]
    recorded.check("transact-write-response-update", response(ddb.transact_write_items(TransactItems=update)))
    insert = [_update(name, "NonExistentKey", attr1="value1")]
    recorded.check("transact-write-update-insert", response(ddb.transact_write_items(TransactItems=insert)))
    mixed = [
        {"Delete": {"TableName": name, "Key": {"id": {"S": "NewKey"}}}},
        {"Put": {"TableName": name, "Item": {"id": {"S": "Fred"}, "name": {"S": "Fred"}}}},
        _update(name, "NonExistentKey", attr1="value1"),
    ]
    recorded.check("transact-write-response-delete", response(ddb.transact_write_items(TransactItems=mixed)))
    recorded.check("get-records", all_records(daemon, iterator, 6))


def test_transaction_over_a_table_with_and_one_without_a_stream(daemon):
    recorded = Recorded("two_tables_")
    streaming, arn = table(daemon, "id", "NEW_AND_OLD_IMAGES")
    silent, _ = table(daemon, "id", None)
    iterator = _trim_horizon(daemon, arn, recorded)
    put = [{"Put": {"TableName": t, "Item": {"id": {"S": "Fred"}}}} for t in (silent, streaming)]
    recorded.check(
        "transact-write-two-tables", response(daemon.client("dynamodb").transact_write_items(TransactItems=put))
    )
    recorded.check("get-records", all_records(daemon, iterator, 1))


def test_update_item_records(daemon):
    ddb, streams = daemon.client("dynamodb"), daemon.client("dynamodbstreams")
    recorded = Recorded("update_item_")
    name, arn = table(daemon, "id", "NEW_AND_OLD_IMAGES")
    described = streams.describe_stream(StreamArn=arn)
    recorded.check("describe-stream", response(described))
    shard = described["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    recorded.check("get-shard-iterator", response(iterator))
    for first, second in (("value1", "value2"), ("value1", "value2"), ("value2", "value3")):
        ddb.update_item(
            TableName=name,
            Key={"id": {"S": "my-item-id"}},
            UpdateExpression="SET attr1 = :v1, attr2 = :v2",
            ExpressionAttributeValues={":v1": {"S": first}, ":v2": {"S": second}},
        )
    records = all_records(daemon, iterator["ShardIterator"], 2)
    recorded.check("get-records", records)
    for record in records["Records"]:  # the recorded test's own check: whole seconds
        assert record["dynamodb"]["ApproximateCreationDateTime"].microsecond == 0


def test_describe_a_stream_that_does_not_exist(daemon):
    missing = "arn:aws:dynamodb:us-east-1:123456789012:table/no-table/stream/2024-11-18T14:36:44.149"
    with pytest.raises(ClientError) as raised:
        daemon.client("dynamodbstreams").describe_stream(StreamArn=missing)
    recorded = case(RECORDED, "non_existent_stream")["recorded"]
    matches(recorded, response(raised.value.response))


def test_time_to_live_deletion_names_its_identity(daemon):
    """Documented, not recorded: tests/conformance/recordings/documented.json (AWS API reference)."""
    ddb = daemon.client("dynamodb")
    name, arn = table(daemon, "id", "NEW_AND_OLD_IMAGES")
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    handler = function(daemon)
    daemon.client("lambda").create_event_source_mapping(
        FunctionName=handler, EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=10
    )
    expired = str(int(time.time()) - 10)
    ddb.put_item(TableName=name, Item={"id": {"S": "gone"}, "expires": {"N": expired}})
    removed = wait_until(
        lambda: [r for e in events(daemon, handler) for r in e["Records"] if r["eventName"] == "REMOVE"],
        30,
        message="the Time to Live deletion's record",
    )
    matches(case("documented", "ttl_remove_identity_in_event")["recorded"], removed[0]["userIdentity"])
    shard = daemon.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = daemon.client("dynamodbstreams").get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    (record,) = [r for r in all_records(daemon, iterator, 2)["Records"] if r["eventName"] == "REMOVE"]
    matches(case("documented", "ttl_remove_identity_in_get_records")["recorded"], record["userIdentity"])
