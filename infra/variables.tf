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
