"""EventBridge delivery in the daemon (emulator/events/): PutEvents on a custom bus reaches every
matching rule's targets (CloudWatch Logs, SQS, SNS, Lambda through our runtime) with the
envelope AWS sends, and the per-rule counts are kept."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError
from esm_support import InThreadDaemon, wait_until

from ddbstream.daemon import daemon_get

ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
CREATED = {"source": ["crud.api"], "detail-type": ["ItemCreated"]}


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def bus_with_rule(daemon, pattern: dict, targets: list[dict], state: str = "ENABLED") -> tuple[str, str]:
    """A new custom bus and one rule on it; returns (bus name, rule ARN)."""
    events = daemon.client("events")
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    rule = unique("rule")
    arn = events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern), State=state)["RuleArn"]
    events.put_targets(Rule=rule, EventBusName=bus, Targets=targets)
    return bus, arn


def put(daemon, bus: str, detail: dict, source: str = "crud.api", detail_type: str = "ItemCreated") -> str:
    entries = daemon.client("events").put_events(
        Entries=[{"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert entries["FailedEntryCount"] == 0, entries
    return entries["Entries"][0]["EventId"]


def rule_counts(daemon, rule_arn: str) -> dict | None:
    rules = daemon_get(daemon.endpoint, "testing", "/_ddbstream/events/rules")["rules"]
    return next((r for r in rules if r["rule"] == rule_arn), None)


def log_messages(daemon, group: str) -> list[dict]:
    logs = daemon.client("logs")
    try:
        found = logs.filter_log_events(logGroupName=group)["events"]
    except ClientError:
        return []
    return [json.loads(e["message"]) for e in found]


def test_an_sqs_target_gets_the_envelope_aws_sends(daemon):
    url, queue_arn = daemon.queue()
    bus, rule_arn = bus_with_rule(daemon, CREATED, [{"Id": "q", "Arn": queue_arn}])
    event_id = put(daemon, bus, {"user_id": "u1", "name": "Ana"})
    (event,) = daemon.messages(url, 1)
    assert set(event) == ENVELOPE_KEYS
    assert event["version"] == "0"
    assert event["id"] == event_id
    assert event["detail-type"] == "ItemCreated" and event["source"] == "crud.api"
    assert event["account"] == daemon.emulator.account and event["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert event["resources"] == [] and event["detail"] == {"user_id": "u1", "name": "Ana"}
    assert rule_counts(daemon, rule_arn) == {
        "rule": rule_arn,
        "bus": bus,
        "matched": 1,
        "delivered": 1,
        "failed": 0,
        "last_error": None,
    }


def test_a_rule_that_does_not_match_delivers_nothing(daemon):
    url, queue_arn = daemon.queue()
    bus, rule_arn = bus_with_rule(daemon, CREATED, [{"Id": "q", "Arn": queue_arn}])
    put(daemon, bus, {"user_id": "u1"}, detail_type="ItemDeleted")
    put(daemon, bus, {"user_id": "u1"}, source="other.app")
    assert daemon.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    assert rule_counts(daemon, rule_arn) is None


def test_a_disabled_rule_delivers_nothing(daemon):
    url, queue_arn = daemon.queue()
    bus, _ = bus_with_rule(daemon, CREATED, [{"Id": "q", "Arn": queue_arn}], state="DISABLED")
    put(daemon, bus, {"user_id": "u1"})
    assert daemon.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None


def test_eventbridge_only_operators_select_events(daemon):
    url, queue_arn = daemon.queue()
    pattern = {
        "source": [{"wildcard": "crud.*"}],
        "detail": {"$or": [{"name": [{"equals-ignore-case": "ana"}]}, {"age": [{"numeric": [">=", 65]}]}]},
    }
    bus, _ = bus_with_rule(daemon, pattern, [{"Id": "q", "Arn": queue_arn}])
    put(daemon, bus, {"user_id": "1", "name": "ANA"})
    put(daemon, bus, {"user_id": "2", "name": "Bo", "age": 70})
    put(daemon, bus, {"user_id": "3", "name": "Cy", "age": 30})
    put(daemon, bus, {"user_id": "4", "name": "Ana"}, source="billing")
    delivered = daemon.messages(url, 2)
    assert sorted(e["detail"]["user_id"] for e in delivered) == ["1", "2"]
    assert daemon.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None


def test_a_log_group_target_gets_one_log_event_per_event(daemon):
    group = f"/aws/events/{unique('g')}"
    daemon.client("logs").create_log_group(logGroupName=group)
    group_arn = f"arn:aws:logs:us-east-1:{daemon.emulator.account}:log-group:{group}:*"
    bus, _ = bus_with_rule(daemon, CREATED, [{"Id": "logs", "Arn": group_arn}])
    event_id = put(daemon, bus, {"user_id": "u9"})
    (logged,) = wait_until(lambda: log_messages(daemon, group), message="the log event")
    assert logged["id"] == event_id and logged["detail"] == {"user_id": "u9"}
    streams = daemon.client("logs").describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [event_id]


def test_an_sns_target_forwards_to_its_subscribers(daemon):
    url, queue_arn = daemon.queue()
    sns = daemon.client("sns")
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    bus, _ = bus_with_rule(daemon, CREATED, [{"Id": "sns", "Arn": topic}])
    put(daemon, bus, {"user_id": "u5"})
    (event,) = daemon.messages(url, 1)
    assert event["detail"] == {"user_id": "u5"}


def test_input_and_input_path_shape_what_a_target_gets(daemon):
    url, queue_arn = daemon.queue()
    targets = [
        {"Id": "path", "Arn": queue_arn, "InputPath": "$.detail"},
        {"Id": "constant", "Arn": queue_arn, "Input": '{"fixed": true}'},
    ]
    bus, rule_arn = bus_with_rule(daemon, CREATED, targets)
    put(daemon, bus, {"user_id": "u7"})
    bodies = daemon.messages(url, 2)
    assert sorted(bodies, key=json.dumps) == sorted([{"user_id": "u7"}, {"fixed": True}], key=json.dumps)
    assert rule_counts(daemon, rule_arn)["delivered"] == 2


def test_a_missing_target_counts_as_a_failed_delivery(daemon):
    missing = f"arn:aws:sqs:us-east-1:{daemon.emulator.account}:{unique('gone')}"
    bus, rule_arn = bus_with_rule(daemon, CREATED, [{"Id": "q", "Arn": missing}])
    put(daemon, bus, {"user_id": "u1"})
    counts = rule_counts(daemon, rule_arn)
    assert counts["matched"] == 1 and counts["delivered"] == 0 and counts["failed"] == 1
    assert counts["last_error"]


def test_a_lambda_target_runs_in_our_runtime(daemon):
    source = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"
    function = daemon.function(source)
    function_arn = daemon.client("lambda").get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    bus, rule_arn = bus_with_rule(daemon, CREATED, [{"Id": "fn", "Arn": function_arn}])
    event_id = put(daemon, bus, {"user_id": "λ"})
    group = f"/aws/lambda/{function}"

    def printed() -> list[dict]:
        try:
            found = daemon.client("logs").filter_log_events(logGroupName=group, filterPattern="EVENT")["events"]
        except ClientError:
            return []
        return [json.loads(e["message"].split("EVENT ", 1)[1]) for e in found if "EVENT " in e["message"]]

    (event,) = wait_until(printed, timeout=60, message="the function's log line")
    assert event["id"] == event_id and event["detail"] == {"user_id": "λ"}
    assert set(event) == ENVELOPE_KEYS
    assert rule_counts(daemon, rule_arn)["delivered"] == 1


def test_deliveries_are_listed_for_tail(daemon):
    url, queue_arn = daemon.queue()
    bus, rule_arn = bus_with_rule(daemon, CREATED, [{"Id": "q", "Arn": queue_arn}])
    event_id = put(daemon, bus, {"user_id": "t1"})
    listed = daemon_get(daemon.endpoint, "testing", "/_ddbstream/events/deliveries")["deliveries"]
    mine = [d for d in listed if d["rule"] == rule_arn]
    assert [(d["event"]["id"], d["ok"], d["target"]) for d in mine] == [(event_id, True, queue_arn)]
    after = mine[0]["sequence"]
    later = daemon_get(daemon.endpoint, "testing", f"/_ddbstream/events/deliveries?after={after}")["deliveries"]
    assert all(d["sequence"] > after for d in later)


@pytest.mark.parametrize(
    "pattern",
    ['{"source": [{"wildcard": "a**"}]}', '{"$or": [{"a": ["x"]}]}', '{"detail": {"x": [{"cidr": 1}]}}'],
)
def test_put_rule_refuses_a_pattern_eventbridge_refuses(daemon, pattern):
    with pytest.raises(ClientError) as caught:
        daemon.client("events").put_rule(Name=unique("bad"), EventPattern=pattern)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidEventPatternException"
    assert error["Message"].startswith("Event pattern is not valid. Reason: ")


def test_a_restart_keeps_each_delivered_message_once(tmp_path):
    from ddbstream.clients import local_client
    from ddbstream.daemon import start_daemon, stop_daemon

    started = start_daemon(tmp_path, "us-east-1")
    try:
        client = lambda service: local_client(service, started.endpoint, "us-east-1", started.secret)  # noqa: E731
        url = client("sqs").create_queue(QueueName="bus-out")["QueueUrl"]
        arn = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client("events").create_event_bus(Name="b")
        client("events").put_rule(Name="r", EventBusName="b", EventPattern=json.dumps(CREATED))
        client("events").put_targets(Rule="r", EventBusName="b", Targets=[{"Id": "q", "Arn": arn}])
        detail = json.dumps({"user_id": "kept"})
        entry = {"EventBusName": "b", "Source": "crud.api", "DetailType": "ItemCreated", "Detail": detail}
        client("events").put_events(Entries=[entry])
    finally:
        stop_daemon(started, tmp_path)
    again = start_daemon(tmp_path, "us-east-1")
    try:
        sqs = local_client("sqs", again.endpoint, "us-east-1", again.secret)
        url = sqs.get_queue_url(QueueName="bus-out")["QueueUrl"]
        bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
        assert [b["detail"] for b in bodies] == [{"user_id": "kept"}]
    finally:
        stop_daemon(again, tmp_path)


def test_an_input_transformer_fills_its_template(daemon):
    url, queue_arn = daemon.queue()
    transformer = {
        "InputPathsMap": {"user": "$.detail.user_id", "first": "$.resources[0]"},
        "InputTemplate": '{"who": <user>, "text": "user <user> on <first>", "rule": "<aws.events.rule-name>"}',
    }
    bus, rule_arn = bus_with_rule(daemon, CREATED, [{"Id": "t", "Arn": queue_arn, "InputTransformer": transformer}])
    entry = {"EventBusName": bus, "Source": "crud.api", "DetailType": "ItemCreated", "Resources": ["arn:x"]}
    daemon.client("events").put_events(Entries=[{**entry, "Detail": json.dumps({"user_id": 'u"1'})}])
    (body,) = daemon.messages(url, 1)
    assert body == {"who": 'u"1', "text": 'user u"1 on arn:x', "rule": rule_arn.rsplit("/", 1)[-1]}


def test_a_string_template_stays_a_string():
    from ddbstream.emulator.events.transform import fill

    assert fill('"user <user> created"', {"user": "u1"}) == '"user u1 created"'
    assert fill("<n>", {"n": 5}) == "5" and fill("<missing>", {}) == "<missing>"


def test_without_a_daemon_moto_delivers_as_before(daemon):  # the fixture patched moto
    from ddbstream.emulator.events import moto_patch

    saved = list(moto_patch._active)
    moto_patch._active.clear()
    try:
        from moto.events.models import Rule

        sent = []
        original = moto_patch._originals["send"]
        moto_patch._originals["send"] = lambda rule, event, transform: sent.append(event)
        try:
            Rule.send_to_targets(object(), {"id": "e"})  # type: ignore[arg-type]
        finally:
            moto_patch._originals["send"] = original
        assert sent == [{"id": "e"}]
    finally:
        moto_patch._active[:] = saved
