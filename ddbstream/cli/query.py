"""`query`: the items of one partition key, of the table or of an index, in sort key order."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import JsonOption
from ddbstream.cli.items import DdbJsonOption


def query(
    partition_key: Annotated[
        str, typer.Argument(help="The partition key's value (of the index with --index).", metavar="PARTITION_KEY")
    ],
    sort: Annotated[
        Optional[str], typer.Option("--sort", help="A sort key condition: '>= 1700000000', '< 5', '= x'.")
    ] = None,
    between: Annotated[
        Optional[tuple[str, str]],
        typer.Option("--between", help="Sort key between A and B, both included.", metavar="A B"),
    ] = None,
    begins_with: Annotated[
        Optional[str], typer.Option("--begins-with", help="Sort key (string or binary) starting with this.")
    ] = None,
    index: Annotated[Optional[str], typer.Option("--index", help="Query this secondary index (its own keys).")] = None,
    filter_: Annotated[
        Optional[str], typer.Option("--filter", help="A filter expression on the items found: 'kind = :k'.")
    ] = None,
    values: Annotated[
        Optional[str], typer.Option("--values", help='Values for --filter placeholders as JSON: \'{":k": "a"}\'.')
    ] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="At most this many items.")] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Highest sort key first.")] = False,
    ddb_json: DdbJsonOption = False,
    as_json: JsonOption = False,
) -> None:
    """List the items with one partition key, in sort key order (a table on a terminal, JSON lines when piped).

    Example: ddbstream query u1 --sort '>= 1700000000' --limit 10
    """
    from ddbstream.cli.common import item_store
    from ddbstream.cli.items import print_items
    from ddbstream.items import parse_item
    from ddbstream.query import Query, run_query

    parsed_values = parse_item(values, ddb_json=ddb_json) if values else {}
    asked = Query(partition_key, sort, between, begins_with, index, filter_, parsed_values, reverse)
    store, _ = item_store()
    items = run_query(store, asked, limit)
    title = f"{store.table_name} ({index})" if index else store.table_name
    print_items(items, store.key_schema, title, ddb_json, as_json)


def register(app: typer.Typer) -> None:
    app.command()(query)
