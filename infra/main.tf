# The DynamoDB Streams -> Lambda pipeline. ddbstream's local target provisions the same
# resources from the same variables (ddbstream/provision/); tests/test_infra_agreement.py
# keeps the two in step.

provider "aws" {
  region = var.aws_region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id

  # Names derived from null variables (ddbstream/spec.py derives the same ones).
  function_name     = coalesce(var.function_name, "${var.table_name}_stream_consumer")
  dlq_name          = coalesce(var.dlq_name, "${var.table_name}-dlq")
  topic_name        = coalesce(var.topic_name, "${var.table_name}-events")
  audit_bucket_name = coalesce(var.audit_bucket_name, replace(lower("${var.table_name}-audit-${local.account_id}"), "/[^a-z0-9.-]/", "-"))
  alarm_duration_ms = coalesce(var.alarm_duration_ms, var.lambda_timeout * 800)
  lambda_source_dir = coalesce(var.lambda_source_dir, "${path.root}/../lambda")

  # Alarms notify the topic, so they bring it along even without notifications.
  create_topic = var.enable_notifications || var.enable_alarms

  # One bus for the consumer's forwarding (event_bus_name) and the API's events (enable_event_bus).
  event_bus_name = var.enable_event_bus ? coalesce(var.event_bus_name, "${var.table_name}-bus") : var.event_bus_name

  # The CRUD API (lambda/api) and the rule matching what it puts on the bus (ddbstream/provision/
  # http_api.py and event_bus.py derive the same names).
  api_name              = "${var.table_name}-api"
  api_function_name     = "${var.table_name}_api"
  api_access_log_group  = "/aws/apigateway/${var.table_name}-api"
  event_rule_name       = "${var.table_name}-item-created"
  api_event_source      = "crud.api"
  api_event_detail_type = "ItemCreated"
  api_event_bus_settings = local.event_bus_name == null ? {} : {
    EVENT_BUS_NAME    = local.event_bus_name
    EVENT_SOURCE      = local.api_event_source
    EVENT_DETAIL_TYPE = local.api_event_detail_type
  }

  # The consumer's contract (lambda/handler.py): an unset variable turns its sink off.
  consumer_environment = merge(
    var.lambda_environment,
    { TABLE_NAME = module.dynamodb_table.table_name },
    var.enable_dlq ? { DLQ_URL = module.dlq[0].queue_url } : {},
    var.enable_notifications ? {
      TOPIC_ARN          = module.notifications[0].topic_arn
      NOTIFY_EVENT_NAMES = join(",", var.notify_event_names)
    } : {},
    var.enable_audit ? {
      AUDIT_BUCKET = module.audit[0].bucket
      AUDIT_PREFIX = var.audit_prefix
    } : {},
    var.event_bus_name == null ? {} : { EVENT_BUS_NAME = var.event_bus_name },
    var.fail_attribute == null ? {} : { FAIL_ATTRIBUTE = var.fail_attribute },
  )
}

module "dynamodb_table" {
  source = "./modules/dynamodb_table"

  name                     = var.table_name
  billing_mode             = var.billing_mode
  read_capacity            = var.read_capacity
  write_capacity           = var.write_capacity
  hash_key                 = var.hash_key
  hash_key_type            = var.hash_key_type
  range_key                = var.range_key
  range_key_type           = var.range_key_type
  stream_view_type         = var.stream_view_type
  ttl_attribute            = var.ttl_attribute
  point_in_time_recovery   = var.point_in_time_recovery
  server_side_encryption   = var.server_side_encryption
  kms_key_arn              = var.kms_key_arn
  global_secondary_indexes = var.global_secondary_indexes
  deletion_protection      = var.deletion_protection

  tags = var.tags
}

module "dlq" {
  source = "./modules/dlq"
  count  = var.enable_dlq ? 1 : 0

  name                      = local.dlq_name
  message_retention_seconds = var.dlq_message_retention_seconds

  tags = var.tags
}

module "notifications" {
  source = "./modules/notifications"
  count  = local.create_topic ? 1 : 0

  name  = local.topic_name
  email = var.notification_email

  tags = var.tags
}

module "audit" {
  source = "./modules/audit"
  count  = var.enable_audit ? 1 : 0

  name            = local.audit_bucket_name
  prefix          = var.audit_prefix
  transition_days = var.audit_transition_days
  expiration_days = var.audit_expiration_days
  # deletion_protection guards the data: the table's and, here, the audit trail's.
  force_destroy = !var.deletion_protection

  tags = var.tags
}

module "event_bus" {
  source = "./modules/event_bus"
  count  = local.event_bus_name == null ? 0 : 1

  name                = local.event_bus_name
  create_rule         = var.enable_event_bus
  rule_name           = local.event_rule_name
  event_source        = local.api_event_source
  event_detail_type   = local.api_event_detail_type
  enable_queue_target = var.enable_event_bus_queue
  log_retention_days  = var.log_retention_days

  tags = var.tags
}

# The bus was a root resource before the event_bus module.
moved {
  from = aws_cloudwatch_event_bus.this[0]
  to   = module.event_bus[0].aws_cloudwatch_event_bus.this[0]
}

module "lambda_consumer" {
  source = "./modules/lambda_consumer"

  function_name      = local.function_name
  source_dir         = local.lambda_source_dir
  runtime            = var.lambda_runtime
  handler            = var.lambda_handler
  memory_size        = var.lambda_memory_size
  timeout            = var.lambda_timeout
  environment        = local.consumer_environment
  log_retention_days = var.log_retention_days

  table_arn               = module.dynamodb_table.table_arn
  stream_arn              = module.dynamodb_table.stream_arn
  attach_table_kms_policy = var.server_side_encryption && var.kms_key_arn != null
  table_kms_key_arn       = var.kms_key_arn

  attach_dlq_policy = var.enable_dlq
  dlq_arn           = try(module.dlq[0].queue_arn, null)

  attach_topic_policy     = var.enable_notifications
  topic_arn               = try(module.notifications[0].topic_arn, null)
  attach_topic_kms_policy = var.enable_notifications
  topic_kms_key_arn       = try(module.notifications[0].kms_key_arn, null)

  attach_audit_policy = var.enable_audit
  audit_bucket_arn    = try(module.audit[0].bucket_arn, null)
  audit_prefix        = var.audit_prefix

  attach_event_bus_policy = var.event_bus_name != null
  event_bus_arn           = try(module.event_bus[0].bus_arn, null)

  tags = var.tags
}

module "event_mapping" {
  source = "./modules/event_mapping"

  event_source_arn                   = module.dynamodb_table.stream_arn
  function_name                      = module.lambda_consumer.function_arn
  starting_position                  = var.starting_position
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  maximum_retry_attempts             = var.maximum_retry_attempts
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  parallelization_factor             = var.parallelization_factor
  tumbling_window_in_seconds         = var.tumbling_window_in_seconds
  function_response_types            = var.function_response_types
  filter_patterns                    = var.filter_patterns

  attach_on_failure_destination = var.enable_dlq
  on_failure_destination_arn    = try(module.dlq[0].queue_arn, null)
}

module "alarms" {
  source = "./modules/alarms"
  count  = var.enable_alarms ? 1 : 0

  function_name             = module.lambda_consumer.function_name
  table_name                = module.dynamodb_table.table_name
  create_queue_alarm        = var.enable_dlq
  queue_name                = try(module.dlq[0].queue_name, null)
  duration_threshold_ms     = local.alarm_duration_ms
  iterator_age_threshold_ms = var.alarm_iterator_age_ms
  alarm_actions             = [module.notifications[0].topic_arn]

  tags = var.tags
}

module "http_api" {
  source = "./modules/http_api"
  count  = var.enable_api ? 1 : 0

  name                  = local.api_name
  function_name         = local.api_function_name
  source_dir            = "${path.root}/../lambda/api"
  access_log_group_name = local.api_access_log_group
  log_retention_days    = var.log_retention_days
  environment = merge(
    {
      TABLE_NAME              = module.dynamodb_table.table_name
      KEY_NAME                = var.hash_key
      POWERTOOLS_SERVICE_NAME = local.api_name
    },
    local.api_event_bus_settings,
  )

  key_attribute_types     = var.range_key == null ? [var.hash_key_type] : [var.hash_key_type, var.range_key_type]
  table_arn               = module.dynamodb_table.table_arn
  attach_table_kms_policy = var.server_side_encryption && var.kms_key_arn != null
  table_kms_key_arn       = var.kms_key_arn
  attach_event_bus_policy = local.event_bus_name != null
  event_bus_arn           = try(module.event_bus[0].bus_arn, null)

  throttling_burst_limit = var.api_throttling_burst_limit
  throttling_rate_limit  = var.api_throttling_rate_limit

  tags = var.tags
}
