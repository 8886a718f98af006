"""A short command imports only what it needs: what bench/cli_speed.py measures stays true.

`ddbstream put` against `aws dynamodb put-item` depends on it (bench/README.md, "CLI cost"):
Typer >= 0.29 would bring pydantic, boto3 would bring s3transfer, and spec parsing lark; on the
local target `put` and `get` speak to the daemon through ddbstream/local_dynamodb.py, not botocore.
"""

from __future__ import annotations

import subprocess
import sys

from support import cli_env

# Modules a local `put` or `get` must never load (by top-level package).
HEAVY = {"pydantic", "pydantic_core", "boto3", "s3transfer", "hcl2", "lark", "moto", "rich", "werkzeug"}
HEAVY |= {"botocore", "urllib3", "dateutil", "jmespath"}

RUN_AND_REPORT = """
import atexit, sys
heavy = set(sys.argv.pop(1).split(","))
def report():
    loaded = sorted({name.split(".")[0] for name in sys.modules} & heavy)
    print("LOADED:" + ",".join(loaded), file=sys.stderr)
atexit.register(report)
from ddbstream.cli import main
main()
"""


def test_put_and_get_load_no_heavy_module(stack):
    project, _ = stack
    for command in (["put", "--item", '{"employeeid": "I1"}'], ["get", "I1"]):
        result = subprocess.run(
            [sys.executable, "-c", RUN_AND_REPORT, ",".join(sorted(HEAVY)), *command],
            cwd=project,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        loaded = result.stderr.rsplit("LOADED:", 1)[1].strip()
        assert loaded == "", f"{command[0]} loaded {loaded}"
