variable "name" {
  description = "Name of the bus; any other than \"default\" is created."
  type        = string
}

variable "create_rule" {
  description = "Create the rule matching the CRUD API's events, with its log group target."
  type        = bool
  default     = true
}

variable "rule_name" {
  description = "Name of the rule (also names its log group /aws/events/<rule_name> and its queue)."
  type        = string
  default     = null
}

variable "event_source" {
  description = "The source the rule matches (lambda/api's EVENT_SOURCE)."
  type        = string
  default     = "crud.api"
}

variable "event_detail_type" {
  description = "The detail-type the rule matches (lambda/api's EVENT_DETAIL_TYPE)."
  type        = string
  default     = "ItemCreated"
}

variable "enable_queue_target" {
  description = "Also deliver the rule's events to an SQS queue named after the rule."
  type        = bool
  default     = false
}

variable "queue_message_retention_seconds" {
  description = "How long the queue target keeps messages (60 to 1209600 seconds)."
  type        = number
  default     = 345600
}

variable "log_retention_days" {
  description = "Retention of the rule's log group in days."
  type        = number
  default     = 14
}

variable "log_kms_key_arn" {
  description = "KMS key ARN encrypting the rule's log group; null uses CloudWatch's own encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
