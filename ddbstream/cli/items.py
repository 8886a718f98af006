"""`put`, `get`, `update`, `delete` and `scan`: exercise the pipeline's table."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import JsonOption

KeyArgument = Annotated[
    Optional[list[str]],
    typer.Argument(help="Key values in schema order: E101, or u1 1700000000 for hash + range.", show_default=False),
]
KeyOption = Annotated[Optional[str], typer.Option("--key", help="The key as JSON (or @file.json, or - for stdin).")]
DdbJsonOption = Annotated[bool, typer.Option("--ddb-json", help="Read and write DynamoDB-typed JSON.")]
IfExists = Annotated[bool, typer.Option("--if-exists", help="Only if an item with this key exists.")]
IfNotExists = Annotated[bool, typer.Option("--if-not-exists", help="Only if no item with this key exists.")]
ConditionOption = Annotated[Optional[str], typer.Option("--condition", help="A DynamoDB condition expression.")]
ValuesOption = Annotated[
    Optional[str], typer.Option("--values", help="Values for --condition placeholders as JSON: '{\":min\": 3}'.")
]


def _condition(if_exists: bool, if_not_exists: bool, condition: str | None, values: str | None, ddb_json: bool):
    from ddbstream.items import parse_item
    from ddbstream.table import Condition

    parsed = parse_item(values, ddb_json=ddb_json) if values else None
    return Condition.from_options(if_exists, if_not_exists, condition, parsed)


def _show(item: dict | None, ddb_json: bool, as_json: bool) -> None:
    from ddbstream.cli.output import emit_json

    if item is None:
        return
    if ddb_json:
        from ddbstream.items import to_ddb

        item = to_ddb(item)
    emit_json(item, pretty=False if as_json else None)


def _check_return(value: str) -> str:
    from ddbstream.errors import InvalidInput
    from ddbstream.table import RETURN_CHOICES

    value = value.lower()
    if value not in RETURN_CHOICES:
        raise InvalidInput(f"--return must be one of {', '.join(RETURN_CHOICES)}, got {value!r}")
    return value


def put(
    item: Annotated[str, typer.Option("--item", "-i", help="The item as JSON, @file.json, or - for stdin.")],
    ddb_json: DdbJsonOption = False,
    if_exists: IfExists = False,
    if_not_exists: IfNotExists = False,
    condition: ConditionOption = None,
    values: ValuesOption = None,
    returns: Annotated[str, typer.Option("--return", help="What to print: none, old or new.")] = "none",
    as_json: JsonOption = False,
) -> None:
    """Write a whole item (with --json, print it).

    Example: ddbstream put --item '{"employeeid": "E101", "name": "Alice"}'
    """
    from ddbstream.cli.common import item_store
    from ddbstream.cli.output import escape, note
    from ddbstream.items import parse_item

    returns = _check_return(returns)
    ddb_item = parse_item(item, ddb_json=ddb_json)
    cond = _condition(if_exists, if_not_exists, condition, values, ddb_json)
    store, _ = item_store()
    result = store.put(ddb_item, cond, "new" if as_json and returns == "none" else returns)
    if not as_json:
        note(f"put {escape(store.describe_key(ddb_item))} into {escape(store.table_name)}")
    _show(result, ddb_json, as_json)


def get(
    key: KeyArgument = None,
    key_json: KeyOption = None,
    ddb_json: DdbJsonOption = False,
    as_json: JsonOption = False,
) -> None:
    """Read one item by its key.

    Example: ddbstream get E101
    """
    from ddbstream.cli.common import item_store
    from ddbstream.items import parse_key

    store, _ = item_store()
    parsed = parse_key(key, key_json, store.key_schema, ddb_json)
    _show(store.get(parsed), ddb_json, as_json)


def update(
    key: KeyArgument = None,
    key_json: KeyOption = None,
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="attr=value (JSON or a plain string); a.b for nested maps, a[0] for list elements."),
    ] = None,
    remove: Annotated[
        Optional[list[str]], typer.Option("--remove", help="Attribute (or a.b / a[0] path) to remove.")
    ] = None,
    add: Annotated[
        Optional[list[str]], typer.Option("--add", help="attr=number: add to a number (atomic counter).")
    ] = None,
    ddb_json: DdbJsonOption = False,
    if_exists: IfExists = False,
    if_not_exists: IfNotExists = False,
    condition: ConditionOption = None,
    values: ValuesOption = None,
    returns: Annotated[str, typer.Option("--return", help="What to print: none, old or new.")] = "new",
    as_json: JsonOption = False,
) -> None:
    """Change attributes of one item.

    Example: ddbstream update E101 --set department=Finance --add visits=1 --remove nickname
    """
    from ddbstream.cli.common import item_store
    from ddbstream.cli.output import escape, note
    from ddbstream.items import build_update, parse_key

    returns = _check_return(returns)
    store, _ = item_store()
    parsed = parse_key(key, key_json, store.key_schema, ddb_json)
    expression, names, vals = build_update(set_ or [], remove or [], add or [], store.key_schema)
    cond = _condition(if_exists, if_not_exists, condition, values, ddb_json)
    assignments = [("--set", value) for value in set_ or []] + [("--add", value) for value in add or []]
    result = store.update(parsed, expression, names, vals, cond, returns, assignments)
    if not as_json:
        note(f"updated {escape(store.describe_key(parsed))} in {escape(store.table_name)}")
    _show(result, ddb_json, as_json)


def delete(
    key: KeyArgument = None,
    key_json: KeyOption = None,
    ddb_json: DdbJsonOption = False,
    if_exists: IfExists = False,
    condition: ConditionOption = None,
    values: ValuesOption = None,
    returns: Annotated[str, typer.Option("--return", help="What to print: none or old.")] = "none",
    as_json: JsonOption = False,
) -> None:
    """Delete one item by its key (with --json, print the key deleted).

    Example: ddbstream delete E101 --if-exists
    """
    from ddbstream.cli.common import item_store
    from ddbstream.cli.output import escape, note
    from ddbstream.errors import InvalidInput
    from ddbstream.items import from_ddb, parse_key

    returns = _check_return(returns)
    if returns == "new":
        raise InvalidInput("--return new makes no sense for delete: use old or none")
    store, _ = item_store()
    parsed = parse_key(key, key_json, store.key_schema, ddb_json)
    cond = _condition(if_exists, False, condition, values, ddb_json)
    old = store.delete(parsed, cond)
    described = escape(store.describe_key(parsed))
    if old is None:  # DynamoDB's delete succeeds either way
        note(f"nothing to delete: no item with key {described} in {escape(store.table_name)}")
        return
    if not as_json:
        note(f"deleted {described} from {escape(store.table_name)}")
    _show(old if returns == "old" else (from_ddb(parsed) if as_json else None), ddb_json, as_json)


def scan(
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="At most this many items.")] = None,
    ddb_json: DdbJsonOption = False,
    as_json: JsonOption = False,
) -> None:
    """List the table's items (a table on a terminal, JSON lines when piped or with --json).

    Example: ddbstream scan --limit 20
    """
    from ddbstream.cli.common import item_store

    store, _ = item_store()
    print_items(store.scan(limit), store.key_schema, store.table_name, ddb_json, as_json)


def print_items(items: list[dict], key_schema, title: str, ddb_json: bool, as_json: bool) -> None:
    """Items as a table on a terminal (key columns first), JSON lines when piped or with --json / --ddb-json."""
    from ddbstream.cli.output import console, escape, stdout_is_terminal

    if as_json or ddb_json or not stdout_is_terminal():
        for item in items:
            _show(item, ddb_json, True)
        return
    from rich.table import Table

    from ddbstream.items import dumps_plain

    key_names = [name for name, _ in key_schema]
    others = sorted({attr for item in items for attr in item} - set(key_names))
    table = Table(title=f"{escape(title)}: {len(items)} item(s)")
    for column in key_names + others:
        table.add_column(escape(column), style="bold" if column in key_names else None)
    for item in items:
        table.add_row(*[escape(_cell(item.get(column), dumps_plain)) for column in key_names + others])
    console().print(table)


def _cell(value, dumps) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else dumps(value)


def register(app: typer.Typer) -> None:
    for command in (put, get, update, delete, scan):
        app.command()(command)
