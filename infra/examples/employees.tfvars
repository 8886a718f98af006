# The original pipeline: an employees table keyed by employeeid, its stream read by
# employees_stream_consumer (python3.12), which logs old and new images.
#   ddbstream up --var-file infra/examples/employees.tfvars

table_name       = "employees"
hash_key         = "employeeid"
hash_key_type    = "S"
billing_mode     = "PAY_PER_REQUEST"
stream_view_type = "NEW_AND_OLD_IMAGES"

point_in_time_recovery = true
server_side_encryption = true

lambda_runtime = "python3.12"
lambda_handler = "handler.lambda_handler"
