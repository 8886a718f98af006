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

    def alarm(
        name: str,
        description: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        statistic: str,
        threshold: float,
    ) -> dict[str, Any]:
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

    on_function = {"FunctionName": function_name}
    on_table = {"TableName": table_name}
    alarms = {
        "errors": alarm(
            f"{function_name}-errors",
            "The stream consumer raised errors.",
            "AWS/Lambda",
            "Errors",
            on_function,
            "Sum",
            0,
        ),
        "throttles": alarm(
            f"{function_name}-throttles",
            "Invocations of the stream consumer were throttled.",
            "AWS/Lambda",
            "Throttles",
            on_function,
            "Sum",
            0,
        ),
        "duration": alarm(
            f"{function_name}-duration",
            "An invocation of the stream consumer came close to its timeout.",
            "AWS/Lambda",
            "Duration",
            on_function,
            "Maximum",
            duration_threshold_ms(spec),
        ),
        "iterator_age": alarm(
            f"{function_name}-iterator-age",
            "The consumer is falling behind the stream.",
            "AWS/Lambda",
            "IteratorAge",
            on_function,
            "Maximum",
            int(spec["alarm_iterator_age_ms"]),
        ),
        "read_throttles": alarm(
            f"{table_name}-read-throttles",
            "Reads of the table were throttled.",
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            on_table,
            "Sum",
            0,
        ),
        "write_throttles": alarm(
            f"{table_name}-write-throttles",
            "Writes to the table were throttled.",
            "AWS/DynamoDB",
            "WriteThrottleEvents",
            on_table,
            "Sum",
            0,
        ),
    }
    if queue_name:
        alarms["dlq_messages"] = alarm(
            f"{queue_name}-messages-visible",
            "Failed stream records are waiting in the dead-letter queue.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": queue_name},
            "Maximum",
            0,
        )
    return alarms


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
