resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = var.event_source_arn
  function_name                      = var.function_name
  enabled                            = var.enabled
  starting_position                  = var.starting_position
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  maximum_retry_attempts             = var.maximum_retry_attempts
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  parallelization_factor             = var.parallelization_factor
  tumbling_window_in_seconds         = var.tumbling_window_in_seconds
  function_response_types            = var.function_response_types

  dynamic "filter_criteria" {
    for_each = length(var.filter_patterns) > 0 ? [var.filter_patterns] : []

    content {
      dynamic "filter" {
        for_each = filter_criteria.value

        content {
          pattern = filter.value
        }
      }
    }
  }

  dynamic "destination_config" {
    for_each = var.attach_on_failure_destination ? [var.on_failure_destination_arn] : []

    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }
}
