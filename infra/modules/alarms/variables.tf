variable "function_name" {
  description = "Name of the consumer function watched."
  type        = string
}

variable "table_name" {
  description = "Name of the table watched for throttling."
  type        = string
}

variable "create_queue_alarm" {
  description = "Watch the dead-letter queue (queue_name) for visible messages."
  type        = bool
  default     = false
}

variable "queue_name" {
  description = "Name of the dead-letter queue."
  type        = string
  default     = null
}

variable "duration_threshold_ms" {
  description = "Alarm when an invocation lasts longer than this many milliseconds."
  type        = number
}

variable "iterator_age_threshold_ms" {
  description = "Alarm when the age of the last record read exceeds this many milliseconds."
  type        = number
  default     = 60000
}

variable "period" {
  description = "Seconds over which each metric is aggregated (a multiple of 60)."
  type        = number
  default     = 300
}

variable "evaluation_periods" {
  description = "Periods the threshold must be breached before the alarm fires."
  type        = number
  default     = 1
}

variable "alarm_actions" {
  description = "ARNs notified on ALARM and OK (the notifications topic)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every alarm."
  type        = map(string)
  default     = {}
}
