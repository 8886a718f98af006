# Pipeline variables. Read by Terraform (target aws) and by ddbstream's local target.

variable "aws_region" {
  description = "AWS region to deploy into (the local target reports resources in this region too)."
  type        = string
  default     = "us-east-1"
}

variable "table_name" {
  description = "Name of the DynamoDB table."
  type        = string
  default     = "employees"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'."
  }
}

variable "hash_key" {
  description = "Name of the partition (hash) key attribute."
  type        = string
  default     = "employeeid"

  validation {
    condition     = length(var.hash_key) > 0
    error_message = "hash_key must not be empty."
  }
}

variable "hash_key_type" {
  description = "Type of the partition key: S (string), N (number) or B (binary)."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key_type)
    error_message = "hash_key_type must be one of S, N, B."
  }
}

variable "range_key" {
  description = "Name of the optional sort (range) key attribute; null for a hash-only table."
  type        = string
  default     = null
}

variable "range_key_type" {
  description = "Type of the sort key: S, N or B. Ignored without range_key."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.range_key_type)
    error_message = "range_key_type must be one of S, N, B."
  }
}

variable "billing_mode" {
  description = "Billing mode: PAY_PER_REQUEST (on demand) or PROVISIONED (uses read_capacity and write_capacity)."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "Read capacity units, used when billing_mode is PROVISIONED."
  type        = number
  default     = 5

  validation {
    condition     = var.read_capacity >= 1
    error_message = "read_capacity must be at least 1."
  }
}

variable "write_capacity" {
  description = "Write capacity units, used when billing_mode is PROVISIONED."
  type        = number
  default     = 5

  validation {
    condition     = var.write_capacity >= 1
    error_message = "write_capacity must be at least 1."
  }
}

variable "stream_view_type" {
  description = "What the table's stream records carry: KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES."
  type        = string
  default     = "NEW_AND_OLD_IMAGES"

  validation {
    condition     = contains(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], var.stream_view_type)
    error_message = "stream_view_type must be one of KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES."
  }
}

variable "ttl_attribute" {
  description = "Name of the attribute holding each item's expiry time (epoch seconds); null disables TTL."
  type        = string
  default     = null
}

variable "point_in_time_recovery" {
  description = "Enable point-in-time recovery (continuous backups) on the table."
  type        = bool
  default     = true
}

variable "server_side_encryption" {
  description = "Encrypt the table at rest with a KMS key (true) or with the AWS-owned key (false)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key for the table; null uses the AWS-managed key. Used only when server_side_encryption is true."
  type        = string
  default     = null
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes of the table: name, hash_key (+ hash_key_type S|N|B), optional range_key (+ range_key_type), projection_type ALL|KEYS_ONLY|INCLUDE (with non_key_attributes), optional read_capacity/write_capacity in PROVISIONED mode."
  type = list(object({
    name               = string
    hash_key           = string
    hash_key_type      = optional(string, "S")
    range_key          = optional(string)
    range_key_type     = optional(string, "S")
    projection_type    = optional(string, "ALL")
    non_key_attributes = optional(list(string), [])
    read_capacity      = optional(number)
    write_capacity     = optional(number)
  }))
  default = []

  validation {
    condition     = length(var.global_secondary_indexes) <= 20
    error_message = "A table has at most 20 global secondary indexes."
  }
}

variable "deletion_protection" {
  description = "Protect the table from deletion (and keep a non-empty audit bucket on destroy)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40
    error_message = "At most 40 tags (some resources allow 50, and ddbstream adds Name)."
  }
}

# Consumer function

variable "function_name" {
  description = "Name of the consumer Lambda function; null derives <table_name>_stream_consumer."
  type        = string
  default     = null

  validation {
    condition     = var.function_name == null || can(regex("^[a-zA-Z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of a-z, A-Z, 0-9, '_' and '-'."
  }
}

variable "lambda_source_dir" {
  description = "Directory packaged as the consumer's code; null uses the repository's lambda/ beside infra/."
  type        = string
  default     = null
}

variable "lambda_runtime" {
  description = "Runtime of the consumer: Python (python3.x, e.g. python3.12) or Node.js (nodejs<major>.x, e.g. nodejs22.x)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^(python3[.][0-9]+|nodejs[0-9]+[.]x)$", var.lambda_runtime))
    error_message = "lambda_runtime must be a Python or Node.js runtime such as python3.12 or nodejs22.x."
  }
}

variable "lambda_handler" {
  description = "Handler of the consumer as module.function, relative to the packaged directory."
  type        = string
  default     = "handler.lambda_handler"

  validation {
    condition     = can(regex("^[A-Za-z0-9_/.-]+[.][A-Za-z_][A-Za-z0-9_]*$", var.lambda_handler))
    error_message = "lambda_handler must look like module.function, e.g. handler.lambda_handler."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the consumer in MB (128 to 10240)."
  type        = number
  default     = 128

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be between 128 and 10240 MB."
  }
}

variable "lambda_timeout" {
  description = "Timeout of the consumer in seconds (1 to 900)."
  type        = number
  default     = 30

  validation {
    condition     = var.lambda_timeout >= 1 && var.lambda_timeout <= 900
    error_message = "lambda_timeout must be between 1 and 900 seconds."
  }
}

variable "lambda_environment" {
  description = "Extra environment variables of the consumer; the pipeline's own (TABLE_NAME, DLQ_URL, ...) take precedence."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the consumer's log group in days: 0 (never expire) or one of CloudWatch's values (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  type        = number
  default     = 14

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be 0 or one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# Event source mapping

variable "batch_size" {
  description = "Most stream records per invocation (1 to 10000)."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds to gather records before invoking (0 to 300)."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }
}

variable "starting_position" {
  description = "Where the mapping starts reading the stream: LATEST or TRIM_HORIZON."
  type        = string
  default     = "LATEST"

  validation {
    condition     = contains(["LATEST", "TRIM_HORIZON"], var.starting_position)
    error_message = "starting_position must be LATEST or TRIM_HORIZON."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed batch: -1 (until the records expire) or 0 to 10000."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000
    error_message = "maximum_retry_attempts must be -1 or between 0 and 10000."
  }
}

variable "bisect_batch_on_function_error" {
  description = "Split a failed batch in two and retry each half."
  type        = bool
  default     = true
}

variable "maximum_record_age_in_seconds" {
  description = "Discard records older than this: -1 (never) or 60 to 604800."
  type        = number
  default     = -1

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800)
    error_message = "maximum_record_age_in_seconds must be -1 or between 60 and 604800."
  }
}

variable "parallelization_factor" {
  description = "Batches processed at once per shard (1 to 10); order is kept per partition key."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10
    error_message = "parallelization_factor must be between 1 and 10."
  }
}

variable "tumbling_window_in_seconds" {
  description = "Tumbling window for aggregation across invocations: 0 (off) to 900."
  type        = number
  default     = 0

  validation {
    condition     = var.tumbling_window_in_seconds >= 0 && var.tumbling_window_in_seconds <= 900
    error_message = "tumbling_window_in_seconds must be between 0 and 900."
  }
}

variable "function_response_types" {
  description = "Function response types: [\"ReportBatchItemFailures\"] (the consumer reports partial failures) or []."
  type        = list(string)
  default     = ["ReportBatchItemFailures"]

  validation {
    condition     = length(var.function_response_types) <= 1
    error_message = "function_response_types must be [] or [\"ReportBatchItemFailures\"]."
  }
}

variable "filter_patterns" {
  description = "Event filter patterns, each a JSON string such as {\"eventName\": [\"INSERT\"]}; a record is delivered when any matches. At most 5."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.filter_patterns) <= 5
    error_message = "At most 5 filter patterns."
  }
}

# Dead-letter queue

variable "enable_dlq" {
  description = "Create an SQS dead-letter queue as the mapping's on-failure destination."
  type        = bool
  default     = true
}

variable "dlq_name" {
  description = "Name of the dead-letter queue; null derives <table_name>-dlq."
  type        = string
  default     = null

  validation {
    condition     = var.dlq_name == null || can(regex("^[a-zA-Z0-9_-]{1,80}$", var.dlq_name))
    error_message = "dlq_name must be 1-80 characters of a-z, A-Z, 0-9, '_' and '-'."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps messages (60 to 1209600 seconds; 14 days by default)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }
}

# Notifications

variable "enable_notifications" {
  description = "Create an SNS topic the consumer publishes notify_event_names events to."
  type        = bool
  default     = false
}

variable "topic_name" {
  description = "Name of the SNS topic; null derives <table_name>-events."
  type        = string
  default     = null

  validation {
    condition     = var.topic_name == null || can(regex("^[a-zA-Z0-9_-]{1,256}$", var.topic_name))
    error_message = "topic_name must be 1-256 characters of a-z, A-Z, 0-9, '_' and '-'."
  }
}

variable "notification_email" {
  description = "Email address subscribed to the topic (AWS mails a confirmation link); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.notification_email == null || can(regex("^[^@ ]+@[^@ ]+[.][^@ ]+$", var.notification_email))
    error_message = "notification_email must be an email address."
  }
}

variable "notify_event_names" {
  description = "Stream event names the consumer publishes to the topic: any of INSERT, MODIFY, REMOVE."
  type        = list(string)
  default     = ["REMOVE"]

  validation {
    condition     = length(var.notify_event_names) <= 3
    error_message = "notify_event_names holds at most INSERT, MODIFY and REMOVE."
  }
}

# Audit bucket

variable "enable_audit" {
  description = "Create an S3 bucket the consumer writes an audit record of every change to."
  type        = bool
  default     = false
}

variable "audit_bucket_name" {
  description = "Name of the audit bucket; null derives <table_name>-audit-<account id>, lowercased."
  type        = string
  default     = null

  validation {
    condition     = var.audit_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.audit_bucket_name))
    error_message = "audit_bucket_name must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "audit_prefix" {
  description = "Key prefix of the audit records, ending with '/'."
  type        = string
  default     = "audit/"

  validation {
    condition     = can(regex("^[^/].*/$", var.audit_prefix))
    error_message = "audit_prefix must not start with '/' and must end with '/', e.g. audit/."
  }
}

variable "audit_transition_days" {
  description = "Days after which audit records move to STANDARD_IA (at least 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.audit_transition_days >= 30
    error_message = "audit_transition_days must be at least 30 (the STANDARD_IA minimum)."
  }
}

variable "audit_expiration_days" {
  description = "Days after which audit records are deleted; must be greater than audit_transition_days."
  type        = number
  default     = 365

  validation {
    condition     = var.audit_expiration_days >= 31
    error_message = "audit_expiration_days must be at least 31 (after the transition)."
  }
}

# EventBridge

variable "event_bus_name" {
  description = "EventBridge bus the consumer forwards every change to; null turns forwarding off (enable_event_bus then uses <table_name>-bus). A bus other than \"default\" is created."
  type        = string
  default     = null

  validation {
    condition     = var.event_bus_name == null || can(regex("^[A-Za-z0-9._-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be 1-256 characters of A-Z, a-z, 0-9, '.', '_' and '-'."
  }
}

variable "enable_event_bus" {
  description = "Create the bus (event_bus_name, else <table_name>-bus) with a rule matching the CRUD API's created-item events (source crud.api, detail-type ItemCreated), delivered to the log group /aws/events/<table_name>-item-created."
  type        = bool
  default     = false
}

variable "enable_event_bus_queue" {
  description = "Also deliver the rule's events to an SQS queue <table_name>-item-created (needs enable_event_bus)."
  type        = bool
  default     = false
}

# CRUD API

variable "enable_api" {
  description = "Create the CRUD API of lambda/api: an HTTP API (GET, POST, PATCH, DELETE /dynamo) with its function <table_name>_api, for a table keyed by one string attribute (hash_key, no range_key). With enable_event_bus, each created item is put on the bus."
  type        = bool
  default     = false
}

variable "api_throttling_burst_limit" {
  description = "Burst limit of the API's routes, in requests (0 to 5000)."
  type        = number
  default     = 100

  validation {
    condition     = var.api_throttling_burst_limit >= 0 && var.api_throttling_burst_limit <= 5000
    error_message = "api_throttling_burst_limit must be between 0 and 5000."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state rate limit of the API's routes, in requests per second (0 to 10000)."
  type        = number
  default     = 50

  validation {
    condition     = var.api_throttling_rate_limit >= 0 && var.api_throttling_rate_limit <= 10000
    error_message = "api_throttling_rate_limit must be between 0 and 10000."
  }
}

# Failure injection

variable "fail_attribute" {
  description = "When set, the consumer fails every record whose new image has this attribute (to exercise retries and the DLQ); null turns it off."
  type        = string
  default     = null

  validation {
    condition     = var.fail_attribute == null || can(regex("^.+$", var.fail_attribute))
    error_message = "fail_attribute must not be empty."
  }
}

# Alarms

variable "enable_alarms" {
  description = "Create CloudWatch alarms (consumer errors, throttles, duration, iterator age, DLQ depth, table throttling) notifying the topic."
  type        = bool
  default     = false
}

variable "alarm_iterator_age_ms" {
  description = "IteratorAge alarm threshold in milliseconds."
  type        = number
  default     = 60000

  validation {
    condition     = var.alarm_iterator_age_ms >= 1000
    error_message = "alarm_iterator_age_ms must be at least 1000."
  }
}

variable "alarm_duration_ms" {
  description = "Duration alarm threshold in milliseconds (a positive number); null uses 80% of lambda_timeout."
  type        = number
  default     = null
}
