variable "name" {
  description = "Name of the HTTP API."
  type        = string
}

variable "path" {
  description = "Path the API's routes serve (GET, POST, PATCH and DELETE on it)."
  type        = string
  default     = "/dynamo"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._~/-]*$", var.path))
    error_message = "path must start with '/' and hold no path variables."
  }
}

variable "methods" {
  description = "HTTP methods routed on path to the function."
  type        = list(string)
  default     = ["GET", "POST", "PATCH", "DELETE"]
}

variable "function_name" {
  description = "Name of the API's Lambda function (also names its log group and role)."
  type        = string
}

variable "source_dir" {
  description = "Directory packaged as the function's code (the repository's lambda/api)."
  type        = string
}

variable "runtime" {
  description = "Python runtime of the function (the Powertools layer is picked for it)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3[.][0-9]+$", var.runtime))
    error_message = "runtime must be a Python runtime such as python3.12."
  }
}

variable "handler" {
  description = "Handler as module.function."
  type        = string
  default     = "app.lambda_handler"
}

variable "memory_size" {
  description = "Memory in MB (128 to 10240)."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of the function in seconds (API Gateway waits at most integration_timeout_ms)."
  type        = number
  default     = 10
}

variable "integration_timeout_ms" {
  description = "How long API Gateway waits for the function, in milliseconds (50 to 30000)."
  type        = number
  default     = 10000

  validation {
    condition     = var.integration_timeout_ms >= 50 && var.integration_timeout_ms <= 30000
    error_message = "integration_timeout_ms must be between 50 and 30000."
  }
}

variable "powertools_layer_version" {
  description = "Version of the public AWS Lambda Powertools (Python v3) layer the function uses."
  type        = number
  default     = 27
}

variable "environment" {
  description = "Environment variables of the function (TABLE_NAME, KEY_NAME, EVENT_BUS_NAME...: see lambda/api/app.py)."
  type        = map(string)
}

variable "key_attribute_types" {
  description = "Types of the table's key attributes, hash key first: the API reads items by one string key."
  type        = list(string)
  default     = ["S"]

  validation {
    condition     = length(var.key_attribute_types) == 1 && var.key_attribute_types[0] == "S"
    error_message = "The CRUD API needs a table keyed by one string attribute (hash_key_type S, no range_key)."
  }
}

variable "table_arn" {
  description = "ARN of the table the API reads and writes."
  type        = string
}

variable "attach_table_kms_policy" {
  description = "Allow kms:Decrypt and kms:GenerateDataKey on table_kms_key_arn (a table encrypted with a customer key)."
  type        = bool
  default     = false
}

variable "table_kms_key_arn" {
  description = "Customer KMS key of the table."
  type        = string
  default     = null
}

variable "attach_event_bus_policy" {
  description = "Allow events:PutEvents on event_bus_arn (the API announces each created item there)."
  type        = bool
  default     = false
}

variable "event_bus_arn" {
  description = "ARN of the EventBridge bus the function puts events on."
  type        = string
  default     = null
}

variable "throttling_burst_limit" {
  description = "Burst limit of every route of the $default stage (requests)."
  type        = number
  default     = 100
}

variable "throttling_rate_limit" {
  description = "Steady-state rate limit of every route of the $default stage (requests per second)."
  type        = number
  default     = 50
}

variable "access_log_group_name" {
  description = "Name of the log group receiving the stage's access logs."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's and the access logs' log groups in days."
  type        = number
  default     = 14
}

variable "log_kms_key_arn" {
  description = "KMS key ARN encrypting both log groups; null uses CloudWatch's own encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
