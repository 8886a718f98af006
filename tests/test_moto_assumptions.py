"""What ddbstream/emulator/streams.py assumes about moto's internals.

A moto release that changes any of this fails here first; then adapt streams.py and the
moto version range in pyproject.toml.
"""

from __future__ import annotations

import inspect

import pytest
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler


def source(function) -> str:
    return inspect.getsource(inspect.unwrap(function))


def test_every_item_change_goes_through_stream_shard_add():
    # Table.put_item / Table.delete_item and the backend's update_item each report a change
    # with StreamShard.add(old, new); batch writes and transactions call those methods.
    assert "self.stream_shard.add(current, item)" in source(Table.put_item)
    assert "self.stream_shard.add(item, None)" in source(Table.delete_item)
    assert list(inspect.signature(StreamShard.add).parameters) == ["self", "old", "new"]
    assert list(inspect.signature(StreamShard.__init__).parameters)[:3] == ["self", "account_id", "table"]


def test_update_of_a_missing_item_writes_twice_which_streams_folds():
    # moto creates the missing item with table.put_item(data) and then reports the update:
    # two changes for one UpdateItem. streams.py folds them into AWS's single INSERT.
    import moto.dynamodb.models as models

    text = inspect.getsource(models)
    body = text[text.index("    def update_item(") :]
    body = body[: body.index("\n    def ", 10)]
    assert "table.put_item(data)" in body
    assert "table.stream_shard.add(orig_item, item)" in body


def test_a_transaction_deep_copies_its_tables_and_restores_them_on_failure():
    # streams.py holds a transaction's changes until transact_write_items returns (a cancelled
    # one writes no record) and makes its Stream survive the deep copy of the table.
    import moto.dynamodb.models as models

    text = inspect.getsource(models)
    body = text[text.index("    def transact_write_items(") :]
    body = body[: body.index("\n    def ", 10)]
    assert "copy.deepcopy(" in body and "self.tables[table_name] = original_table_state[table_name]" in body


def test_re_enabling_a_stream_is_refused_while_a_label_remains():
    # streams.py clears the label of a disabled stream before moto's update_table_streams runs.
    import moto.dynamodb.models as models

    text = inspect.getsource(models)
    body = text[text.index("    def update_table_streams(") :]
    body = body[: body.index("\n    def ", 10)]
    assert "and table.latest_stream_label" in body and "raise StreamAlreadyEnabledException" in body
    assert "table.set_stream_specification(stream_specification)" in body


def test_moto_itself_would_clear_the_stream_and_reuse_sequence_numbers():
    # The behaviour streams.py replaces: numbering by list position and clearing after an ESM.
    from moto.dynamodb.models import table as table_module

    text = inspect.getsource(table_module.StreamShard)
    assert "seq = len(self.items) + self.starting_sequence_number" in text
    assert "self.items = []" in text
    assert "lambda_event_source_mappings" in text


def test_table_attributes_used_by_streams():
    backend = dynamodb_backends["123456789012"]["us-east-1"]
    table = backend.create_table(
        "assumptions",
        schema=[{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
        attr=[{"AttributeName": "k", "AttributeType": "S"}, {"AttributeName": "r", "AttributeType": "S"}],
        throughput=None,
        billing_mode="PAY_PER_REQUEST",
        indexes=None,
        global_indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    try:
        assert table.stream_specification["StreamViewType"] == "NEW_IMAGE"
        assert table.latest_stream_label and table.table_arn.endswith(":table/assumptions")
        assert isinstance(table.stream_shard, StreamShard) and table.stream_shard.table is table
        assert (table.hash_key_attr, table.range_key_attr, table.region_name) == ("k", "r", "us-east-1")
        assert table.schema[0]["AttributeName"] == "k"
        assert table.ttl == {"TimeToLiveStatus": "DISABLED"}
        item = table.put_item({"k": {"S": "a"}, "r": {"S": "b"}, "n": {"N": "1"}})
        assert item.to_json()["Attributes"] == {"k": {"S": "a"}, "r": {"S": "b"}, "n": {"N": "1"}}
        assert item.hash_key.to_json() == {"S": "a"} and item.range_key.to_json() == {"S": "b"}
        assert item.attrs["n"].type == "N" and item.attrs["n"].value == "1"
        assert [i.to_json() for i in table.all_items()] == [item.to_json()]
        assert table.items[item.hash_key][item.range_key] is item  # the layout the TTL sweeper walks
        assert table.delete_item(item.hash_key, item.range_key) is item
        backend.update_time_to_live("assumptions", {"Enabled": True, "AttributeName": "exp"})
        assert table.ttl["TimeToLiveStatus"] == "ENABLED" and table.ttl["AttributeName"] == "exp"
    finally:
        backend.delete_table("assumptions")


def test_moto_never_expires_ttl_items_itself():
    # streams.py runs its own TTL sweeper; moto must keep an expired item until someone deletes it.
    backend = dynamodb_backends["123456789012"]["us-east-1"]
    table = backend.create_table(
        "assumptions-ttl",
        schema=[{"AttributeName": "k", "KeyType": "HASH"}],
        attr=[{"AttributeName": "k", "AttributeType": "S"}],
        throughput=None,
        billing_mode="PAY_PER_REQUEST",
        indexes=None,
        global_indexes=None,
        streams=None,
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    try:
        backend.update_time_to_live("assumptions-ttl", {"Enabled": True, "AttributeName": "exp"})
        table.put_item({"k": {"S": "a"}, "exp": {"N": "1"}})
        assert backend.get_item("assumptions-ttl", {"k": {"S": "a"}}) is not None
        assert len(table.all_items()) == 1
    finally:
        backend.delete_table("assumptions-ttl")


@pytest.mark.parametrize("name", ["describe_stream", "get_shard_iterator", "get_records"])
def test_streams_api_handler_methods(name):
    # streams.py replaces these DynamoDBStreamsHandler methods (they take only self, read
    # _get_param and return an ActionResult); read moto's own source, not the patched class.
    from moto.dynamodbstreams import responses

    text = inspect.getsource(responses)
    assert f"    def {name}(self) -> ActionResult:" in text
    assert callable(DynamoDBStreamsHandler._get_param)


def test_json_errors_render_with_the_short_code():
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException", "gone")
    assert error.relative_error_type == "TrimmedDataAccessException"
    assert '"message": "gone"' in error.get_body()


def test_malformed_expressions_surface_as_value_errors_from_the_parser():
    # streams.py turns ValueError from ConditionExpressionParser.parse into a ValidationException.
    from moto.dynamodb.comparisons import ConditionExpressionParser

    assert list(inspect.signature(ConditionExpressionParser.parse).parameters) == ["self"]
    parser = ConditionExpressionParser("attribute_exists(", {}, {})
    with pytest.raises(Exception) as excinfo:
        inspect.unwrap(ConditionExpressionParser.parse)(parser)
    assert isinstance(excinfo.value, ValueError) or excinfo.value.__class__.__name__ == "MockValidationException"
