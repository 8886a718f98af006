output "queue_name" {
  description = "Name of the queue."
  value       = try(aws_sqs_queue.this.name, null)
}

output "queue_url" {
  description = "URL of the queue."
  value       = try(aws_sqs_queue.this.url, null)
}

output "queue_arn" {
  description = "ARN of the queue."
  value       = try(aws_sqs_queue.this.arn, null)
}
