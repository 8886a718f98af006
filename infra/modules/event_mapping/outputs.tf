output "uuid" {
  description = "UUID of the event source mapping."
  value       = try(aws_lambda_event_source_mapping.this.uuid, null)
}

output "arn" {
  description = "ARN of the event source mapping."
  value       = try(aws_lambda_event_source_mapping.this.arn, null)
}

output "state" {
  description = "State of the mapping (Enabled, Creating, ...)."
  value       = try(aws_lambda_event_source_mapping.this.state, null)
}
