locals {
  # Plain maps of literals and variables: ddbstream's local target creates the same
  # alarms, and tests/test_infra_agreement.py compares them entry by entry.
  lambda_alarms = {
    errors = {
      alarm_name          = "${var.function_name}-errors"
      description         = "The stream consumer raised errors."
      namespace           = "AWS/Lambda"
      metric_name         = "Errors"
      dimensions          = { FunctionName = var.function_name }
      statistic           = "Sum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
    }
    throttles = {
      alarm_name          = "${var.function_name}-throttles"
      description         = "Invocations of the stream consumer were throttled."
      namespace           = "AWS/Lambda"
      metric_name         = "Throttles"
      dimensions          = { FunctionName = var.function_name }
      statistic           = "Sum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
    }
    duration = {
      alarm_name          = "${var.function_name}-duration"
      description         = "An invocation of the stream consumer came close to its timeout."
      namespace           = "AWS/Lambda"
      metric_name         = "Duration"
      dimensions          = { FunctionName = var.function_name }
      statistic           = "Maximum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = var.duration_threshold_ms
    }
    iterator_age = {
      alarm_name          = "${var.function_name}-iterator-age"
      description         = "The consumer is falling behind the stream."
      namespace           = "AWS/Lambda"
      metric_name         = "IteratorAge"
      dimensions          = { FunctionName = var.function_name }
      statistic           = "Maximum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = var.iterator_age_threshold_ms
    }
  }

  table_alarms = {
    read_throttles = {
      alarm_name          = "${var.table_name}-read-throttles"
      description         = "Reads of the table were throttled."
      namespace           = "AWS/DynamoDB"
      metric_name         = "ReadThrottleEvents"
      dimensions          = { TableName = var.table_name }
      statistic           = "Sum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
    }
    write_throttles = {
      alarm_name          = "${var.table_name}-write-throttles"
      description         = "Writes to the table were throttled."
      namespace           = "AWS/DynamoDB"
      metric_name         = "WriteThrottleEvents"
      dimensions          = { TableName = var.table_name }
      statistic           = "Sum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
    }
  }

  queue_alarms = {
    dlq_messages = {
      alarm_name          = "${var.queue_name}-messages-visible"
      description         = "Failed stream records are waiting in the dead-letter queue."
      namespace           = "AWS/SQS"
      metric_name         = "ApproximateNumberOfMessagesVisible"
      dimensions          = { QueueName = var.queue_name }
      statistic           = "Maximum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
    }
  }

  alarms = merge(local.lambda_alarms, local.table_alarms, var.create_queue_alarm ? local.queue_alarms : {})
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.alarm_name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  comparison_operator = each.value.comparison_operator
  threshold           = each.value.threshold
  period              = var.period
  evaluation_periods  = var.evaluation_periods
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
