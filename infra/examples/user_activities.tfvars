# Real-time change streams: a UserActivities table (UserId + ActivityId) on provisioned
# capacity, a consumer with a dead-letter queue, an SNS topic, an S3 audit bucket with a
# lifecycle, and CloudWatch alarms.
#   ddbstream up --var-file infra/examples/user_activities.tfvars

table_name       = "UserActivities"
hash_key         = "UserId"
hash_key_type    = "S"
range_key        = "ActivityId"
range_key_type   = "S"
billing_mode     = "PROVISIONED"
read_capacity    = 5
write_capacity   = 5
stream_view_type = "NEW_AND_OLD_IMAGES"

lambda_memory_size = 256
lambda_timeout     = 60

batch_size             = 10
maximum_retry_attempts = 3

enable_dlq = true

enable_notifications = true
notify_event_names   = ["REMOVE"]
# notification_email = "ops@example.com"

enable_audit          = true
audit_prefix          = "audit-logs/"
audit_transition_days = 30
audit_expiration_days = 365

enable_alarms         = true
alarm_iterator_age_ms = 60000

tags = {
  Project     = "stream-processing"
  Environment = "development"
}
