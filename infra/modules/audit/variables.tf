variable "name" {
  description = "Name of the audit bucket (globally unique, lowercase)."
  type        = string
}

variable "prefix" {
  description = "Key prefix of the audit objects; the lifecycle rule applies under it."
  type        = string
  default     = "audit/"
}

variable "transition_days" {
  description = "Days after which audit objects move to transition_storage_class (at least 30 for STANDARD_IA)."
  type        = number
  default     = 30
}

variable "transition_storage_class" {
  description = "Storage class audit objects move to: STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE."
  type        = string
  default     = "STANDARD_IA"

  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.transition_storage_class)
    error_message = "transition_storage_class must be STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE."
  }
}

variable "expiration_days" {
  description = "Days after which audit objects expire (after transition_days)."
  type        = number
  default     = 365
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted version is kept."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS; null uses the AWS-managed aws/s3 key."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy delete a bucket that still holds objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the bucket."
  type        = map(string)
  default     = {}
}
