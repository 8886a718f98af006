"""The typed pipeline read from state.json, and the local target's protocol, without a daemon."""

from __future__ import annotations

import json
import os

import pytest

from ddbstream.errors import NoStack
from ddbstream.pipeline import Pipeline, load_pipeline, saved_pipeline
from ddbstream.state import State, write_state
from ddbstream.targets import TARGETS, make_target, resolve_target
from ddbstream.targets.aws import AwsTarget
from ddbstream.targets.local import LocalTarget

# What provisioning records for a pipeline with every sink, in the order it records them.
RESOURCES = {
    "table_name": "orders",
    "table_arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
    "stream_arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2025-01-01T00:00:00.000",
    "key_schema": [["orderid", "S"], ["at", "N"]],
    "stream_view_type": "NEW_IMAGE",
    "queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq",
    "queue_arn": "arn:aws:sqs:eu-west-1:123456789012:orders-dlq",
    "topic_arn": "arn:aws:sns:eu-west-1:123456789012:orders-events",
    "bucket": "orders-audit",
    "event_bus_name": "orders-bus",
    "function_name": "orders_consumer",
    "function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:orders_consumer",
    "log_group": "/aws/lambda/orders_consumer",
    "alarm_names": {"errors": "orders_consumer-errors"},
    "mapping_uuid": "6f0b1c2d-0000-4000-8000-000000000001",
}


def test_every_resource_is_a_typed_attribute():
    pipeline = Pipeline.from_state(State(target="aws", region="eu-west-1", profile="ops", resources=RESOURCES))
    table = pipeline.require_table()
    assert (table.name, table.key_schema, table.stream_view_type) == (
        "orders",
        (("orderid", "S"), ("at", "N")),
        "NEW_IMAGE",
    )
    assert table.stream_arn == RESOURCES["stream_arn"] and table.arn == RESOURCES["table_arn"]
    assert pipeline.function is not None and pipeline.function.log_group == "/aws/lambda/orders_consumer"
    assert pipeline.queue is not None and pipeline.queue.name == "orders-dlq"
    assert pipeline.mapping is not None and pipeline.mapping.uuid == RESOURCES["mapping_uuid"]
    assert pipeline.topic is not None and pipeline.bucket is not None and pipeline.event_bus is not None
    assert dict(pipeline.alarms) == {"errors": "orders_consumer-errors"}
    assert (pipeline.is_local, pipeline.profile, pipeline.endpoint) == (False, "ops", None)
    assert list(pipeline.as_resources().items()) == list(RESOURCES.items())  # state.json's form, same order


def test_the_api_and_the_bus_rule_are_typed_parts():
    resources = {
        **RESOURCES,
        "event_bus_arn": "arn:aws:events:eu-west-1:123456789012:event-bus/orders-bus",
        "event_rule_name": "orders-item-created",
        "event_log_group": "/aws/events/orders-item-created",
        "event_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-item-created",
        "api_id": "a1b2c3",
        "api_url": "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/",
        "api_function_name": "orders_api",
        "api_log_group": "/aws/lambda/orders_api",
        "api_access_log_group": "/aws/apigateway/orders-api",
    }
    pipeline = Pipeline.from_state(State(target="aws", region="eu-west-1", resources=resources))
    assert pipeline.api is not None and (pipeline.api.id, pipeline.api.url) == ("a1b2c3", resources["api_url"])
    assert pipeline.api.function is not None and pipeline.api.function.name == "orders_api"
    assert pipeline.event_rule is not None and pipeline.event_rule.log_group == "/aws/events/orders-item-created"
    assert pipeline.event_bus is not None and pipeline.event_bus.arn == resources["event_bus_arn"]
    assert pipeline.as_resources() == resources
    assert (Pipeline.from_state(State(target="aws", region="eu-west-1", resources=RESOURCES)).api) is None


def test_optional_parts_are_none_and_the_log_group_is_derived():
    pipeline = Pipeline.from_state(
        State(target="local", region="us-east-1", resources={"table_name": "t", "function_name": "fn"})
    )
    assert (pipeline.queue, pipeline.topic, pipeline.bucket, pipeline.event_bus, pipeline.mapping) == (None,) * 5
    assert pipeline.function is not None and pipeline.function.log_group == "/aws/lambda/fn"
    with pytest.raises(NoStack, match="no table has been provisioned"):
        pipeline.require_table()  # a table without its key schema cannot be used
    assert Pipeline.from_state(State(target="local", region="us-east-1")).as_resources() == {}


def test_an_old_state_file_still_loads(tmp_path):
    (tmp_path / "state.json").write_text(
        json.dumps({"target": "aws", "region": "us-east-1", "account": "1", "resources": {"table_name": "t"}})
    )
    pipeline = saved_pipeline(tmp_path)
    assert pipeline is not None and pipeline.table is not None and pipeline.table.name == "t"
    assert load_pipeline(tmp_path).target == "aws"  # an aws pipeline runs as long as it is recorded


def test_a_local_pipeline_whose_daemon_is_gone_is_no_stack(tmp_path):
    assert saved_pipeline(tmp_path) is None
    with pytest.raises(NoStack):
        load_pipeline(tmp_path)
    dead = State(target="local", region="us-east-1", endpoint="http://127.0.0.1:9", pid=2**22 + os.getpid())
    write_state(tmp_path, dead)
    assert saved_pipeline(tmp_path) is not None
    with pytest.raises(NoStack, match="no local stack is running"):
        load_pipeline(tmp_path)


class SilentUI:
    def note(self, message):
        raise AssertionError(message)

    passing = note

    def spinner(self, title):
        raise AssertionError(title)

    activity = spinner

    def confirm(self, question):
        return False


def test_targets_are_made_by_name(tmp_path):
    assert TARGETS == ("local", "aws") and resolve_target(" AWS ") == "aws"
    assert isinstance(make_target("local", tmp_path, SilentUI(), port=4566), LocalTarget)
    aws = make_target("aws", tmp_path, SilentUI(), profile="ops", region="eu-west-1")
    assert isinstance(aws, AwsTarget) and (aws.profile, aws.region) == ("ops", "eu-west-1")
    assert aws.down() is False  # nothing to stop: an aws pipeline runs until destroyed


def test_local_down_and_destroy_without_a_stack(tmp_path):
    local = make_target("local", tmp_path, SilentUI())
    assert local.down() is False and local.destroy() is False
    kept = ["store.sqlite3", "store.sqlite3-wal", "snapshot.pickle"]  # the store, and an older version's pickle
    for name in kept:
        (tmp_path / name).write_bytes(b"saved")
    assert local.destroy() is True and not any((tmp_path / name).exists() for name in kept)
