output "function_name" {
  description = "Name of the function."
  value       = try(aws_lambda_function.this.function_name, null)
}

output "function_arn" {
  description = "ARN of the function."
  value       = try(aws_lambda_function.this.arn, null)
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = try(aws_iam_role.this.arn, null)
}

output "policy_json" {
  description = "The execution role's inline policy."
  value       = try(data.aws_iam_policy_document.this.json, null)
}
