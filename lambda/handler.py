"""DynamoDB Streams consumer: the function both ddbstream targets deploy ("handler.lambda_handler").

For every record it prints one JSON line (eventName, keys, old, new, sequenceNumber, eventID,
approximateCreationTime) and then calls process_change() below: put your own logic there.
Optional sinks (S3 audit log, SNS notifications, EventBridge) are switched on by environment
variables; see README.md. A record that fails is reported back to Lambda in batchItemFailures
and never fails the rest of its batch.
"""

from consumer.batch import handle
from consumer.changes import Change
from consumer.ledger import Ledger
from consumer.settings import Settings

# Steps already done per eventID, kept while this container stays warm.
LEDGER = Ledger()


def process_change(change: Change) -> None:
    """Your logic for one change. Raise to fail only this record (Lambda retries it).

    change.event_name is INSERT, MODIFY or REMOVE; change.keys / change.old / change.new are
    plain dicts (None when the stream view type leaves an image out); numbers are int or
    Decimal, sets are sorted lists, binary values are base64 text.
    """


def lambda_handler(event, context):
    return handle(event, on_change=process_change, settings=Settings.from_env(), ledger=LEDGER)
