"""A failed batch's records read back from the stream (hydration), and the shapes they are shown in."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ddbstream.errors import AwsError, InvalidInput, NotFound
from ddbstream.items import from_ddb, to_jsonable
from ddbstream.logs import error_code
from ddbstream.patterns import parse_filter_criteria
from ddbstream.stream_records import event_json as _event_json  # boto3's parsed records -> Lambda's JSON
from ddbstream.stream_records import lambda_record  # noqa: F401 (hydration: a GetRecords record -> Lambda's)

EMPTY_READS = 3  # GetRecords answers in a row without records before hydrating gives up


class RecordsGone(NotFound):
    """The stream no longer holds the batch's records."""


def hydrate(streams: Any, batch: dict) -> list[dict]:
    """The stream records of a DDBStreamBatchInfo, as GetRecords returns them."""
    try:
        stream_arn = batch["streamArn"]
        shard_id = batch["shardId"]
        start, end = batch["startSequenceNumber"], batch["endSequenceNumber"]
        first, last = int(start), int(end)
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("the message's DDBStreamBatchInfo lacks streamArn, shardId or sequence numbers") from None
    gone = (
        f"the records of this batch ({start}..{end}) are no longer in the stream: "
        "DynamoDB keeps stream records for 24 hours"
    )
    records: list[dict] = []
    size = batch.get("batchSize")
    page_size = min(1000, size + 1) if isinstance(size, int) and size > 0 else 1000
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=start,
        ).get("ShardIterator")
        empty = 0
        while iterator and empty < EMPTY_READS:
            # A page just past the batch's size: a one-record batch costs one small read, not 1,000 records.
            response = streams.get_records(ShardIterator=iterator, Limit=page_size)
            page = response.get("Records", [])
            empty = 0 if page else empty + 1
            done = False
            for record in page:
                number = int(record["dynamodb"]["SequenceNumber"])
                if number > last:
                    done = True
                    break
                if number >= first:
                    records.append(record)
            if done:
                break
            iterator = response.get("NextShardIterator")
    except ClientError as exc:
        code = error_code(exc)
        if code in ("TrimmedDataAccessException", "ExpiredIteratorException"):
            raise RecordsGone(gone) from None
        if code == "ResourceNotFoundException":
            raise RecordsGone(f"the stream {stream_arn} (or its shard {shard_id}) no longer exists") from None
        if code in ("ValidationException", "InvalidArgumentException") and "equence" in str(exc):
            raise RecordsGone(gone) from None
        raise AwsError(f"reading the stream failed: {exc}") from None
    if not records:
        raise RecordsGone(gone)
    return records


def plain_record(record: dict) -> dict:
    """A GetRecords record -> event name, keys, old and new images as plain JSON values."""
    ddb = record.get("dynamodb", {})

    def plain(image: dict | None) -> Any:
        return None if image is None else to_jsonable(from_ddb(image))

    created = ddb.get("ApproximateCreationDateTime")
    return {
        "eventName": record.get("eventName"),
        "eventID": record.get("eventID"),
        "sequenceNumber": ddb.get("SequenceNumber"),
        "approximateCreationDateTime": _event_json(created),
        "keys": plain(ddb.get("Keys")),
        "old": plain(ddb.get("OldImage")),
        "new": plain(ddb.get("NewImage")),
    }


def table_of_stream(stream_arn: str) -> str | None:
    """arn:aws:dynamodb:r:a:table/NAME/stream/LABEL -> NAME."""
    marker = ":table/"
    if marker not in stream_arn:
        return None
    return stream_arn.split(marker, 1)[1].split("/", 1)[0]


def current_items(dynamodb: Any, stream_arn: str, records: list[dict]) -> list[Any]:
    """Each record's item as the table holds it now (None when deleted), to judge staleness."""
    table = table_of_stream(stream_arn)
    out: list[Any] = []
    for record in records:
        keys = record.get("dynamodb", {}).get("Keys")
        if not table or not keys:
            out.append(None)
            continue
        try:
            item = dynamodb.get_item(TableName=table, Key=keys, ConsistentRead=True).get("Item")
        except Exception:  # the table may be gone; the records still stand on their own
            out.append(None)
            continue
        out.append(None if item is None else to_jsonable(from_ddb(item)))
    return out


def mapping_filters(lambda_client: Any, function: str, stream_arn: str) -> list:
    """The compiled FilterCriteria of the function's mapping on this stream ([] when none)."""
    try:
        mappings = lambda_client.list_event_source_mappings(FunctionName=function, EventSourceArn=stream_arn)
    except Exception:
        return []
    for mapping in mappings.get("EventSourceMappings", []):
        try:
            return parse_filter_criteria(mapping.get("FilterCriteria"))
        except InvalidInput:
            return []
    return []
