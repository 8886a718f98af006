# Seed 003, the CRUD API: a users table keyed by user_id, an HTTP API (GET, POST, PATCH,
# DELETE /dynamo) in front of lambda/api, and an EventBridge bus whose rule sends every
# created item (source crud.api, detail-type ItemCreated) to a log group. The table's stream
# still feeds the consumer, so each write also reaches lambda/handler.py.
#   ddbstream up --var-file infra/examples/crud_api.tfvars
#   ddbstream demo --example crud-api

table_name    = "users"
hash_key      = "user_id"
hash_key_type = "S"

enable_api                 = true
api_throttling_burst_limit = 50
api_throttling_rate_limit  = 20

enable_event_bus = true
# enable_event_bus_queue = true   # also deliver the events to the SQS queue users-item-created

tags = {
  Project = "crud-api"
}
