"""ddbstream: provision, exercise and observe a DynamoDB Streams -> Lambda pipeline."""

__version__ = "0.1.0"
