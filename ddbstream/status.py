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
from ddbstream.metrics import key_metrics
from ddbstream.pipeline import Pipeline
from ddbstream.plan.others import other_deployed

ClientFactory = Callable[[str], Any]
ITERATOR_AGE_WINDOW = timedelta(minutes=5)
RECENT_ERRORS_MINUTES = 5  # how far back the consumer's log is read for failed invocations
ITERATOR_AGE_LIMIT_MS = 60_000  # a mapping further behind than this (with records still to read) is unhealthy


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


def local_interpreter(endpoint: str, secret: str | None, runtime: str) -> dict[str, Any] | None:
    """The executable the local daemon runs ``runtime`` with, and its warning when that is a stand-in."""
    found = daemon_get(endpoint, secret, f"/_ddbstream/runtimes/{runtime}")
    return {"executable": found.get("executable"), "warning": found.get("warning")} if found else None


def recent_errors(logs: Any, log_group: str, now: datetime | None = None) -> dict[str, Any]:
    """The consumer's invocations in the last RECENT_ERRORS_MINUTES, read from its log: how many,
    how many failed (an error, a timeout, a crash or a failed record), and how many of the latest
    failed one after another (none succeeded since: the consumer is failing now)."""
    from ddbstream.load.handler_log import HandlerLog  # parses START ... REPORT into invocations

    now = now or datetime.now(UTC)
    log = HandlerLog(logs, log_group, int((now - timedelta(minutes=RECENT_ERRORS_MINUTES)).timestamp() * 1000))
    log.poll()
    ended = sorted((i for i in log.invocations.values() if i.closed), key=lambda i: i.order)
    failing = 0
    for invocation in reversed(ended):
        if invocation.clean:
            break
        failing += 1
    return {
        "windowMinutes": RECENT_ERRORS_MINUTES,
        "invocations": len(ended),
        "failed": sum(not i.clean for i in ended),
        "failingSinceLastSuccess": failing,
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
                        "changed": _iso(alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")),
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
    """The daemon's HTTP APIs (URL, routes, requests, last 5xx) and its bus rules' delivery counts:
    the API and bus `up` recorded when there are some, else every one the daemon has."""
    if not pipeline.endpoint:
        return None, None
    apis = (daemon_get(pipeline.endpoint, pipeline.secret, "/_ddbstream/apis") or {}).get("apis") or []
    rules = (daemon_get(pipeline.endpoint, pipeline.secret, "/_ddbstream/events/rules") or {}).get("rules") or []
    if pipeline.api is not None:
        apis = [api for api in apis if api.get("apiId") == pipeline.api.id]
    if pipeline.event_bus is not None:
        rules = [rule for rule in rules if rule.get("bus") == pipeline.event_bus.name]
        if pipeline.event_rule is not None:
            arn = f"arn:aws:events:{pipeline.region}:{pipeline.account}:rule/{pipeline.event_bus.name}/"
            arn += pipeline.event_rule.name
            if not any(rule.get("rule") == arn for rule in rules):  # nothing matched it yet
                rules.append({"rule": arn, "bus": pipeline.event_bus.name, "matched": 0, "delivered": 0, "failed": 0})
    return apis or None, rules or None


def aws_api_status(gateway: Any, pipeline: Pipeline) -> list[dict[str, Any]] | None:
    """The recorded HTTP API on AWS: its name, URL and routes (None when `up` made none)."""
    api = pipeline.api
    if api is None:
        return None
    try:
        name = gateway.get_api(ApiId=api.id).get("Name")
        routes = sorted(r["RouteKey"] for r in gateway.get_routes(ApiId=api.id).get("Items", []))
    except Exception as exc:  # shown in place of the routes, as other sections show theirs
        name, routes = "-", [f"cannot read the API: {_error_text(exc)}"]
    return [{"apiId": api.id, "name": name, "url": api.url, "routes": routes}]


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
    _add_local_interpreter(pipeline, report["function"])
    log_group = pipeline.function.log_group if pipeline.function else None
    report["recentErrors"] = _section(lambda: recent_errors(client("logs"), log_group)) if log_group else None
    report["dlq"] = _section(lambda: queue_status(client("sqs"), queue_url)) if queue_url else None
    watched = {table_name, function_name, pipeline.queue.name if pipeline.queue else None}
    report["alarms"] = _section(lambda: alarms_status(client("cloudwatch"), watched))
    report["metrics"] = _section(lambda: key_metrics(client("cloudwatch"), pipeline))  # status_view's sparklines
    report["daemon"] = daemon_status(pipeline) if pipeline.is_local else None
    # What else the daemon runs (an old pipeline `up --keep-old` left): listed, never a problem.
    report["others"] = _section(lambda: other_deployed(pipeline, client)) if pipeline.is_local else None
    if pipeline.is_local:
        report["apis"], report["bus"] = local_api_and_bus(pipeline)
    else:
        report["apis"] = aws_api_status(client("apigatewayv2"), pipeline) if pipeline.api else None
        report["bus"] = None
    report["problems"] = problems(report)
    return report


def _add_local_interpreter(pipeline: Pipeline, function: dict[str, Any] | None) -> None:
    """On the local target, which executable runs the function (and the stand-in warning)."""
    if pipeline.is_local and pipeline.endpoint and function and function.get("runtime"):
        function["localInterpreter"] = local_interpreter(pipeline.endpoint, pipeline.secret, function["runtime"])


def problems(report: dict[str, Any]) -> list[str]:
    """What makes the pipeline unhealthy now, one sentence each.

    Judged on current facts: resource and mapping states, how far a mapping lags behind its
    stream, the DLQ's depth, alarms in ALARM, and the consumer failing in its latest invocations.
    The mapping's LastProcessingResult is shown, not judged: it keeps a past failure until the
    next batch, even once the handler is fixed and the DLQ replayed.
    """
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
            lag = _lagging(mapping)
            if lag:
                found.append(lag)
    function = report.get("function")
    if function is not None and not unreadable("function", function):
        if function.get("state") not in (None, "Active"):
            found.append(f"function {function['name']} is {function['state']}")
    errors = report.get("recentErrors")
    if errors is not None and not unreadable("consumer's recent invocations", errors):
        failing = errors["failingSinceLastSuccess"]
        if failing:
            found.append(
                f"the consumer's last {failing} invocation(s) failed, none succeeded since "
                f"(last {errors['windowMinutes']} min): see 'ddbstream tail --since {errors['windowMinutes']}m'"
            )
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


def _lagging(mapping: dict[str, Any]) -> str | None:
    """A sentence when the mapping is over ITERATOR_AGE_LIMIT_MS behind and still has records to read."""
    age = mapping.get("iteratorAgeMs")
    if age is None or float(age) <= ITERATOR_AGE_LIMIT_MS or mapping.get("pendingRecords") == 0:
        return None  # no pending records: the age is the last batch's, and the mapping has caught up since
    return (
        f"mapping {mapping['uuid']} is {float(age) / 1000:.0f} s behind its stream "
        f"(iterator age over {ITERATOR_AGE_LIMIT_MS / 1000:g} s)"
    )
