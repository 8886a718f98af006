"""The DynamoDB table: keys, billing, stream, TTL, point-in-time recovery, encryption."""

from __future__ import annotations

from typing import Any

from ddbstream.provision.run import Provisioning
from ddbstream.spec import Spec


def desired_table(spec: Spec) -> dict[str, Any]:
    """CreateTable arguments for the spec."""
    key_schema = spec.key_schema()
    attributes = dict(key_schema)
    provisioned = spec["billing_mode"] == "PROVISIONED"
    args: dict[str, Any] = {
        "TableName": spec["table_name"],
        "KeySchema": _key_schema(key_schema),
        "BillingMode": spec["billing_mode"],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": spec["stream_view_type"]},
    }
    if provisioned:
        args["ProvisionedThroughput"] = _throughput(spec["read_capacity"], spec["write_capacity"])
    indexes = []
    for index in spec.get("global_secondary_indexes") or []:
        # Optional attributes default as the variable's type declares them.
        index_keys = [(index["hash_key"], index.get("hash_key_type") or "S")]
        if index.get("range_key"):
            index_keys.append((index["range_key"], index.get("range_key_type") or "S"))
        for name, kind in index_keys:
            attributes.setdefault(name, kind)
        projection: dict[str, Any] = {"ProjectionType": index.get("projection_type") or "ALL"}
        if projection["ProjectionType"] == "INCLUDE":
            projection["NonKeyAttributes"] = list(index.get("non_key_attributes") or [])
        definition: dict[str, Any] = {
            "IndexName": index["name"],
            "KeySchema": _key_schema(index_keys),
            "Projection": projection,
        }
        if provisioned:
            definition["ProvisionedThroughput"] = _throughput(
                index.get("read_capacity") or spec["read_capacity"],
                index.get("write_capacity") or spec["write_capacity"],
            )
        indexes.append(definition)
    args["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()]
    if indexes:
        args["GlobalSecondaryIndexes"] = indexes
    if spec.get("server_side_encryption"):
        sse: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
        if spec.get("kms_key_arn"):
            sse["KMSMasterKeyId"] = spec["kms_key_arn"]
        args["SSESpecification"] = sse
    if spec.get("deletion_protection"):
        args["DeletionProtectionEnabled"] = True
    if spec.get("tags"):
        args["Tags"] = [{"Key": k, "Value": str(v)} for k, v in spec["tags"].items()]
    return args


_THROUGHPUT_KEYS = ("ReadCapacityUnits", "WriteCapacityUnits")


def table_settings(table: dict[str, Any]) -> dict[str, Any]:
    """What a plan compares of a table, from CreateTable arguments (desired_table) or DescribeTable."""
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    keys = [f"{k['AttributeName']} ({types.get(k['AttributeName'])}, {k['KeyType']})" for k in table["KeySchema"]]
    billing = table.get("BillingMode") or (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    stream = table.get("StreamSpecification") or {}
    settings: dict[str, Any] = {
        "TableName": table["TableName"],
        "KeySchema": ", ".join(keys),
        "BillingMode": billing,
        "StreamViewType": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        "GlobalSecondaryIndexes": sorted(index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])),
    }
    if billing == "PROVISIONED":
        throughput = table.get("ProvisionedThroughput") or {}
        settings["ProvisionedThroughput"] = {k: throughput.get(k) for k in _THROUGHPUT_KEYS}
    return settings


def _key_schema(keys: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"AttributeName": name, "KeyType": role} for (name, _), role in zip(keys, ("HASH", "RANGE"))]


def _throughput(read: Any, write: Any) -> dict[str, int]:
    return {"ReadCapacityUnits": int(read), "WriteCapacityUnits": int(write)}


def provision_table(run: Provisioning) -> None:
    """Create the table or reconcile an existing one; record its names and stream ARN."""
    spec, client, resources, notes, progress = run.spec, run.client, run.resources, run.notes, run.progress
    dynamodb = client("dynamodb")
    desired = desired_table(spec)
    name = desired["TableName"]
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        progress(f"creating table {name}")
        table = dynamodb.create_table(**desired)["TableDescription"]
    else:
        _reconcile(dynamodb, table, desired, notes)
        table = dynamodb.describe_table(TableName=name)["Table"]

    _reconcile_ttl(dynamodb, name, spec.get("ttl_attribute"))
    if spec.get("point_in_time_recovery") or point_in_time_recovery(dynamodb, name):
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": bool(spec.get("point_in_time_recovery"))},
        )

    resources.update(
        table_name=name,
        table_arn=table["TableArn"],
        stream_arn=table.get("LatestStreamArn"),
        key_schema=[list(pair) for pair in spec.key_schema()],
        stream_view_type=table.get("StreamSpecification", {}).get("StreamViewType"),
    )


def ttl_attribute(dynamodb: Any, name: str) -> str | None:
    """The attribute TTL deletes items by, while it is on (None: off)."""
    current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return current.get("AttributeName") if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None


def point_in_time_recovery(dynamodb: Any, name: str) -> bool:
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    return (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") == "ENABLED"


def _reconcile_ttl(dynamodb: Any, name: str, wanted: str | None) -> None:
    current = ttl_attribute(dynamodb, name)
    if current == wanted:
        return
    if current:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": current}
        )
    if wanted:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": wanted})


def _reconcile(dynamodb: Any, table: dict[str, Any], desired: dict[str, Any], notes: list[str]) -> None:
    """Fix what UpdateTable can fix; note the rest (a key schema never changes)."""
    name = desired["TableName"]
    current_keys = [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]]
    wanted_keys = [(k["AttributeName"], k["KeyType"]) for k in desired["KeySchema"]]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    wanted_types = {a["AttributeName"]: a["AttributeType"] for a in desired["AttributeDefinitions"]}
    if current_keys != wanted_keys or any(types.get(n) != wanted_types[n] for n, _ in wanted_keys):
        have = ", ".join(f"{n} ({types.get(n)}, {role})" for n, role in current_keys)
        want = ", ".join(f"{n} ({wanted_types[n]}, {role})" for n, role in wanted_keys)
        notes.append(
            f"table {name} has key schema {have} but the spec says {want}: "
            "a key schema cannot change; run 'ddbstream down' (local) or recreate the table"
        )
    stream = table.get("StreamSpecification") or {}
    wanted_view = desired["StreamSpecification"]["StreamViewType"]
    if stream.get("StreamEnabled") and stream.get("StreamViewType") != wanted_view:
        # A view type cannot change while the stream is on: off, then on again (a new stream, as on AWS).
        dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        stream = {}
    if not stream.get("StreamEnabled"):
        dynamodb.update_table(TableName=name, StreamSpecification=desired["StreamSpecification"])
    existing_indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    wanted_indexes = {index["IndexName"] for index in desired.get("GlobalSecondaryIndexes", [])}
    for index_name in sorted(existing_indexes - wanted_indexes):
        dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index_name}}])
    for index in desired.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] not in existing_indexes:
            index_attributes = {key["AttributeName"] for key in index["KeySchema"]}
            dynamodb.update_table(
                TableName=name,
                AttributeDefinitions=[
                    a for a in desired["AttributeDefinitions"] if a["AttributeName"] in index_attributes
                ],
                GlobalSecondaryIndexUpdates=[{"Create": index}],
            )
    billing = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    throughput = {k: v for k, v in (table.get("ProvisionedThroughput") or {}).items() if k in _THROUGHPUT_KEYS}
    wanted_throughput = desired.get("ProvisionedThroughput")
    if billing != desired["BillingMode"] or (wanted_throughput and throughput != wanted_throughput):
        update: dict[str, Any] = {"TableName": name, "BillingMode": desired["BillingMode"]}
        if wanted_throughput:
            update["ProvisionedThroughput"] = wanted_throughput
        dynamodb.update_table(**update)
