"""Sample items and stream events shaped for the pipeline's table (``ddbstream event``, the demo).

The table's shape (name, key schema, stream view type, stream ARN) comes from state.json when
a stack is up, else from the spec, so samples work before anything is provisioned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ddbstream.errors import InvalidInput
from ddbstream.events import make_event, make_stream_record, stream_arn
from ddbstream.items import check_key, to_ddb
from ddbstream.state import FAKE_ACCOUNT
from ddbstream.stream_records import EVENT_NAMES, VIEW_TYPES

if TYPE_CHECKING:
    from ddbstream.pipeline import Pipeline


@dataclass
class TableShape:
    """What a stream event of the pipeline's table depends on."""

    table_name: str
    key_schema: list[tuple[str, str]]
    view_type: str
    region: str = "us-east-1"
    account: str = FAKE_ACCOUNT
    source_arn: str | None = None
    origin: str = "spec"  # "stack" when read from state.json

    @property
    def arn(self) -> str:
        return self.source_arn or stream_arn(self.table_name, self.region, self.account)


def shape_from_spec(spec) -> TableShape:
    return TableShape(
        table_name=spec["table_name"],
        key_schema=spec.key_schema(),
        view_type=spec["stream_view_type"],
        region=spec["aws_region"],
    )


def shape_from_pipeline(pipeline: Pipeline) -> TableShape | None:
    """The provisioned table's shape, or None when the pipeline has no table."""
    table = pipeline.table
    if table is None or not table.key_schema:
        return None
    return TableShape(
        table_name=table.name,
        key_schema=list(table.key_schema),
        view_type=table.stream_view_type or "NEW_AND_OLD_IMAGES",
        region=pipeline.region,
        account=pipeline.account or FAKE_ACCOUNT,
        source_arn=table.stream_arn,
        origin="stack",
    )


def current_shape(var_files: list[str] | None = None, overrides: list[str] | None = None) -> TableShape:
    """The running stack's table (unless variables are overridden), else the spec's."""
    from ddbstream.errors import SpecError
    from ddbstream.spec import load_spec

    if not var_files and not overrides:
        from ddbstream.pipeline import saved_pipeline
        from ddbstream.state import state_dir

        try:
            pipeline = saved_pipeline(state_dir())
        except SpecError:
            pipeline = None
        if pipeline is not None and pipeline.is_running():
            shape = shape_from_pipeline(pipeline)
            if shape is not None:
                return shape
    return shape_from_spec(load_spec(var_files=var_files, overrides=overrides))


# ---------------------------------------------------------------- sample values


def sample_key(key_schema: list[tuple[str, str]], number: int = 101) -> dict[str, Any]:
    """A plausible key: E101 for an `employeeid` string, 1700000000 for a numeric range key..."""
    key: dict[str, Any] = {}
    for position, (name, kind) in enumerate(key_schema):
        is_range = position == 1
        if kind == "S":
            initial = next((c.upper() for c in name if c.isalpha()), "K")
            key[name] = "2024-01-01T09:00:00Z" if is_range else f"{initial}{number}"
        elif kind == "N":
            key[name] = Decimal(1_700_000_000 if is_range else number)
        else:
            key[name] = f"{name}-{number}".encode()
    return key


# Attributes of the sample item: before (old) and after (new) a MODIFY.
_OLD_ATTRIBUTES: dict[str, Any] = {
    "name": "Alice Martin",
    "department": "Engineering",
    "salary": Decimal(85000),
    "skills": {"dynamodb", "python"},
    "address": {"city": "Lisbon", "country": "PT"},
    "active": True,
}
_NEW_CHANGES: dict[str, Any] = {
    "department": "Platform",
    "salary": Decimal("92500.50"),
    "skills": {"dynamodb", "python", "terraform"},
}


def sample_item(key: Mapping[str, Any], modified: bool = False) -> dict[str, Any]:
    """The sample item for ``key`` (key attributes win over sample attributes of the same name)."""
    attributes = {**_OLD_ATTRIBUTES, **(_NEW_CHANGES if modified else {})}
    return {**{k: v for k, v in attributes.items() if k not in key}, **key}


# ---------------------------------------------------------------- events


def _plain_image(value: Any, what: str) -> dict[str, Any]:
    from ddbstream.items import from_ddb

    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return from_ddb(to_ddb(value)) if value else {}


def sample_event(
    shape: TableShape,
    event_name: str,
    item: Mapping[str, Any] | None = None,
    old: Mapping[str, Any] | None = None,
    view_type: str | None = None,
    ttl: bool = False,
) -> dict[str, Any]:
    """A one-record Lambda event for the table.

    ``item`` is the new image (for REMOVE: the removed item, like ``old``); ``old`` the old
    image. Key attributes come from the images; missing ones are sample values. Without
    images, a sample item is used; a MODIFY given only ``item`` has the key alone as old image.
    """
    event_name = event_name.upper()
    if event_name not in EVENT_NAMES:
        raise InvalidInput(f"unknown event name {event_name!r}: use {', '.join(n.lower() for n in EVENT_NAMES)}")
    view_type = (view_type or shape.view_type).upper()
    if view_type not in VIEW_TYPES:
        raise InvalidInput(f"unknown stream view type {view_type!r}: use {', '.join(VIEW_TYPES)}")
    if event_name == "REMOVE" and item is not None:
        if old is not None:
            raise InvalidInput("a REMOVE has only the removed item: give --item or --old, not both")
        item, old = None, item
    if event_name == "INSERT" and old is not None:
        raise InvalidInput("an INSERT has no old image: --old applies to modify and remove")
    new_image = _plain_image(item, "--item") if item is not None else None
    old_image = _plain_image(old, "--old") if old is not None else None

    names = [name for name, _ in shape.key_schema]
    given = new_image if new_image is not None else old_image
    key = sample_key(shape.key_schema)
    if given is not None:
        key.update({name: given[name] for name in names if name in given})
    check_key(to_ddb(key), shape.key_schema, what="the item")

    if new_image is None and old_image is None:
        new_image = sample_item(key, modified=event_name == "MODIFY")
        old_image = sample_item(key) if event_name == "MODIFY" else None
        if event_name == "REMOVE":
            new_image, old_image = None, sample_item(key)
    elif event_name == "MODIFY":
        new_image = new_image if new_image is not None else dict(key)
        old_image = old_image if old_image is not None else dict(key)
    elif event_name == "INSERT" and new_image is None:
        new_image = dict(key)

    record = make_stream_record(
        event_name,
        key,
        new_image=new_image,
        old_image=old_image,
        view_type=view_type,
        table_name=shape.table_name,
        region=shape.region,
        account=shape.account,
        source_arn=shape.arn,
        ttl=ttl,
    )
    return make_event([_sorted_sets(record)])


def _sorted_sets(value: Any) -> Any:
    """Set members in a stable order (boto3 serialises a Python set in hash order)."""
    if isinstance(value, dict):
        out = {}
        for kind, inner in value.items():
            if kind in ("SS", "NS", "BS") and isinstance(inner, list):
                out[kind] = sorted(inner, key=Decimal if kind == "NS" else None)
            else:
                out[kind] = _sorted_sets(inner)
        return out
    if isinstance(value, list):
        return [_sorted_sets(v) for v in value]
    return value
