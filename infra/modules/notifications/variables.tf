variable "name" {
  description = "Name of the SNS topic."
  type        = string
}

variable "create_kms_key" {
  description = "Create a customer-managed KMS key for the topic (needed for CloudWatch alarms to publish) when kms_master_key_id is null."
  type        = bool
  default     = true
}

variable "kms_master_key_id" {
  description = "Existing KMS key (ID, ARN or alias) encrypting the topic; null with create_kms_key = false uses alias/aws/sns."
  type        = string
  default     = null
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before the created key is deleted (7 to 30 days)."
  type        = number
  default     = 7
}

variable "email" {
  description = "Address subscribed to the topic by email (AWS mails a confirmation link); null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
