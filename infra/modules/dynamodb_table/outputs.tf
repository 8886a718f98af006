output "table_name" {
  description = "Name of the table."
  value       = try(aws_dynamodb_table.this.name, null)
}

output "table_arn" {
  description = "ARN of the table."
  value       = try(aws_dynamodb_table.this.arn, null)
}

output "stream_arn" {
  description = "ARN of the table's stream."
  value       = try(aws_dynamodb_table.this.stream_arn, null)
}

output "stream_label" {
  description = "Timestamp label of the table's stream."
  value       = try(aws_dynamodb_table.this.stream_label, null)
}
