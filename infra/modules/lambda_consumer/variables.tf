variable "function_name" {
  description = "Name of the Lambda function (also names its log group and role)."
  type        = string
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = "DynamoDB stream consumer deployed by ddbstream"
}

variable "source_dir" {
  description = "Directory packaged as the function's code (the repository's lambda/); a Node.js one with a package-lock.json gets its node_modules installed by npm ci first."
  type        = string
}

variable "source_excludes" {
  description = "Files under source_dir left out of the package (nodejs: the Node.js consumer beside the Python one in lambda/)."
  type        = list(string)
  default     = ["__pycache__", "nodejs"]
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "python3.12"
}

variable "handler" {
  description = "Handler as module.function."
  type        = string
  default     = "handler.lambda_handler"
}

variable "memory_size" {
  description = "Memory in MB (128 to 10240)."
  type        = number
  default     = 128
}

variable "timeout" {
  description = "Timeout in seconds (1 to 900)."
  type        = number
  default     = 30
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the function's log group in days."
  type        = number
  default     = 14
}

variable "log_kms_key_arn" {
  description = "KMS key ARN encrypting the log group; null uses CloudWatch's own encryption."
  type        = string
  default     = null
}

variable "role_name" {
  description = "Name of the execution role; null derives <function_name>-role."
  type        = string
  default     = null
}

variable "table_arn" {
  description = "ARN of the source table (its streams may be listed)."
  type        = string
}

variable "stream_arn" {
  description = "ARN of the stream the function reads (the only stream it may read)."
  type        = string
}

variable "attach_table_kms_policy" {
  description = "Allow kms:Decrypt on table_kms_key_arn (a table encrypted with a customer key)."
  type        = bool
  default     = false
}

variable "table_kms_key_arn" {
  description = "Customer KMS key of the table."
  type        = string
  default     = null
}

variable "attach_dlq_policy" {
  description = "Allow sqs:SendMessage on dlq_arn."
  type        = bool
  default     = false
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue."
  type        = string
  default     = null
}

variable "attach_topic_policy" {
  description = "Allow sns:Publish on topic_arn."
  type        = bool
  default     = false
}

variable "topic_arn" {
  description = "ARN of the notification topic."
  type        = string
  default     = null
}

variable "attach_topic_kms_policy" {
  description = "Allow kms:GenerateDataKey and kms:Decrypt on topic_kms_key_arn (a topic encrypted with a customer key)."
  type        = bool
  default     = false
}

variable "topic_kms_key_arn" {
  description = "Customer KMS key of the topic."
  type        = string
  default     = null
}

variable "attach_audit_policy" {
  description = "Allow s3:PutObject under audit_prefix in audit_bucket_arn."
  type        = bool
  default     = false
}

variable "audit_bucket_arn" {
  description = "ARN of the audit bucket."
  type        = string
  default     = null
}

variable "audit_prefix" {
  description = "Key prefix the function may write under."
  type        = string
  default     = "audit/"
}

variable "attach_event_bus_policy" {
  description = "Allow events:PutEvents on event_bus_arn."
  type        = bool
  default     = false
}

variable "event_bus_arn" {
  description = "ARN of the EventBridge bus the function forwards to."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
