"""python -m tools.provider_schema [DIR...]: check Terraform directories (default infra/) against the AWS provider's schema.

One line per problem ("file:line: message") on stdout, a summary line on stderr; exit 1 when
there are problems, 2 when the schema cannot be had (download failed, no network, no cache).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .check import check_tree
from .fetch import PACKAGE_VERSION, PYPI_NAME, FetchError, load_schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.provider_schema", description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="*", default=["infra"], help="Terraform trees to check (default: infra)")
    args = parser.parse_args(argv)
    try:
        schema = load_schema()
    except FetchError as exc:
        print(f"provider-schema: {exc}", file=sys.stderr)
        return 2
    problems: list[str] = []
    checked = 0
    for directory in map(Path, args.directories):
        if not directory.is_dir():
            print(f"provider-schema: no directory {directory}", file=sys.stderr)
            return 2
        result = check_tree(directory, schema)
        problems.extend(result.problems)
        checked += result.checked
    for problem in problems:
        print(problem)
    source = f"hashicorp/aws {schema['provider']} from {PYPI_NAME} {PACKAGE_VERSION}"
    where = ", ".join(args.directories)
    print(
        f"provider-schema: {len(problems)} problem(s) in {checked} aws_* blocks of {where} ({source})", file=sys.stderr
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
