output "bus_name" {
  description = "Name of the bus."
  value       = try(local.bus_name, null)
}

output "bus_arn" {
  description = "ARN of the bus."
  value       = try(local.bus_arn, null)
}

output "rule_name" {
  description = "Name of the rule (null without create_rule)."
  value       = try(aws_cloudwatch_event_rule.this[0].name, null)
}

output "rule_arn" {
  description = "ARN of the rule (null without create_rule)."
  value       = try(aws_cloudwatch_event_rule.this[0].arn, null)
}

output "log_group_name" {
  description = "Log group the rule delivers to (null without create_rule)."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "queue_url" {
  description = "URL of the rule's queue target (null without enable_queue_target)."
  value       = try(aws_sqs_queue.this[0].url, null)
}

output "queue_arn" {
  description = "ARN of the rule's queue target (null without enable_queue_target)."
  value       = try(aws_sqs_queue.this[0].arn, null)
}
