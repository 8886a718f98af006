"""A dead-letter message as people read it: in the demo, and from `dlq show` on a terminal."""

from __future__ import annotations

from typing import Any


def print_dead_letter(
    out: Any, summary: dict[str, Any], records: list[dict[str, Any]] | None, indent: str = ""
) -> None:
    """The message's failure (condition, attempts, batch) and, when given, its records: event, keys,
    sequence number, old and new images, and the item as the table holds it now (when known)."""
    from ddbstream.cli.output import escape
    from ddbstream.items import dumps_plain

    def shown(value: Any) -> str:
        return escape("-" if value is None else str(value))

    out.print(f"{indent}[bold red]dead-letter message[/] {shown(summary['messageId'])}")
    batch = (
        f"{summary.get('startSequenceNumber')} .. {summary.get('endSequenceNumber')} "
        f"({summary.get('batchSize')} record(s), shard {summary.get('shardId')})"
    )
    details = [
        ("condition", summary.get("condition")),
        ("attempts", summary.get("attempts")),
        ("batch", batch if summary.get("startSequenceNumber") else None),
        ("failed at", summary.get("failedAt")),
    ]
    for label, value in details:
        out.print(f"{indent}  {label:<10} {shown(value)}")
    if records is None:
        return
    out.print(f"{indent}  [dim]its records, read back from the stream:[/]")
    for record in records:
        keys = escape(dumps_plain(record["keys"]))
        out.print(
            f"{indent}  [bold]{shown(record['eventName'])}[/] {keys} [dim]sequence {shown(record['sequenceNumber'])}[/]"
        )
        for image in ("old", "new"):
            if record.get(image) is not None:
                out.print(f"{indent}    {image}: {escape(dumps_plain(record[image]))}")
        if "current" in record:  # `dlq show` reads the item back: has it changed since?
            now = "no such item" if record["current"] is None else dumps_plain(record["current"])
            out.print(f"{indent}    now: {escape(now)}")
