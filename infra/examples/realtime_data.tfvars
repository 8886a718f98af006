# IoT-style data: a RealTimeDataTable keyed by id (S) + timestamp (N), on demand, whose
# items expire through TTL; the consumer gets batches of 100 records.
#   ddbstream up --var-file infra/examples/realtime_data.tfvars

table_name       = "RealTimeDataTable"
hash_key         = "id"
hash_key_type    = "S"
range_key        = "timestamp"
range_key_type   = "N"
billing_mode     = "PAY_PER_REQUEST"
stream_view_type = "NEW_AND_OLD_IMAGES"
ttl_attribute    = "ttl"

function_name      = "DataProcessor"
lambda_memory_size = 256
lambda_timeout     = 30

batch_size        = 100
starting_position = "LATEST"
