"""The CRUD API behind API Gateway (HTTP API, payload 2.0): handler "app.lambda_handler".

    GET    /dynamo?user_id=<v>                               read one item        200 / 404
    POST   /dynamo   {"user_id": "...", ...}                  create one item      201 / 409
    PATCH  /dynamo   {"user_id", "updatedKey", "updatedValue"} set one attribute  200 / 404
    DELETE /dynamo?user_id=<v>                               delete one item      200 / 404

Bad input is a 400 whose JSON body names the problem. A successful POST then puts one event
on the bus (source, detail-type, detail = the item). Settings come from the environment:
TABLE_NAME, KEY_NAME (default user_id), EVENT_BUS_NAME (unset: no event), EVENT_SOURCE,
EVENT_DETAIL_TYPE.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from functools import partial

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError, ServiceError
from store import AlreadyExists, ItemTable, Missing


def _number(value):
    """DynamoDB's numbers (Decimal) as JSON numbers, not strings as Powertools' default makes them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "crud-api"))
app = APIGatewayHttpResolver(serializer=partial(json.dumps, separators=(",", ":"), default=_number))
KEY = os.environ.get("KEY_NAME", "user_id")


def table() -> ItemTable:
    return ItemTable(os.environ["TABLE_NAME"], KEY)


@app.get("/dynamo")
def read():
    key = _key_from_query()
    try:
        return table().get(key)
    except Missing:
        raise NotFoundError(f"no item with {KEY} {key!r}") from None


@app.post("/dynamo")
def create():
    item = _json_body()
    key = item.get(KEY)
    if not isinstance(key, str) or not key:
        raise BadRequestError(f"the body must hold {KEY} as a non-empty string")
    try:
        table().create(item)
    except AlreadyExists:
        raise ServiceError(409, f"an item with {KEY} {key!r} already exists") from None
    logger.info("created", extra={KEY: key})
    _announce(item)
    return item, 201


@app.patch("/dynamo")
def update():
    body = _json_body()
    key, name = body.get(KEY), body.get("updatedKey")
    if not isinstance(key, str) or not key:
        raise BadRequestError(f"the body must hold {KEY} as a non-empty string")
    if not isinstance(name, str) or not name:
        raise BadRequestError("the body must hold updatedKey as a non-empty string")
    if name == KEY:
        raise BadRequestError(f"updatedKey must not be the key ({KEY})")
    if "updatedValue" not in body:
        raise BadRequestError("the body must hold updatedValue")
    try:
        return table().set(key, name, body["updatedValue"])
    except Missing:
        raise NotFoundError(f"no item with {KEY} {key!r}") from None


@app.delete("/dynamo")
def delete():
    key = _key_from_query()
    try:
        return table().delete(key)
    except Missing:
        raise NotFoundError(f"no item with {KEY} {key!r}") from None


def _key_from_query() -> str:
    key = app.current_event.get_query_string_value(KEY)
    if not key:
        raise BadRequestError(f"the query string must hold {KEY}")
    return key


def _json_body() -> dict:
    """The request body as a JSON object (numbers as Decimal, as DynamoDB needs them)."""
    try:
        body = json.loads(app.current_event.decoded_body or "", parse_float=Decimal)
    except ValueError:
        raise BadRequestError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    return body


def _announce(item: dict) -> None:
    """Put the created item on the bus; a failure is logged (the write itself succeeded)."""
    bus = os.environ.get("EVENT_BUS_NAME")
    if not bus:
        return
    import boto3

    entry = {
        "EventBusName": bus,
        "Source": os.environ.get("EVENT_SOURCE", "crud.api"),
        "DetailType": os.environ.get("EVENT_DETAIL_TYPE", "ItemCreated"),
        "Detail": json.dumps(item, default=_number),
    }
    result = boto3.client("events").put_events(Entries=[entry])
    if result.get("FailedEntryCount"):
        logger.error("the event was not put on the bus", extra={"entries": result["Entries"]})


@logger.inject_lambda_context
def lambda_handler(event, context):
    return app.resolve(event, context)
