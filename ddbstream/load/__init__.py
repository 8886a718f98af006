"""Load the pipeline and account for every event it caused.

A *plan* is a reproducible list of writes (puts, updates and deletes over many keys). Each
key belongs to one writer thread, so the writes of a key reach the table in plan order, and
every write changes its item, so each successful write makes exactly one stream record: the
n-th record of a key in the stream is that key's n-th write.

The *accounting* then follows each of those records through AWS APIs only:
- the stream itself (DescribeStream / GetRecords from TRIM_HORIZON): what happened;
- the consumer's log group (FilterLogEvents): the handler prints one JSON line per record
  (eventID, sequenceNumber) inside the runtime's START / END / REPORT lines, so a record was
  *processed* when its line appears, without an ERROR line for it, in an invocation whose
  REPORT carries no failure status and which printed no unhandled error;
- the dead-letter queue (peeked, never consumed; batches hydrated by ddbstream.dlq).
Every record must end up processed or in the DLQ, not both; deliveries beyond the first are
counted, and one after a *clean* invocation (no failure at all, so Lambda checkpointed it)
is flagged as unexplained. Latency is from a write to the CloudWatch
timestamp of the handler's line for its record in the invocation that processed it,
measured from when the write was *sent*: the local daemon wakes the engine inside the write
request, so the handler often runs before the writer has its acknowledgement, and timing from
the ack would give negative latencies. From the send, it includes the write's own round trip.
"""

from ddbstream.load.accounting import Accounting, account, percentile
from ddbstream.load.dlq_view import DlqView
from ddbstream.load.handler_log import HandlerLog, Invocation
from ddbstream.load.plan import INDEX_ATTRIBUTE, MAX_WORKERS, RUN_ATTRIBUTE, VERSION_ATTRIBUTE, Write, key_id, make_plan
from ddbstream.load.run import LoadReport, Progress, run_load
from ddbstream.load.stream import StreamRecord, match_records, read_stream, stream_records
from ddbstream.load.writer import WriteResults, perform, run_writes

__all__ = [
    "INDEX_ATTRIBUTE",
    "MAX_WORKERS",
    "RUN_ATTRIBUTE",
    "VERSION_ATTRIBUTE",
    "Accounting",
    "DlqView",
    "HandlerLog",
    "Invocation",
    "LoadReport",
    "Progress",
    "StreamRecord",
    "Write",
    "WriteResults",
    "account",
    "key_id",
    "make_plan",
    "match_records",
    "percentile",
    "perform",
    "read_stream",
    "run_load",
    "run_writes",
    "stream_records",
]
