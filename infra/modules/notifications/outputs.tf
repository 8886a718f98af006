output "topic_arn" {
  description = "ARN of the topic."
  value       = try(aws_sns_topic.this.arn, null)
}

output "topic_name" {
  description = "Name of the topic."
  value       = try(aws_sns_topic.this.name, null)
}

output "kms_key_arn" {
  description = "ARN of the key encrypting the topic (null when it uses alias/aws/sns)."
  value       = try(aws_kms_key.this[0].arn, var.kms_master_key_id)
}

output "email_subscription_arn" {
  description = "ARN of the email subscription (pending until confirmed)."
  value       = try(aws_sns_topic_subscription.email[0].arn, null)
}
