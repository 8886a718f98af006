"""infra/ and the local target agree on every attribute the local target sets.

The Terraform configuration is parsed with python-hcl2 and evaluated for one set of
variable values (tests/test_infra_hcl.py), which gives each resource's arguments as
Terraform would send them. The local target then provisions the same values into an
in-thread daemon while every boto3 request is recorded, and each request parameter is
compared with the matching Terraform argument. Values only AWS knows after apply (ARNs,
URLs) are taken from what the local target made.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from esm_support import InThreadDaemon
from infra_support import ACCOUNT, REGION, Module, Recorder, blocks
from support import REPO, make_project

from ddbstream.provision import provision
from ddbstream.spec import load_spec

# ---------------------------------------------------------------------------- both sides


VALUES = {
    # Distinctive values: a default that happened to match on both sides would prove nothing.
    "table_name": "Orders",
    "hash_key": "OrderId",
    "hash_key_type": "S",
    "range_key": "CreatedAt",
    "range_key_type": "N",
    "billing_mode": "PROVISIONED",
    "read_capacity": 7,
    "write_capacity": 3,
    "stream_view_type": "NEW_IMAGE",
    "ttl_attribute": "expires_at",
    "deletion_protection": False,
    "global_secondary_indexes": [
        # Every attribute spelled out: the HCL evaluator here does not apply optional() defaults.
        {
            "name": "ByStatus",
            "hash_key": "status",
            "hash_key_type": "S",
            "range_key": "CreatedAt",
            "range_key_type": "N",
            "projection_type": "INCLUDE",
            "non_key_attributes": ["total"],
            "read_capacity": 2,
            "write_capacity": None,
        },
        {
            "name": "ByCustomer",
            "hash_key": "customer",
            "hash_key_type": "S",
            "range_key": None,
            "range_key_type": "S",
            "projection_type": "ALL",
            "non_key_attributes": [],
            "read_capacity": None,
            "write_capacity": None,
        },
    ],
    "tags": {"Team": "payments", "Env": "test"},
    "lambda_memory_size": 384,
    "lambda_timeout": 45,
    "lambda_environment": {"LOG_LEVEL": "DEBUG", "TABLE_NAME": "overridden-by-the-pipeline"},
    "log_retention_days": 30,
    "batch_size": 25,
    "maximum_batching_window_in_seconds": 2,
    "starting_position": "TRIM_HORIZON",
    "maximum_retry_attempts": 4,
    "bisect_batch_on_function_error": False,
    "maximum_record_age_in_seconds": 3600,
    "parallelization_factor": 3,
    "tumbling_window_in_seconds": 0,
    "filter_patterns": [
        '{"eventName": ["INSERT", "MODIFY"]}',
        '{"dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}',
    ],
    "enable_dlq": True,
    "dlq_message_retention_seconds": 86400,
    "enable_notifications": True,
    "notification_email": "ops@example.com",
    "notify_event_names": ["REMOVE", "MODIFY"],
    "enable_audit": True,
    "audit_prefix": "changes/",
    "audit_transition_days": 45,
    "audit_expiration_days": 400,
    "event_bus_name": "order-changes",
    "fail_attribute": "poison",
    "enable_alarms": True,
    "alarm_iterator_age_ms": 120000,
}


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def sides(daemon, tmp_path_factory):
    """(Terraform root module, recorded local requests, resources) for VALUES."""
    directory = tmp_path_factory.mktemp("agreement")
    var_file = directory / "values.tfvars.json"
    var_file.write_text(json.dumps(VALUES))
    spec = load_spec(make_project(directory / "project") / "infra", var_files=[str(var_file)])
    recorder = Recorder(daemon.endpoint)
    resources, notes = provision(spec, recorder.client, account=ACCOUNT, region=REGION)
    assert notes == []
    known = {
        ("dynamodb_table", "table_name"): resources["table_name"],
        ("dynamodb_table", "table_arn"): resources["table_arn"],
        ("dynamodb_table", "stream_arn"): resources["stream_arn"],
        ("lambda_consumer", "function_name"): resources["function_name"],
        ("lambda_consumer", "function_arn"): resources["function_arn"],
        ("dlq", "queue_url"): resources["queue_url"],
        ("dlq", "queue_arn"): resources["queue_arn"],
        ("dlq", "queue_name"): resources["queue_url"].rsplit("/", 1)[1],
        ("notifications", "topic_arn"): resources["topic_arn"],
        ("notifications", "kms_key_arn"): "<kms key>",
        ("audit", "bucket"): resources["bucket"],
        ("audit", "bucket_arn"): f"arn:aws:s3:::{resources['bucket']}",
    }
    root = Module(REPO / "infra", dict(spec.values), known, REPO / "infra")
    return root, recorder, resources, spec


def tags_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def test_table(sides):
    root, recorder, resources, spec = sides
    table = root.child("dynamodb_table").resource("aws_dynamodb_table", "this")
    request = recorder.one("CreateTable")
    assert request["TableName"] == table["name"]
    assert request["KeySchema"] == [
        {"AttributeName": table["hash_key"], "KeyType": "HASH"},
        {"AttributeName": table["range_key"], "KeyType": "RANGE"},
    ]
    assert request["AttributeDefinitions"] == [
        {"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attribute"]
    ]
    assert request["BillingMode"] == table["billing_mode"]
    assert request["ProvisionedThroughput"] == {
        "ReadCapacityUnits": table["read_capacity"],
        "WriteCapacityUnits": table["write_capacity"],
    }
    assert request["StreamSpecification"] == {
        "StreamEnabled": table["stream_enabled"],
        "StreamViewType": table["stream_view_type"],
    }
    [sse] = table["server_side_encryption"]
    assert request["SSESpecification"]["Enabled"] == sse["enabled"]
    assert request["SSESpecification"].get("KMSMasterKeyId") == sse["kms_key_arn"]
    assert request.get("DeletionProtectionEnabled", False) == table["deletion_protection_enabled"]
    assert request["Tags"] == tags_list(table["tags"])
    assert request["GlobalSecondaryIndexes"] == [
        {
            "IndexName": index["name"],
            "KeySchema": [{"AttributeName": index["hash_key"], "KeyType": "HASH"}]
            + ([{"AttributeName": index["range_key"], "KeyType": "RANGE"}] if index["range_key"] else []),
            "Projection": {
                "ProjectionType": index["projection_type"],
                **({"NonKeyAttributes": index["non_key_attributes"]} if index["non_key_attributes"] else {}),
            },
            "ProvisionedThroughput": {
                "ReadCapacityUnits": index["read_capacity"],
                "WriteCapacityUnits": index["write_capacity"],
            },
        }
        for index in table["global_secondary_index"]
    ]

    [ttl] = table["ttl"]
    assert recorder.one("UpdateTimeToLive")["TimeToLiveSpecification"] == {
        "Enabled": ttl["enabled"],
        "AttributeName": ttl["attribute_name"],
    }
    [pitr] = table["point_in_time_recovery"]
    assert recorder.one("UpdateContinuousBackups")["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": pitr["enabled"]
    }


def test_function_and_log_group(sides):
    root, recorder, resources, spec = sides
    consumer = root.child("lambda_consumer")
    function = consumer.resource("aws_lambda_function", "this")
    request = recorder.one("CreateFunction")
    assert request["FunctionName"] == function["function_name"]
    assert request["Runtime"] == function["runtime"]
    assert request["Handler"] == function["handler"]
    assert request["MemorySize"] == function["memory_size"]
    assert request["Timeout"] == function["timeout"]
    [environment] = function["environment"]
    assert request["Environment"]["Variables"] == environment["variables"]
    # The pipeline's own variables win over lambda_environment, on both sides.
    assert environment["variables"]["TABLE_NAME"] == "Orders"
    assert environment["variables"]["LOG_LEVEL"] == "DEBUG"
    assert set(environment["variables"]) == {
        "LOG_LEVEL",
        "TABLE_NAME",
        "DLQ_URL",
        "TOPIC_ARN",
        "NOTIFY_EVENT_NAMES",
        "AUDIT_BUCKET",
        "AUDIT_PREFIX",
        "EVENT_BUS_NAME",
        "FAIL_ATTRIBUTE",
    }
    assert request.get("Tags", {}) == function["tags"]

    role = consumer.resource("aws_iam_role", "this")
    assert recorder.one("CreateRole")["RoleName"] == role["name"]

    group = consumer.resource("aws_cloudwatch_log_group", "this")
    assert recorder.one("CreateLogGroup")["logGroupName"] == group["name"] == resources["log_group"]
    assert recorder.one("PutRetentionPolicy")["retentionInDays"] == group["retention_in_days"]


def test_event_source_mapping(sides):
    root, recorder, resources, spec = sides
    mapping = root.child("event_mapping").resource("aws_lambda_event_source_mapping", "this")
    request = recorder.one("CreateEventSourceMapping")
    assert request["EventSourceArn"] == mapping["event_source_arn"] == resources["stream_arn"]
    assert request["FunctionName"] in (mapping["function_name"], resources["function_name"])
    assert request["StartingPosition"] == mapping["starting_position"]
    assert request.get("Enabled", True) == mapping["enabled"]
    for parameter, argument in [
        ("BatchSize", "batch_size"),
        ("MaximumBatchingWindowInSeconds", "maximum_batching_window_in_seconds"),
        ("MaximumRetryAttempts", "maximum_retry_attempts"),
        ("BisectBatchOnFunctionError", "bisect_batch_on_function_error"),
        ("MaximumRecordAgeInSeconds", "maximum_record_age_in_seconds"),
        ("ParallelizationFactor", "parallelization_factor"),
        ("TumblingWindowInSeconds", "tumbling_window_in_seconds"),
        ("FunctionResponseTypes", "function_response_types"),
    ]:
        assert request[parameter] == mapping[argument], parameter
    [criteria] = mapping["filter_criteria"]
    assert request["FilterCriteria"] == {"Filters": [{"Pattern": f["pattern"]} for f in criteria["filter"]]}
    [destination] = mapping["destination_config"]
    [on_failure] = destination["on_failure"]
    assert request["DestinationConfig"] == {"OnFailure": {"Destination": on_failure["destination_arn"]}}
    assert on_failure["destination_arn"] == resources["queue_arn"]


def test_dead_letter_queue(sides):
    root, recorder, resources, spec = sides
    queue = root.child("dlq").resource("aws_sqs_queue", "this")
    request = recorder.one("CreateQueue")
    assert request["QueueName"] == queue["name"] == "Orders-dlq"
    assert request["Attributes"] == {
        "MessageRetentionPeriod": str(queue["message_retention_seconds"]),
        "SqsManagedSseEnabled": str(queue["sqs_managed_sse_enabled"]).lower(),
    }
    assert request["tags"] == queue["tags"]


def test_topic_and_email_subscription(sides):
    root, recorder, resources, spec = sides
    notifications = root.child("notifications")
    topic = notifications.resource("aws_sns_topic", "this")
    request = recorder.one("CreateTopic")
    assert request["Name"] == topic["name"] == "Orders-events"
    assert request["Tags"] == tags_list(topic["tags"])
    subscription = notifications.resource("aws_sns_topic_subscription", "email")
    assert recorder.one("Subscribe") == {
        "TopicArn": resources["topic_arn"],
        "Protocol": subscription["protocol"],
        "Endpoint": subscription["endpoint"],
    }


def test_audit_bucket(sides):
    root, recorder, resources, spec = sides
    audit = root.child("audit")
    bucket = audit.resource("aws_s3_bucket", "this")
    assert recorder.one("CreateBucket")["Bucket"] == bucket["bucket"] == "orders-audit-123456789012"

    block = audit.resource("aws_s3_bucket_public_access_block", "this")
    assert recorder.one("PutPublicAccessBlock")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": block["block_public_acls"],
        "BlockPublicPolicy": block["block_public_policy"],
        "IgnorePublicAcls": block["ignore_public_acls"],
        "RestrictPublicBuckets": block["restrict_public_buckets"],
    }

    [ownership] = audit.resource("aws_s3_bucket_ownership_controls", "this")["rule"]
    assert recorder.one("PutBucketOwnershipControls")["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": ownership["object_ownership"]}]
    }

    [versioning] = audit.resource("aws_s3_bucket_versioning", "this")["versioning_configuration"]
    assert recorder.one("PutBucketVersioning")["VersioningConfiguration"] == {"Status": versioning["status"]}

    [rule] = audit.resource("aws_s3_bucket_server_side_encryption_configuration", "this")["rule"]
    [default] = rule["apply_server_side_encryption_by_default"]
    local_rule = recorder.one("PutBucketEncryption")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert local_rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": default["sse_algorithm"]}
    assert default["kms_master_key_id"] is None  # both use the AWS-managed aws/s3 key
    assert local_rule["BucketKeyEnabled"] == rule["bucket_key_enabled"]

    terraform_rules = []
    for tf_rule in audit.resource("aws_s3_bucket_lifecycle_configuration", "this")["rule"]:
        [tf_filter] = tf_rule["filter"]
        converted: dict[str, Any] = {
            "ID": tf_rule["id"],
            "Status": tf_rule["status"],
            "Filter": {"Prefix": tf_filter["prefix"]} if "prefix" in tf_filter else {},
        }
        for transition in tf_rule.get("transition", []):
            converted.setdefault("Transitions", []).append(
                {"Days": transition["days"], "StorageClass": transition["storage_class"]}
            )
        for expiration in tf_rule.get("expiration", []):
            converted["Expiration"] = {"Days": expiration["days"]}
        for noncurrent in tf_rule.get("noncurrent_version_expiration", []):
            converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": noncurrent["noncurrent_days"]}
        for abort in tf_rule.get("abort_incomplete_multipart_upload", []):
            converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": abort["days_after_initiation"]}
        terraform_rules.append(converted)
    assert recorder.one("PutBucketLifecycleConfiguration")["LifecycleConfiguration"]["Rules"] == terraform_rules
    assert terraform_rules[0]["Filter"] == {"Prefix": "changes/"}
    assert terraform_rules[0]["Transitions"][0]["Days"] == 45 and terraform_rules[0]["Expiration"]["Days"] == 400

    [statement] = json.loads(recorder.one("PutBucketPolicy")["Policy"])["Statement"]
    [tf_statement] = blocks(audit.document, "data")["aws_iam_policy_document"]["this"]["statement"]
    assert statement["Sid"] == tf_statement["sid"].strip('"') and statement["Effect"] == tf_statement["effect"].strip(
        '"'
    )
    assert [statement["Action"]] == [a.strip('"') for a in tf_statement["actions"]]
    [condition] = tf_statement["condition"]
    assert statement["Condition"] == {
        condition["test"].strip('"'): {condition["variable"].strip('"'): condition["values"][0].strip('"')}
    }

    assert recorder.one("PutBucketTagging")["Tagging"]["TagSet"] == tags_list(bucket["tags"])


def test_event_bus(sides):
    root, recorder, resources, spec = sides
    bus = root.child("event_bus").resource("aws_cloudwatch_event_bus", "this")
    request = recorder.one("CreateEventBus")
    assert request["Name"] == bus["name"] == "order-changes"
    assert request["Tags"] == tags_list(bus["tags"])


def test_alarms(sides):
    root, recorder, resources, spec = sides
    alarms = root.child("alarms").resource_instances("aws_cloudwatch_metric_alarm", "this")
    requests = {r["AlarmName"]: r for r in recorder.calls("PutMetricAlarm")}
    assert set(requests) == {alarm["alarm_name"] for alarm in alarms.values()}
    assert len(alarms) == 7
    for key, alarm in alarms.items():
        request = requests[alarm["alarm_name"]]
        assert request == {
            "AlarmName": alarm["alarm_name"],
            "AlarmDescription": alarm["alarm_description"],
            "Namespace": alarm["namespace"],
            "MetricName": alarm["metric_name"],
            "Dimensions": [{"Name": k, "Value": v} for k, v in alarm["dimensions"].items()],
            "Statistic": alarm["statistic"],
            "ComparisonOperator": alarm["comparison_operator"],
            "Threshold": float(alarm["threshold"]),
            "Period": alarm["period"],
            "EvaluationPeriods": alarm["evaluation_periods"],
            "TreatMissingData": alarm["treat_missing_data"],
            "ActionsEnabled": alarm["actions_enabled"],
            "AlarmActions": alarm["alarm_actions"],
            "OKActions": alarm["ok_actions"],
            "Tags": tags_list(alarm["tags"]),
        }, key
    assert requests["Orders_stream_consumer-duration"]["Threshold"] == 36000.0  # 80% of 45 s
    assert requests["Orders_stream_consumer-iterator-age"]["Threshold"] == 120000.0
    assert requests["Orders-dlq-messages-visible"]["AlarmActions"] == [resources["topic_arn"]]


def test_every_request_is_compared(sides):
    """A new request the local target starts sending must get a comparison above."""
    _, recorder, _, _ = sides
    compared = {
        "CreateTable",
        "UpdateTimeToLive",
        "UpdateContinuousBackups",
        "CreateFunction",
        "CreateRole",
        "CreateLogGroup",
        "PutRetentionPolicy",
        "CreateEventSourceMapping",
        "CreateQueue",
        "CreateTopic",
        "Subscribe",
        "CreateBucket",
        "PutPublicAccessBlock",
        "PutBucketOwnershipControls",
        "PutBucketVersioning",
        "PutBucketEncryption",
        "PutBucketLifecycleConfiguration",
        "PutBucketPolicy",
        "PutBucketTagging",
        "CreateEventBus",
        "PutMetricAlarm",
    }
    reads = re.compile(r"^(Describe|Get|List|Head)")
    writes = {name for _, name, _ in recorder.requests if not reads.match(name)}
    assert writes == compared
