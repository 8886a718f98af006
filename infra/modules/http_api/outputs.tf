output "api_id" {
  description = "ID of the HTTP API."
  value       = try(aws_apigatewayv2_api.this.id, null)
}

output "api_url" {
  description = "Base URL of the API's $default stage."
  value       = try(aws_apigatewayv2_stage.this.invoke_url, null)
}

output "execution_arn" {
  description = "Execution ARN of the API (the prefix of its routes' invoke ARNs)."
  value       = try(aws_apigatewayv2_api.this.execution_arn, null)
}

output "access_log_group_name" {
  description = "Log group of the stage's access logs."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "function_name" {
  description = "Name of the API's function."
  value       = try(aws_lambda_function.this.function_name, null)
}

output "function_arn" {
  description = "ARN of the API's function."
  value       = try(aws_lambda_function.this.arn, null)
}

output "function_log_group_name" {
  description = "Log group of the API's function."
  value       = try(aws_cloudwatch_log_group.function.name, null)
}

output "policy_json" {
  description = "The function's execution role inline policy."
  value       = try(data.aws_iam_policy_document.this.json, null)
}
