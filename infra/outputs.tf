# Names match the "resources" of .ddbstream/state.json: ddbstream's aws target saves them as they are.

output "region" {
  description = "Region the pipeline runs in."
  value       = var.aws_region
}

output "account" {
  description = "AWS account the pipeline runs in."
  value       = local.account_id
}

output "table_name" {
  description = "Name of the DynamoDB table."
  value       = module.dynamodb_table.table_name
}

output "table_arn" {
  description = "ARN of the DynamoDB table."
  value       = module.dynamodb_table.table_arn
}

output "stream_arn" {
  description = "ARN of the table's stream."
  value       = module.dynamodb_table.stream_arn
}

output "function_name" {
  description = "Name of the consumer function."
  value       = module.lambda_consumer.function_name
}

output "function_arn" {
  description = "ARN of the consumer function."
  value       = module.lambda_consumer.function_arn
}

output "log_group" {
  description = "Log group of the consumer function."
  value       = module.lambda_consumer.log_group_name
}

output "queue_url" {
  description = "URL of the dead-letter queue (null without enable_dlq)."
  value       = try(module.dlq[0].queue_url, null)
}

output "queue_arn" {
  description = "ARN of the dead-letter queue (null without enable_dlq)."
  value       = try(module.dlq[0].queue_arn, null)
}

output "topic_arn" {
  description = "ARN of the notification topic (null without enable_notifications or enable_alarms)."
  value       = try(module.notifications[0].topic_arn, null)
}

output "bucket" {
  description = "Name of the audit bucket (null without enable_audit)."
  value       = try(module.audit[0].bucket, null)
}

output "mapping_uuid" {
  description = "UUID of the event source mapping."
  value       = module.event_mapping.uuid
}

output "event_bus_name" {
  description = "EventBridge bus of the pipeline: the consumer forwards to it, the API announces created items on it (null when off)."
  value       = local.event_bus_name
}

output "event_bus_arn" {
  description = "ARN of the EventBridge bus (null when off)."
  value       = try(module.event_bus[0].bus_arn, null)
}

output "event_rule_name" {
  description = "Rule matching the API's created-item events (null without enable_event_bus)."
  value       = try(module.event_bus[0].rule_name, null)
}

output "event_log_group" {
  description = "Log group the rule delivers the events to (null without enable_event_bus)."
  value       = try(module.event_bus[0].log_group_name, null)
}

output "event_queue_url" {
  description = "URL of the rule's SQS queue target (null without enable_event_bus_queue)."
  value       = try(module.event_bus[0].queue_url, null)
}

output "api_id" {
  description = "ID of the CRUD API (null without enable_api)."
  value       = try(module.http_api[0].api_id, null)
}

output "api_url" {
  description = "Base URL of the CRUD API, e.g. <api_url>/dynamo (null without enable_api)."
  value       = try(module.http_api[0].api_url, null)
}

output "api_function_name" {
  description = "Name of the CRUD API's function (null without enable_api)."
  value       = try(module.http_api[0].function_name, null)
}

output "api_log_group" {
  description = "Log group of the CRUD API's function (null without enable_api)."
  value       = try(module.http_api[0].function_log_group_name, null)
}

output "api_access_log_group" {
  description = "Log group of the CRUD API's access logs (null without enable_api)."
  value       = try(module.http_api[0].access_log_group_name, null)
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms, by key (empty without enable_alarms)."
  value       = try(module.alarms[0].alarm_names, {})
}
