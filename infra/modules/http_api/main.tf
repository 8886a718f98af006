data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition          = data.aws_partition.current.partition
  region             = data.aws_region.current.id
  account_id         = data.aws_caller_identity.current.account_id
  function_log_group = "/aws/lambda/${var.function_name}"
  function_log_arn   = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.function_log_group}"
  role_name          = substr("${var.function_name}-role", 0, 64)
  routes             = [for method in var.methods : "${method} ${var.path}"]

  # The public Powertools layer (lambda/api imports aws_lambda_powertools; locally it comes from ddbstream).
  powertools_layer = "arn:${local.partition}:lambda:${local.region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-${replace(var.runtime, ".", "")}-x86_64:${var.powertools_layer_version}"

  # API Gateway's $context variables, one JSON object per request.
  access_log_format = jsonencode({
    requestId               = "$context.requestId"
    ip                      = "$context.identity.sourceIp"
    requestTime             = "$context.requestTime"
    httpMethod              = "$context.httpMethod"
    routeKey                = "$context.routeKey"
    path                    = "$context.path"
    status                  = "$context.status"
    protocol                = "$context.protocol"
    responseLength          = "$context.responseLength"
    responseLatency         = "$context.responseLatency"
    integrationErrorMessage = "$context.integrationErrorMessage"
  })
}

# ---------------------------------------------------------------- the function

data "archive_file" "this" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.root}/.terraform/builds/${var.function_name}.zip"
  excludes    = ["__pycache__", "requirements.txt", "README.md"]
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:Lambda logs carry no secrets; CloudWatch encrypts them at rest with its own key. Pass log_kms_key_arn for a customer key.
  #checkov:skip=CKV_AWS_338:Retention is the user's choice (log_retention_days, 14 days by default); a year of API function logs is rarely wanted.
  name              = local.function_log_group
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

# Least privilege: the four item operations on this table, this log group, this bus.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "CrudOnTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [var.table_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.function_log_arn}:*"]
  }

  dynamic "statement" {
    for_each = var.attach_table_kms_policy ? [var.table_kms_key_arn] : []

    content {
      sid       = "UseTableKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  # The seed's PutLambdaEventBridge policy, scoped to the one bus.
  dynamic "statement" {
    for_each = var.attach_event_bus_policy ? [var.event_bus_arn] : []

    content {
      sid       = "PutLambdaEventBridge"
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
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the stage's throttling (throttling_rate_limit, throttling_burst_limit), not by a reservation.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway, which returns the error to the caller; a function DLQ only serves async invokes.
  #checkov:skip=CKV_AWS_117:The function reaches only AWS APIs; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_173:The environment holds resource names only, encrypted at rest by Lambda's AWS-managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile outside this stack; the package is built from the repository by Terraform.
  function_name    = var.function_name
  description      = "CRUD API behind the HTTP API ${var.name} (deployed by ddbstream)"
  role             = aws_iam_role.this.arn
  runtime          = var.runtime
  handler          = var.handler
  memory_size      = var.memory_size
  timeout          = var.timeout
  filename         = data.archive_file.this.output_path
  source_code_hash = data.archive_file.this.output_base64sha256
  layers           = [local.powertools_layer]

  environment {
    variables = var.environment
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.this]
}

# ---------------------------------------------------------------- the HTTP API

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "CRUD API on ${var.path} (deployed by ddbstream)"

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "this" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this.arn
  payload_format_version = "2.0"
  timeout_milliseconds   = var.integration_timeout_ms
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:The seed's CRUD API is public like the seed's; put a JWT or IAM authorizer in front for real data.
  for_each = toset(local.routes)

  api_id    = aws_apigatewayv2_api.this.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.this.id}"
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Access logs carry no secrets; CloudWatch encrypts them at rest with its own key. Pass log_kms_key_arn for a customer key.
  #checkov:skip=CKV_AWS_338:Retention is the user's choice (log_retention_days, 14 days by default); a year of access logs is rarely wanted.
  name              = var.access_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.this.arn
    format          = local.access_log_format
  }

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  tags = var.tags
}

# API Gateway may invoke the function for this API's routes on the path, and nothing else.
resource "aws_lambda_permission" "this" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*${var.path}"
}
