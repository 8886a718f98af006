output "alarm_names" {
  description = "Names of the alarms, by key (errors, throttles, duration, iterator_age, read_throttles, write_throttles, dlq_messages)."
  value       = try({ for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }, {})
}

output "alarm_arns" {
  description = "ARNs of the alarms, by key."
  value       = try({ for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }, {})
}
