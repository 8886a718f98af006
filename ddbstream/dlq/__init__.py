"""The dead-letter queue of a DynamoDB stream mapping: peek, hydrate, replay, purge.

An on-failure message says only where the failed batch lies in the stream
(DDBStreamBatchInfo). Hydrating reads those records back from the stream
(AT_SEQUENCE_NUMBER = startSequenceNumber, then GetRecords until a sequence number passes
endSequenceNumber), which works while the stream still holds them (24 h).
"""

from ddbstream.dlq.messages import STREAM_RETENTION_SECONDS, FailureMessage, parse_body
from ddbstream.dlq.queue import DeadLetterQueue
from ddbstream.dlq.records import (
    RecordsGone,
    current_items,
    hydrate,
    lambda_record,
    mapping_filters,
    plain_record,
    table_of_stream,
)
from ddbstream.dlq.replay import ReplayOutcome, invoke_consumer, replay

__all__ = [
    "STREAM_RETENTION_SECONDS",
    "DeadLetterQueue",
    "FailureMessage",
    "RecordsGone",
    "ReplayOutcome",
    "current_items",
    "hydrate",
    "invoke_consumer",
    "lambda_record",
    "mapping_filters",
    "parse_body",
    "plain_record",
    "replay",
    "table_of_stream",
]
