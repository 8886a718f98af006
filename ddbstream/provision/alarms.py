"""CloudWatch alarms on the pipeline, as infra/modules/alarms defines them, notifying the topic."""

from __future__ import annotations

from typing import Any

from ddbstream.provision.run import Provisioning
from ddbstream.spec import Spec

# Fixed by infra/modules/alarms (its variables' defaults, not pipeline variables).
PERIOD = 300
EVALUATION_PERIODS = 1


def duration_threshold_ms(spec: Spec) -> int:
    """alarm_duration_ms, else 80% of the function's timeout."""
    value = spec.get("alarm_duration_ms")
    return int(value) if value is not None else int(spec["lambda_timeout"]) * 800


def alarm_definitions(
    spec: Spec, function_name: str, table_name: str, queue_name: str | None
) -> dict[str, dict[str, Any]]:
    """Alarms by key, with infra/modules/alarms' attribute names."""
    alarms = {**_function_alarms(spec, function_name), **_table_alarms(table_name)}
    if queue_name:
        alarms["dlq_messages"] = _alarm(
            f"{queue_name}-messages-visible",
            "Failed stream records are waiting in the dead-letter queue.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": queue_name},
            "Maximum",
            0,
        )
    return alarms


def _alarm(
    name: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    statistic: str,
    threshold: float,
) -> dict[str, Any]:
    """One alarm that fires above ``threshold``."""
    return {
        "alarm_name": name,
        "description": description,
        "namespace": namespace,
        "metric_name": metric,
        "dimensions": dimensions,
        "statistic": statistic,
        "comparison_operator": "GreaterThanThreshold",
        "threshold": threshold,
    }


def _function_alarms(spec: Spec, function_name: str) -> dict[str, dict[str, Any]]:
    """The consumer's errors, throttles, near-timeouts and falling behind the stream."""
    on_function = {"FunctionName": function_name}

    def on_lambda(suffix: str, description: str, metric: str, statistic: str, threshold: float) -> dict[str, Any]:
        return _alarm(f"{function_name}-{suffix}", description, "AWS/Lambda", metric, on_function, statistic, threshold)

    return {
        "errors": on_lambda("errors", "The stream consumer raised errors.", "Errors", "Sum", 0),
        "throttles": on_lambda(
            "throttles", "Invocations of the stream consumer were throttled.", "Throttles", "Sum", 0
        ),
        "duration": on_lambda(
            "duration",
            "An invocation of the stream consumer came close to its timeout.",
            "Duration",
            "Maximum",
            duration_threshold_ms(spec),
        ),
        "iterator_age": on_lambda(
            "iterator-age",
            "The consumer is falling behind the stream.",
            "IteratorAge",
            "Maximum",
            int(spec["alarm_iterator_age_ms"]),
        ),
    }


def _table_alarms(table_name: str) -> dict[str, dict[str, Any]]:
    """Throttled reads and writes of the table."""
    on_table = {"TableName": table_name}
    return {
        "read_throttles": _alarm(
            f"{table_name}-read-throttles",
            "Reads of the table were throttled.",
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            on_table,
            "Sum",
            0,
        ),
        "write_throttles": _alarm(
            f"{table_name}-write-throttles",
            "Writes to the table were throttled.",
            "AWS/DynamoDB",
            "WriteThrottleEvents",
            on_table,
            "Sum",
            0,
        ),
    }


def provision_alarms(run: Provisioning) -> None:
    """PutMetricAlarm for each alarm (it creates or replaces); records their names."""
    spec, client, resources, progress = run.spec, run.client, run.resources, run.progress
    if not spec.get("enable_alarms"):
        return
    names = spec.resource_names()
    function_name = resources.get("function_name") or names["function_name"]
    table_name = resources.get("table_name") or names["table_name"]
    queue_name = names["dlq_name"] if spec.get("enable_dlq") else None
    actions = [resources["topic_arn"]] if resources.get("topic_arn") else []
    tags = [{"Key": str(k), "Value": str(v)} for k, v in (spec.get("tags") or {}).items()]
    cloudwatch = client("cloudwatch")
    alarms = alarm_definitions(spec, function_name, table_name, queue_name)
    progress(f"creating {len(alarms)} alarms")
    for alarm in alarms.values():
        cloudwatch.put_metric_alarm(
            AlarmName=alarm["alarm_name"],
            AlarmDescription=alarm["description"],
            Namespace=alarm["namespace"],
            MetricName=alarm["metric_name"],
            Dimensions=[{"Name": k, "Value": v} for k, v in alarm["dimensions"].items()],
            Statistic=alarm["statistic"],
            ComparisonOperator=alarm["comparison_operator"],
            Threshold=float(alarm["threshold"]),
            Period=PERIOD,
            EvaluationPeriods=EVALUATION_PERIODS,
            TreatMissingData="notBreaching",
            ActionsEnabled=True,
            AlarmActions=actions,
            OKActions=actions,
            **({"Tags": tags} if tags else {}),
        )
    resources.update(alarm_names={key: alarm["alarm_name"] for key, alarm in alarms.items()})
