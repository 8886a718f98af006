variable "name" {
  description = "Name of the DynamoDB table."
  type        = string
}

variable "billing_mode" {
  description = "PAY_PER_REQUEST (on demand) or PROVISIONED (uses read_capacity and write_capacity)."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "Read capacity units of the table (and default of its indexes) in PROVISIONED mode."
  type        = number
  default     = 5
}

variable "write_capacity" {
  description = "Write capacity units of the table (and default of its indexes) in PROVISIONED mode."
  type        = number
  default     = 5
}

variable "hash_key" {
  description = "Name of the partition key attribute."
  type        = string
}

variable "hash_key_type" {
  description = "Type of the partition key: S, N or B."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key_type)
    error_message = "hash_key_type must be one of S, N, B."
  }
}

variable "range_key" {
  description = "Name of the optional sort key attribute; null for a hash-only table."
  type        = string
  default     = null
}

variable "range_key_type" {
  description = "Type of the sort key: S, N or B."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.range_key_type)
    error_message = "range_key_type must be one of S, N, B."
  }
}

variable "stream_view_type" {
  description = "Stream record content: KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES."
  type        = string
  default     = "NEW_AND_OLD_IMAGES"

  validation {
    condition     = contains(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], var.stream_view_type)
    error_message = "stream_view_type must be one of KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding each item's expiry time in epoch seconds; null disables TTL."
  type        = string
  default     = null
}

variable "point_in_time_recovery" {
  description = "Enable point-in-time recovery."
  type        = bool
  default     = true
}

variable "server_side_encryption" {
  description = "Encrypt with a KMS key (true: kms_key_arn, or the AWS-managed key when null) instead of the AWS-owned key (false)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key ARN for server-side encryption; null uses the AWS-managed key."
  type        = string
  default     = null
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes: name, hash_key (+ hash_key_type), optional range_key (+ range_key_type), projection_type ALL, KEYS_ONLY or INCLUDE (with non_key_attributes), optional capacities for PROVISIONED mode."
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
}

variable "deletion_protection" {
  description = "Refuse to delete the table until this is turned off."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the table."
  type        = map(string)
  default     = {}
}
