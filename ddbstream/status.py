"""The pipeline's health: table, stream, mappings, function, dead-letter queue, alarms, daemon.

Everything is read through AWS APIs, so the same code reports on the local daemon and on AWS.
Each section that cannot be read carries an "error" instead of failing the whole report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ddbstream.daemon import daemon_get, ping
from ddbstream.pipeline import Pipeline

ClientFactory = Callable[[str], Any]
ITERATOR_AGE_WINDOW = timedelta(minutes=5)


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return str(exc) or type(exc).__name__


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _section(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as exc:  # one unreadable part must not hide the rest of the report
        return {"error": _error_text(exc)}


# ---------------------------------------------------------------- sections


def table_status(dynamodb: Any, table_name: str) -> dict[str, Any]:
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    stream = table.get("StreamSpecification") or {}
    out: dict[str, Any] = {
        "name": table_name,
        "status": table.get("TableStatus"),
        "itemCount": table.get("ItemCount"),
        "sizeBytes": table.get("TableSizeBytes"),
        "keySchema": [
            {
                "name": k["AttributeName"],
                "role": k["KeyType"],
                "type": next(
                    (
                        a["AttributeType"]
                        for a in table.get("AttributeDefinitions", [])
                        if a["AttributeName"] == k["AttributeName"]
                    ),
                    None,
                ),
            }
            for k in table.get("KeySchema", [])
        ],
        "billingMode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
        "streamEnabled": bool(stream.get("StreamEnabled")),
        "streamViewType": stream.get("StreamViewType"),
        "streamArn": table.get("LatestStreamArn"),
    }
    try:
        ttl = dynamodb.describe_time_to_live(TableName=table_name).get("TimeToLiveDescription", {})
        out["ttl"] = {"status": ttl.get("TimeToLiveStatus"), "attribute": ttl.get("AttributeName")}
    except Exception as exc:
        out["ttl"] = {"error": _error_text(exc)}
    try:
        backups = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
        out["pointInTimeRecovery"] = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    except Exception as exc:
        out["pointInTimeRecovery"] = {"error": _error_text(exc)}
    return out


def iterator_age_ms(cloudwatch: Any, function_name: str, now: datetime | None = None) -> float | None:
    """The newest IteratorAge (Maximum, ms) CloudWatch holds for the function in the last minutes."""
    now = now or datetime.now(UTC)
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="IteratorAge",
        Dimensions=[{"Name": "FunctionName", "Value": function_name}],
        StartTime=now - ITERATOR_AGE_WINDOW,
        EndTime=now + timedelta(seconds=60),
        Period=60,
        Statistics=["Maximum"],
    )
    points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return points[-1]["Maximum"] if points else None


def mapping_status(mapping: dict[str, Any]) -> dict[str, Any]:
    destination = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    filters = [f.get("Pattern") for f in (mapping.get("FilterCriteria") or {}).get("Filters", [])]
    out = {
        "uuid": mapping.get("UUID"),
        "state": mapping.get("State"),
        "stateTransitionReason": mapping.get("StateTransitionReason"),
        "lastProcessingResult": mapping.get("LastProcessingResult"),
        "eventSourceArn": mapping.get("EventSourceArn"),
        "startingPosition": mapping.get("StartingPosition"),
        "batchSize": mapping.get("BatchSize"),
        "maximumBatchingWindowInSeconds": mapping.get("MaximumBatchingWindowInSeconds"),
        "maximumRetryAttempts": mapping.get("MaximumRetryAttempts"),
        "bisectBatchOnFunctionError": mapping.get("BisectBatchOnFunctionError"),
        "maximumRecordAgeInSeconds": mapping.get("MaximumRecordAgeInSeconds"),
        "parallelizationFactor": mapping.get("ParallelizationFactor"),
        "tumblingWindowInSeconds": mapping.get("TumblingWindowInSeconds"),
        "filters": filters,
        "functionResponseTypes": mapping.get("FunctionResponseTypes") or [],
        "onFailureDestination": destination,
        "lastModified": _iso(mapping.get("LastModified")),
    }
    # The local engine may report the iterator age on the mapping itself.
    for key in ("IteratorAgeMilliseconds", "IteratorAge"):
        if mapping.get(key) is not None:
            out["iteratorAgeMs"] = mapping[key]
    return out


def local_mapping_metrics(endpoint: str, secret: str | None, uuid: str) -> dict[str, Any] | None:
    """The local engine's live numbers for a mapping (GET /_ddbstream/mappings/{uuid}/metrics)."""
    return daemon_get(endpoint, secret, f"/_ddbstream/mappings/{uuid}/metrics")


def function_status(lambda_client: Any, function_name: str) -> dict[str, Any]:
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    return {
        "name": function_name,
        "state": config.get("State"),
        "runtime": config.get("Runtime"),
        "handler": config.get("Handler"),
        "memoryMB": config.get("MemorySize"),
        "timeoutSeconds": config.get("Timeout"),
        "lastModified": _iso(config.get("LastModified")),
        "lastUpdateStatus": config.get("LastUpdateStatus"),
    }


def queue_status(sqs: Any, queue_url: str) -> dict[str, Any]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "QueueArn"],
    ).get("Attributes", {})
    return {
        "url": queue_url,
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def alarms_status(cloudwatch: Any, names: set[str | None]) -> list[dict[str, Any]]:
    """The alarms that watch one of the pipeline's resources (by dimension value or name prefix)."""
    names = {n for n in names if n}
    found = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page.get("MetricAlarms", []):
            dimensions = {d.get("Value") for d in alarm.get("Dimensions", [])}
            name = alarm.get("AlarmName", "")
            if dimensions & names or any(name.startswith(n) for n in names):
                found.append(
                    {
                        "name": name,
                        "state": alarm.get("StateValue"),
                        "reason": alarm.get("StateReason"),
                        "metric": f"{alarm.get('Namespace')}/{alarm.get('MetricName')}",
                    }
                )
    return sorted(found, key=lambda a: a["name"])


def daemon_status(pipeline: Pipeline) -> dict[str, Any]:
    health = (ping(pipeline.endpoint, pipeline.secret) if pipeline.endpoint else None) or {}
    started = health.get("started_at") or pipeline.started_at
    return {
        "pid": pipeline.pid,
        "endpoint": pipeline.endpoint,
        "healthy": bool(health) and health.get("pid") == pipeline.pid,
        "uptimeSeconds": round(time.time() - started) if started else None,
        "components": health.get("components", []),
    }


def local_api_and_bus(pipeline: Pipeline) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """The daemon's HTTP APIs (URL, routes, requests, last 5xx) and its bus rules' delivery counts."""
    if not pipeline.endpoint:
        return None, None
    apis = daemon_get(pipeline.endpoint, pipeline.secret, "/_ddbstream/apis")
    rules = daemon_get(pipeline.endpoint, pipeline.secret, "/_ddbstream/events/rules")
    return (apis or {}).get("apis") or None, (rules or {}).get("rules") or None


# ---------------------------------------------------------------- the report


def collect(pipeline: Pipeline, client: ClientFactory | None = None) -> dict[str, Any]:
    """Every section of the report on ``pipeline`` (read with ``client``, else the pipeline's own clients)."""
    client = client or pipeline.client
    report: dict[str, Any] = {"target": pipeline.target, "region": pipeline.region}
    table_name = pipeline.table.name if pipeline.table else None
    function_name = pipeline.function.name if pipeline.function else None
    queue_url = pipeline.queue.url if pipeline.queue else None
    stream_arn = pipeline.table.stream_arn if pipeline.table else None

    report["table"] = _section(lambda: table_status(client("dynamodb"), table_name)) if table_name else None
    if isinstance(report["table"], dict) and report["table"].get("streamArn"):
        stream_arn = report["table"]["streamArn"]

    mappings: Any = []
    if function_name or stream_arn:

        def read_mappings() -> list[dict[str, Any]]:
            lambda_client = client("lambda")
            kwargs = {"FunctionName": function_name} if function_name else {"EventSourceArn": stream_arn}
            found = []
            for page in lambda_client.get_paginator("list_event_source_mappings").paginate(**kwargs):
                found += [mapping_status(m) for m in page.get("EventSourceMappings", [])]
            return found

        mappings = _section(read_mappings)
        if isinstance(mappings, list) and pipeline.is_local and pipeline.endpoint:
            for mapping in mappings:
                metrics = local_mapping_metrics(pipeline.endpoint, pipeline.secret, mapping["uuid"]) or {}
                if metrics.get("IteratorAgeMilliseconds") is not None:
                    mapping["iteratorAgeMs"] = metrics["IteratorAgeMilliseconds"]
                if metrics.get("PendingRecords") is not None:
                    mapping["pendingRecords"] = metrics["PendingRecords"]
        if isinstance(mappings, list) and function_name and mappings:
            age = _section(lambda: iterator_age_ms(client("cloudwatch"), function_name))
            for mapping in mappings:
                if "iteratorAgeMs" not in mapping:
                    mapping["iteratorAgeMs"] = age if not isinstance(age, dict) else None
    report["mappings"] = mappings
    report["function"] = _section(lambda: function_status(client("lambda"), function_name)) if function_name else None
    report["dlq"] = _section(lambda: queue_status(client("sqs"), queue_url)) if queue_url else None
    watched = {table_name, function_name, pipeline.queue.name if pipeline.queue else None}
    report["alarms"] = _section(lambda: alarms_status(client("cloudwatch"), watched))
    report["daemon"] = daemon_status(pipeline) if pipeline.is_local else None
    report["apis"], report["bus"] = local_api_and_bus(pipeline) if pipeline.is_local else (None, None)
    report["problems"] = problems(report)
    return report


def problems(report: dict[str, Any]) -> list[str]:
    """What makes the pipeline unhealthy, one sentence each."""
    found: list[str] = []

    def unreadable(name: str, section: Any) -> bool:
        if isinstance(section, dict) and "error" in section:
            found.append(f"cannot read the {name}: {section['error']}")
            return True
        return False

    table = report.get("table")
    if table is not None and not unreadable("table", table):
        if table.get("status") != "ACTIVE":
            found.append(f"table {table['name']} is {table.get('status')}")
        if not table.get("streamEnabled"):
            found.append(f"table {table['name']} has no stream enabled")
    mappings = report.get("mappings")
    if not unreadable("event source mappings", mappings):
        if report.get("function") is not None and not mappings:
            found.append("the function has no event source mapping")
        for mapping in mappings or []:
            if mapping.get("state") != "Enabled":
                found.append(f"mapping {mapping['uuid']} is {mapping.get('state')}, not Enabled")
            result = mapping.get("lastProcessingResult") or ""
            if result.upper().startswith("PROBLEM"):
                found.append(f"mapping {mapping['uuid']}: last processing result is {result!r}")
    function = report.get("function")
    if function is not None and not unreadable("function", function):
        if function.get("state") not in (None, "Active"):
            found.append(f"function {function['name']} is {function['state']}")
    dlq = report.get("dlq")
    if dlq is not None and not unreadable("dead-letter queue", dlq):
        held = dlq["visible"] + dlq["inFlight"]
        if held:
            found.append(f"the dead-letter queue holds {held} message(s): see 'ddbstream dlq list'")
    alarms = report.get("alarms")
    if not unreadable("alarms", alarms):
        for alarm in alarms or []:
            if alarm.get("state") == "ALARM":
                found.append(f"alarm {alarm['name']} is in ALARM")
    daemon = report.get("daemon")
    if daemon is not None and not daemon.get("healthy"):
        found.append(f"the local daemon (pid {daemon.get('pid')}) does not answer its health check")
    for rule in report.get("bus") or []:
        if rule.get("failed"):
            last = rule.get("last_error")
            found.append(f"bus rule {rule['rule']}: {rule['failed']} failed deliveries (last: {last})")
    return found
