# The seed's real-time pipeline: a RealTimeDataTable keyed by id (S) + timestamp (N), on
# demand, whose items expire through TTL; its Node.js consumer DataProcessor (lambda/nodejs,
# 256 MB, 30 s) gets batches of 100 records.
#   ddbstream up --var-file infra/examples/realtime_data.tfvars
# The seed ran Node.js 18.x, which Lambda no longer accepts for new functions: nodejs22.x.
# Packaging installs lambda/nodejs's dependencies with npm ci (node and npm are needed).

table_name       = "RealTimeDataTable"
hash_key         = "id"
hash_key_type    = "S"
range_key        = "timestamp"
range_key_type   = "N"
billing_mode     = "PAY_PER_REQUEST"
stream_view_type = "NEW_AND_OLD_IMAGES"
ttl_attribute    = "ttl"

function_name      = "DataProcessor"
lambda_source_dir  = "../lambda/nodejs"
lambda_runtime     = "nodejs22.x"
lambda_handler     = "index.handler"
lambda_memory_size = 256
lambda_timeout     = 30

batch_size        = 100
starting_position = "LATEST"
