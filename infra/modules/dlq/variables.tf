variable "name" {
  description = "Name of the queue."
  type        = string
}

variable "message_retention_seconds" {
  description = "How long failure records stay in the queue (60 to 1209600; 14 days by default)."
  type        = number
  default     = 1209600
}

variable "kms_master_key_id" {
  description = "KMS key for SSE-KMS; null encrypts with SQS-managed keys (SSE-SQS)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to the queue."
  type        = map(string)
  default     = {}
}
