"""Building blocks of the DynamoDB stream consumer (standard library + boto3 only).

handler.py is the entry point Lambda calls; these modules do the parts you rarely change:
decoding records (changes.py), the batch loop with partial failures (batch.py), the
optional sinks (sinks.py), settings from the environment (settings.py) and the per-container
idempotency memory (ledger.py).
"""
