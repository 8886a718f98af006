data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"
  role_name      = coalesce(var.role_name, substr("${var.function_name}-role", 0, 64))

  # A Node.js consumer with a lockfile is zipped with its node_modules, installed by npm ci.
  npm_ci = startswith(var.runtime, "nodejs") && fileexists("${var.source_dir}/package-lock.json")
}

# npm ci in source_dir when the lockfile changes; the archive below is then read after it.
resource "terraform_data" "this" {
  count = local.npm_ci ? 1 : 0

  triggers_replace = [filesha256("${var.source_dir}/package-lock.json")]

  provisioner "local-exec" {
    command     = "npm ci --omit=dev --no-audit --no-fund"
    working_dir = var.source_dir
  }
}

data "archive_file" "this" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.root}/.terraform/builds/${var.function_name}.zip"
  excludes    = var.source_excludes

  depends_on = [terraform_data.this]

  lifecycle {
    # Read at plan time when npm ci has nothing to do: node_modules must be there (a fresh clone).
    precondition {
      condition     = !local.npm_ci || fileexists("${var.source_dir}/node_modules/.package-lock.json")
      error_message = "The Node.js consumer's node_modules is missing: run 'npm ci' in its directory (lambda_source_dir)."
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Lambda logs carry no secrets; CloudWatch encrypts them at rest with its own key. Pass log_kms_key_arn for a customer key.
  #checkov:skip=CKV_AWS_338:Retention is the user's choice (log_retention_days, 14 days by default); a year of stream-consumer logs is rarely wanted.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = local.role_name
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

# Least privilege: this stream, this log group, and only the sinks that exist.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ReadStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [var.stream_arn]
  }

  statement {
    sid       = "ListTableStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["${var.table_arn}/stream/*"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  dynamic "statement" {
    for_each = var.attach_table_kms_policy ? [var.table_kms_key_arn] : []

    content {
      sid       = "DecryptStream"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.attach_dlq_policy ? [var.dlq_arn] : []

    content {
      sid       = "SendToDeadLetterQueue"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.attach_topic_policy ? [var.topic_arn] : []

    content {
      sid       = "PublishToTopic"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.attach_topic_policy && var.attach_topic_kms_policy ? [var.topic_kms_key_arn] : []

    content {
      sid       = "EncryptForTopic"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.attach_audit_policy ? [var.audit_bucket_arn] : []

    content {
      sid       = "WriteAuditObjects"
      actions   = ["s3:PutObject"]
      resources = ["${statement.value}/${var.audit_prefix}*"]
    }
  }

  dynamic "statement" {
    for_each = var.attach_event_bus_policy ? [var.event_bus_arn] : []

    content {
      sid       = "PutEventsOnBus"
      actions   = ["events:PutEvents"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.role_name}-policy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:X-Ray needs xray:PutTraceSegments on "*"; tracing is left to the user.
  #checkov:skip=CKV_AWS_115:Concurrency of a stream consumer is bounded by shards x parallelization_factor, not by a reservation.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the event source mapping, whose on-failure destination is the DLQ; a function DLQ only serves async invokes.
  #checkov:skip=CKV_AWS_117:The consumer reaches only AWS APIs; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_173:The environment holds resource names only, encrypted at rest by Lambda's AWS-managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile outside this stack; the package is built from the repository by Terraform.
  function_name    = var.function_name
  description      = var.description
  role             = aws_iam_role.this.arn
  runtime          = var.runtime
  handler          = var.handler
  memory_size      = var.memory_size
  timeout          = var.timeout
  filename         = data.archive_file.this.output_path
  source_code_hash = data.archive_file.this.output_base64sha256

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []

    content {
      variables = environment.value
    }
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}
