"""Rewrite the case table of tests/conformance/README.md from a run's report.

    DDBSTREAM_CONFORMANCE_REPORT=/tmp/conformance.json pytest tests/conformance
    python tests/conformance/report.py /tmp/conformance.json

A recorded case no test compared is listed as "not compared".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN, END = "<!-- cases: begin -->", "<!-- cases: end -->"


def source_of(entry: dict) -> str:
    """The recording's origin, short: the snapshot file and test, a dynalite line, a GitHub thread or a documentation page."""
    source, key = entry["source"], entry["key"]
    if source.startswith("localstack/"):
        test = key.split("::")[-1]
        return f"LocalStack `{source.split(':', 1)[1].rsplit('/', 1)[-1]}` `{test}`"
    if source.startswith("mhart/dynalite"):
        return f"dynalite `{key}`"
    if source.startswith("https://github.com/"):  # an AWS answer pasted in an issue or pull request thread
        return f"[{key.split(',')[0]}]({source})"
    return f"[AWS API reference]({source})"


def _tests(node_ids: list[str]) -> list[str]:
    """The tests that compared a case; a test run with many parameters is named once, with their count."""
    names = [node_id.split("::", 1)[1] for node_id in node_ids]
    counts: dict[str, int] = {}
    for name in names:
        counts[name.split("[", 1)[0]] = counts.get(name.split("[", 1)[0], 0) + 1
    shown = [f"`{base}` ({count} parameters)" for base, count in counts.items() if count > 2]
    return shown + [f"`{name}`" for name in names if counts[name.split("[", 1)[0]] <= 2]


def rows(report: dict) -> list[str]:
    lines = [
        "| # | case | recorded entry | source | recorded | test | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    number = 0
    for path in sorted((HERE / "recordings").glob("*.json")):
        for case_id, entry in json.loads(path.read_text())["cases"].items():
            number += 1
            seen = report.get(f"{path.stem}:{case_id}")
            tests = ", ".join(_tests(seen["tests"])) if seen else "-"
            result = seen["outcome"] if seen else "not compared"
            date = entry["recorded-date"].split(" ")[0].split(",")[0]
            lines.append(
                f"| {number} | `{path.stem}:{case_id}` | `{entry['entry']}` | {source_of(entry)} | {date} | {tests} | {result} |"
            )
    return lines


def main(report_file: str) -> None:
    report = json.loads(Path(report_file).read_text())
    text = README.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + BEGIN + "\n" + "\n".join(rows(report)) + "\n" + END + tail)


if __name__ == "__main__":
    main(sys.argv[1])
