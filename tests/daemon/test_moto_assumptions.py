"""What the daemon assumes about moto's internals, module by module.

Every module of ours that reaches into moto beyond its HTTP API is covered here:
- emulator/streams (moto_patches, checks, answers, ttl): the table and stream internals it patches,
  and the answers it corrects to AWS's recorded ones (tests/conformance);
- emulator/server: moto's WSGI dispatcher, its request handler and the warm-up;
- emulator/store: moto's clock and random source it fixes, the SQS deletion it journals;
- emulator/esm (api, target): the Lambda backend it resolves functions in, and the SQS and
  SNS backends it delivers OnFailure records to in-process;
- emulator/runtime (moto_backends, logs): the Lambda and logs backends Invoke reads and writes.

A moto release that changes any of this fails here first; then adapt the module named in the
failing test and the moto version range in pyproject.toml.
"""

from __future__ import annotations

import base64
import inspect
import json
import threading
import time
import uuid

import pytest
from moto.backends import get_backend
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

ACCOUNT = "123456789012"
REGION = "us-east-1"


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
    # two changes for one UpdateItem. The streams package folds them into AWS's single INSERT.
    import moto.dynamodb.models as models

    text = inspect.getsource(models)
    body = text[text.index("    def update_item(") :]
    body = body[: body.index("\n    def ", 10)]
    assert "table.put_item(data)" in body
    assert "table.stream_shard.add(orig_item, item)" in body


def test_a_transaction_deep_copies_its_tables_and_restores_them_on_failure():
    # The streams package holds a transaction's changes until transact_write_items returns (a cancelled
    # one writes no record) and makes its Stream survive the deep copy of the table.
    import moto.dynamodb.models as models

    text = inspect.getsource(models)
    body = text[text.index("    def transact_write_items(") :]
    body = body[: body.index("\n    def ", 10)]
    assert "copy.deepcopy(" in body and "self.tables[table_name] = original_table_state[table_name]" in body


def test_re_enabling_a_stream_is_refused_while_a_label_remains():
    # The streams package clears the label of a disabled stream before moto's update_table_streams runs.
    import moto.dynamodb.models as models

    text = inspect.getsource(models)
    body = text[text.index("    def update_table_streams(") :]
    body = body[: body.index("\n    def ", 10)]
    assert "and table.latest_stream_label" in body and "raise StreamAlreadyEnabledException" in body
    assert "table.set_stream_specification(stream_specification)" in body


def test_moto_itself_would_clear_the_stream_and_reuse_sequence_numbers():
    # The behaviour the streams package replaces: numbering by list position and clearing after an ESM.
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
    # The streams package runs its own TTL sweeper; moto must keep an expired item until someone deletes it.
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
    # The streams package replaces these DynamoDBStreamsHandler methods (they take only self, read
    # _get_param and return an ActionResult); read moto's own source, not the patched class.
    from moto.dynamodbstreams import responses

    text = inspect.getsource(responses)
    assert f"    def {name}(self) -> ActionResult:" in text
    assert callable(DynamoDBStreamsHandler._get_param)


# ---------------------------------------------------------------- streams/answers.py and checks.py
# What moto answers where AWS's recorded answers differ (tests/conformance): read in moto's own
# source, not in the patched classes. A failure here means moto changed: drop or adapt the fix.


def _moto_source(module_name: str) -> str:
    import importlib

    return inspect.getsource(importlib.import_module(module_name))


def _method(text: str, name: str) -> str:
    body = text[text.index(f"    def {name}(") :]
    return body[: body.index("\n    def ", 10)]


def test_a_condition_failure_with_the_old_item_writes_a_lowercase_message():
    text = _moto_source("moto.dynamodb.exceptions")
    failed = text[text.index("class ConditionalCheckFailed(") :]
    failed = failed[: failed.index("\nclass ")]
    assert '"message": _msg,\n                    "Item": item,' in failed  # answers.py renames it "Message"


def test_writes_answer_capacity_and_metrics_unasked():
    text = _moto_source("moto.dynamodb.responses")
    assert '"ItemCollectionMetrics": {},' in _method(text, "batch_write_item")
    assert 'response: dict[str, Any] = {"ConsumedCapacity": [], "ItemCollectionMetrics": {}}' in _method(
        text, "transact_write_items"
    )
    assert "return ActionResult(response)" in _method(text, "transact_write_items")


def test_a_missing_table_is_not_named_when_deleted():
    text = _moto_source("moto.dynamodb.models")
    assert "table_for_deletion = self.get_table(name)" in _method(text, "delete_table")
    assert "raise ResourceNotFoundException()" in _method(text, "get_table")


def test_put_item_refuses_empty_keys_and_sets_in_its_handler_before_the_backend():
    # checks.validated_put_request runs before these, so AWS's texts win.
    body = _method(_moto_source("moto.dynamodb.responses"), "put_item")
    assert body.index("validate_put_has_empty_keys(item, table)") < body.index("self.dynamodb_backend.put_item(")


def test_a_stream_label_is_made_with_microseconds_just_before_its_shard():
    # moto_patches shortens it to AWS's milliseconds as the shard is made.
    body = _method(_moto_source("moto.dynamodb.models.table"), "set_stream_specification")
    assert body.index("self.latest_stream_label = utcnow().isoformat()") < body.index("StreamShard(")


def test_json_errors_render_with_the_short_code():
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException", "gone")
    assert error.relative_error_type == "TrimmedDataAccessException"
    assert '"message": "gone"' in error.get_body()


def test_malformed_expressions_surface_as_value_errors_from_the_parser():
    # The streams package turns ValueError from ConditionExpressionParser.parse into a ValidationException.
    from moto.dynamodb.comparisons import ConditionExpressionParser

    assert list(inspect.signature(ConditionExpressionParser.parse).parameters) == ["self"]
    parser = ConditionExpressionParser("attribute_exists(", {}, {})
    with pytest.raises(Exception) as excinfo:
        inspect.unwrap(ConditionExpressionParser.parse)(parser)
    assert isinstance(excinfo.value, ValueError) or excinfo.value.__class__.__name__ == "MockValidationException"


def test_a_member_of_a_string_is_a_path_moto_would_create_and_then_ignores():
    # checks.document_path_checked refuses it before an update action runs, as DynamoDB does.
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing.ast_nodes import UpdateExpressionPath
    from moto.dynamodb.parsing.executors import AddExecutor, DeleteExecutor, NodeExecutor, RemoveExecutor, SetExecutor
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import ExpressionPathResolver

    nodes = [UpdateExpressionParser.make("SET b.a = :v")]
    while not isinstance(nodes[0], UpdateExpressionPath):
        nodes = [
            child for node in nodes for child in getattr(node, "children", None) or [] if hasattr(child, "children")
        ]
    path = nodes[0].children
    item = Item(DynamoType({"S": "k"}), None, {"a": {"S": "k"}, "b": {"S": "x"}})
    assert type(ExpressionPathResolver({}).resolve_expression_path_nodes(item, path)).__name__ == "NoneExistingPath"
    item.attrs["b"]["a"] = DynamoType({"S": "v"})  # what SetExecutor.set does with it: nothing
    assert item.to_json()["Attributes"]["b"] == {"S": "x"}
    for executor in (SetExecutor, RemoveExecutor, AddExecutor, DeleteExecutor):
        assert list(inspect.signature(inspect.unwrap(executor.execute)).parameters) == ["self", "item"]
    assert hasattr(NodeExecutor, "get_path_expression_nodes") and hasattr(NodeExecutor, "get_item_part_for_path_nodes")


# ---------------------------------------------------------------- emulator/server


def test_the_dispatcher_keeps_one_app_per_service_under_a_lock():
    # dispatch.MotoDispatch fills DomainDispatcherApplication.app_instances itself, under its lock.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    dispatcher = DomainDispatcherApplication(create_backend_app)
    assert isinstance(dispatcher.lock, type(threading.Lock())) and dispatcher.app_instances == {}
    assert callable(dispatcher.get_application)


def test_warm_up_loads_every_pipeline_service():
    from ddbstream.emulator.server import PIPELINE_SERVICES, Emulator, warm_up

    emulator = Emulator()
    warm_up(emulator).join(60)
    assert set(emulator.moto_app.domains.app_instances) == set(PIPELINE_SERVICES)
    for service in PIPELINE_SERVICES:  # a regional backend, or the partition's for a global service
        assert {REGION, "aws"} & set(get_backend(service)[ACCOUNT].keys()), service


def test_the_request_handler_is_one_werkzeug_serves_with():
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import WSGIRequestHandler

    assert issubclass(MotoRequestHandler, WSGIRequestHandler)


# ---------------------------------------------------------------- emulator/store


def test_moto_takes_its_time_and_randomness_where_the_store_freezes_and_seeds_them():
    # store/context.py: moto.core.utils.utcnow reads that module's `datetime` (replaced by a
    # clock that answers the running effect's time), and mock_random's ids all come from
    # getrandbits (answered by the effect's seeded generator).
    import moto.core.utils as moto_utils
    from moto.moto_api._internal import mock_random

    from ddbstream.emulator.store.context import running

    def made() -> tuple:
        return (moto_utils.utcnow(), moto_utils.unix_time_millis(), mock_random.uuid4(), mock_random.get_random_hex(8))

    with running(1_000_000.5, 7):
        first = made()
    with running(1_000_000.5, 7):
        assert made() == first
    assert first[1] == 1_000_000_500
    assert moto_utils.utcnow() > first[0]  # outside an effect: the real clock


def test_sqs_deletes_a_message_by_receipt_handle_on_its_queue():
    # store/sqs_hooks.py wraps Queue.delete_message(receipt_handle) and reads the queue's
    # _messages, each message's id and had_receipt_handle().
    from moto.sqs.models import Queue

    assert list(inspect.signature(Queue.delete_message).parameters) == ["self", "receipt_handle"]
    name = f"assumptions-{uuid.uuid4().hex[:8]}"
    sqs = get_backend("sqs")[ACCOUNT][REGION]
    queue = sqs.create_queue(name)
    try:
        sent = sqs.send_message(name, "kept")
        (received,) = sqs.receive_message(name, 10, 0, 30)
        assert received.id == sent.id and received.had_receipt_handle(received.receipt_handle)
        assert [m.id for m in queue._messages] == [sent.id]
        sqs.delete_message(name, received.receipt_handle)
        assert queue._messages == []
    finally:
        sqs.delete_queue(name)


# ---------------------------------------------------------------- emulator/esm


def test_on_failure_records_reach_an_sqs_queue_in_process():
    from ddbstream.emulator.esm.target import Destinations

    name = f"assumptions-{uuid.uuid4().hex[:8]}"
    sqs = get_backend("sqs")[ACCOUNT][REGION]
    queue = sqs.create_queue(name)
    try:
        Destinations().send(queue.queue_arn, {"condition": "RetryAttemptsExhausted"})
        (message,) = sqs.receive_message(name, 10, 0, 30)
        assert json.loads(message.body) == {"condition": "RetryAttemptsExhausted"}
    finally:
        sqs.delete_queue(name)


def test_on_failure_records_reach_an_sns_topic_and_its_subscribers_in_process():
    from ddbstream.emulator.esm.target import Destinations

    name = f"assumptions-{uuid.uuid4().hex[:8]}"
    sqs = get_backend("sqs")[ACCOUNT][REGION]
    sns = get_backend("sns")[ACCOUNT][REGION]
    queue = sqs.create_queue(name)
    topic = sns.create_topic(name)
    sns.subscribe(topic.arn, queue.queue_arn, "sqs")
    try:
        Destinations().send(topic.arn, {"condition": "RecordAgeExceeded"})
        (message,) = sqs.receive_message(name, 10, 0, 30)
        envelope = json.loads(message.body)
        assert envelope["TopicArn"] == topic.arn
        assert json.loads(envelope["Message"]) == {"condition": "RecordAgeExceeded"}
    finally:
        sqs.delete_queue(name)
        sns.delete_topic(topic.arn)


def test_a_missing_destination_queue_raises_in_the_backend():
    # Destinations.send logs this (the batch is still done), as SendMessage's error was.
    from moto.sqs.exceptions import QueueDoesNotExist

    with pytest.raises(QueueDoesNotExist):
        get_backend("sqs")[ACCOUNT][REGION].send_message(f"missing-{uuid.uuid4().hex[:8]}", "{}")


# ---------------------------------------------------------------- emulator/runtime and the ESM API


@pytest.fixture
def function():
    """A zip function created straight in moto's Lambda backend."""
    from esm_support import handler_zip

    iam = get_backend("iam")[ACCOUNT]["global"]
    role = iam.create_role(
        role_name=f"assumptions-{uuid.uuid4().hex[:8]}",
        assume_role_policy_document="{}",
        path="/",
        permissions_boundary=None,
        description="",
        tags=[],
        max_session_duration=3600,
    )
    name = f"assumptions-{uuid.uuid4().hex[:8]}"
    lambdas = get_backend("lambda")[ACCOUNT][REGION]
    lambdas.create_function(
        {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": role.arn,
            "Handler": "h.handler",
            "Code": {"ZipFile": base64.b64encode(handler_zip()).decode()},  # as the request carries it
            "Environment": {"Variables": {"A": "1"}},
            "MemorySize": 256,
            "Timeout": 7,
        }
    )
    yield name
    lambdas.delete_function(name)


def test_invoke_reads_a_function_from_the_lambda_backend(function):
    # runtime/moto_backends.resolve_function reads get_function(name, qualifier) and the
    # function's attributes; a missing function is a JsonRESTError.
    from ddbstream.emulator.runtime import FunctionNotFound
    from ddbstream.emulator.runtime.moto_backends import resolve_function

    config, code = resolve_function(function, None, REGION, ACCOUNT)
    assert config.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    assert (config.version, config.runtime, config.handler) == ("$LATEST", "python3.12", "h.handler")
    assert (config.memory_mb, config.timeout, config.environment) == (256, 7.0, (("A", "1"),))
    assert len(config.code_digest) == 64 and code[:2] == b"PK"
    assert config.reserved_concurrency is None
    with pytest.raises(FunctionNotFound):
        resolve_function(f"{function}-missing", None, REGION, ACCOUNT)


def test_the_mapping_api_resolves_functions_in_the_lambda_backend(function):
    from ddbstream.emulator.esm.api import ApiError, MappingApi

    api = MappingApi(engine=None, region=REGION, account=ACCOUNT)  # resolving needs no engine
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    assert api.resolve_function(function) == arn
    assert api.resolve_function(f"{arn}:$LATEST") == f"{arn}:$LATEST"
    with pytest.raises(ApiError) as excinfo:
        api.resolve_function(f"{function}-missing")
    assert (excinfo.value.code, excinfo.value.message) == ("InvalidParameterValueException", "Function does not exist")


def test_function_output_goes_to_the_logs_backend(function):
    # runtime/logs writes through ensure_log_group, ensure_log_stream and a LogStream's put_log_events.
    from ddbstream.emulator.runtime.moto_backends import logs_backend, resolve_function

    config, _ = resolve_function(function, None, REGION, ACCOUNT)
    backend = logs_backend(config)()
    group = f"/aws/lambda/{function}"
    backend.ensure_log_group(group)
    backend.ensure_log_group(group)  # idempotent
    backend.ensure_log_stream(group, "stream")
    backend.ensure_log_stream(group, "stream")
    backend.put_log_events(group, "stream", [{"timestamp": int(time.time() * 1000), "message": "hi"}])
    backend.groups[group].streams["stream"].put_log_events([{"timestamp": int(time.time() * 1000), "message": "ho"}])
    events, _, _ = backend.get_log_events(
        log_group_name=group,
        log_group_id=None,
        log_stream_name="stream",
        start_time=None,
        end_time=None,
        limit=10,
        next_token=None,
        start_from_head=True,
    )
    assert [e["message"] for e in events] == ["hi", "ho"]
    backend.delete_log_group(group)
