variable "event_source_arn" {
  description = "ARN of the DynamoDB stream."
  type        = string
}

variable "function_name" {
  description = "Name or ARN of the consumer function."
  type        = string
}

variable "enabled" {
  description = "Whether the mapping polls the stream."
  type        = bool
  default     = true
}

variable "starting_position" {
  description = "Where a new mapping starts reading: LATEST or TRIM_HORIZON."
  type        = string
  default     = "LATEST"

  validation {
    condition     = contains(["LATEST", "TRIM_HORIZON"], var.starting_position)
    error_message = "starting_position must be LATEST or TRIM_HORIZON."
  }
}

variable "batch_size" {
  description = "Most records per invocation (1 to 10000)."
  type        = number
  default     = 100
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds to gather records before invoking (0 to 300)."
  type        = number
  default     = 0
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed batch (-1 = until the record expires, up to 10000)."
  type        = number
  default     = 2
}

variable "bisect_batch_on_function_error" {
  description = "Split a failed batch in two and retry each half."
  type        = bool
  default     = true
}

variable "maximum_record_age_in_seconds" {
  description = "Discard records older than this (-1 = never, else 60 to 604800)."
  type        = number
  default     = -1
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1 to 10); order is kept per partition key."
  type        = number
  default     = 1
}

variable "tumbling_window_in_seconds" {
  description = "Tumbling window for stateful aggregation (0 = off, up to 900)."
  type        = number
  default     = 0
}

variable "function_response_types" {
  description = "Response types; [\"ReportBatchItemFailures\"] lets the function report partial failures."
  type        = list(string)
  default     = ["ReportBatchItemFailures"]
}

variable "filter_patterns" {
  description = "Event filter patterns, each a JSON string; a record is delivered when any pattern matches."
  type        = list(string)
  default     = []
}

variable "attach_on_failure_destination" {
  description = "Send the batch info of discarded records to on_failure_destination_arn."
  type        = bool
  default     = false
}

variable "on_failure_destination_arn" {
  description = "ARN of the SQS queue or SNS topic receiving discarded batches."
  type        = string
  default     = null
}
