data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  arn_prefix = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}"
  # "default" always exists; any other bus is created here.
  create_bus     = var.name != "default"
  bus_name       = local.create_bus ? aws_cloudwatch_event_bus.this[0].name : var.name
  bus_arn        = local.create_bus ? aws_cloudwatch_event_bus.this[0].arn : "${local.arn_prefix}:event-bus/default"
  create_queue   = var.create_rule && var.enable_queue_target
  log_group_name = "/aws/events/${var.rule_name}"
}

resource "aws_cloudwatch_event_bus" "this" {
  count = local.create_bus ? 1 : 0

  name = var.name

  tags = var.tags
}

# ---------------------------------------------------------------- the rule and its log group target

resource "aws_cloudwatch_event_rule" "this" {
  count = var.create_rule ? 1 : 0

  name           = var.rule_name
  description    = "Events the CRUD API puts on the bus after a successful POST."
  event_bus_name = local.bus_name
  event_pattern  = jsonencode({ source = [var.event_source], "detail-type" = [var.event_detail_type] })
  state          = "ENABLED"

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:The events carry the API's items, no secrets; CloudWatch encrypts them at rest with its own key. Pass log_kms_key_arn for a customer key.
  #checkov:skip=CKV_AWS_338:Retention is the user's choice (log_retention_days, 14 days by default); a year of bus events is rarely wanted.
  count = var.create_rule ? 1 : 0

  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

# EventBridge writes to a log group only when a resource policy lets it.
data "aws_iam_policy_document" "logs" {
  count = var.create_rule ? 1 : 0

  statement {
    sid       = "EventBridgeWritesRuleLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "this" {
  count = var.create_rule ? 1 : 0

  policy_name     = "${var.rule_name}-events-to-logs"
  policy_document = data.aws_iam_policy_document.logs[0].json
}

resource "aws_cloudwatch_event_target" "this" {
  count = var.create_rule ? 1 : 0

  rule           = aws_cloudwatch_event_rule.this[0].name
  event_bus_name = local.bus_name
  target_id      = "log-group"
  arn            = aws_cloudwatch_log_group.this[0].arn

  depends_on = [aws_cloudwatch_log_resource_policy.this]
}

# ---------------------------------------------------------------- the optional SQS target

resource "aws_sqs_queue" "this" {
  count = local.create_queue ? 1 : 0

  name                      = var.rule_name
  message_retention_seconds = var.queue_message_retention_seconds
  sqs_managed_sse_enabled   = true

  tags = var.tags
}

data "aws_iam_policy_document" "queue" {
  count = local.create_queue ? 1 : 0

  statement {
    sid       = "EventBridgeSendsRuleEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.this[0].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  count = local.create_queue ? 1 : 0

  queue_url = aws_sqs_queue.this[0].id
  policy    = data.aws_iam_policy_document.queue[0].json
}

resource "aws_cloudwatch_event_target" "queue" {
  count = local.create_queue ? 1 : 0

  rule           = aws_cloudwatch_event_rule.this[0].name
  event_bus_name = local.bus_name
  target_id      = "queue"
  arn            = aws_sqs_queue.this[0].arn

  depends_on = [aws_sqs_queue_policy.this]
}
