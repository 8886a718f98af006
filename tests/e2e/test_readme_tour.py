"""README's "A short tour", run as written, top to bottom: every command succeeds and the
`status --check` at its end exits 0 (healthy) with no write after the replay.

The commands are read from README.md itself, so the tour and this test cannot drift apart.
Where a person would wait (the consumer's log line, the failed batch reaching the DLQ), the
test waits on that condition with a deadline.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from support import REPO, make_project, run_cli, wait_until

pytestmark = pytest.mark.e2e


def tour_commands() -> list[list[str]]:
    """The argv (after `ddbstream`) of each line of the tour's first bash block."""
    readme = (REPO / "README.md").read_text()
    tour = readme.split("## A short tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", tour, re.S)
    assert block, "README's tour has a bash block"
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "ddbstream", line
            commands.append(words[1:])
    return commands


def test_the_tour_reads_as_the_pipeline_story():
    names = [" ".join(argv[:2]) for argv in tour_commands()]
    assert names[0] == "up" and names[-1] == "down"
    assert "dlq replay" in names and names[-2] == "status --check"


def test_the_readme_tour_runs_top_to_bottom(tmp_path: Path):
    project = make_project(tmp_path / "project")
    message_id = None
    try:
        for argv in tour_commands():
            if argv[:2] == ["dlq", "list"]:  # the failed batch arrives once its retries are spent
                first = wait_until(
                    lambda: run_cli("dlq", "list", "--json", cwd=project).stdout.strip(), 90, 0.3, "the DLQ message"
                )
                message_id = json.loads(first.splitlines()[0])["messageId"]
            if "<MESSAGE_ID>" in argv:
                assert message_id, "dlq list ran before dlq show"
                argv = [message_id if word == "<MESSAGE_ID>" else word for word in argv]
            if argv[0] == "tail":  # the consumer's line for the put, once the mapping delivered it
                wait_until(lambda a=argv: "E101" in run_cli(*a, cwd=project).stdout, 60, 0.3, "E101 in the log")
            result = run_cli(*argv, cwd=project)
            assert result.returncode == 0, (argv, result.returncode, result.stdout, result.stderr)
            if argv[:2] == ["dlq", "replay"]:
                assert "processed" in result.stdout, result.stdout
            if argv[:2] == ["status", "--check"]:
                assert result.stderr.strip().splitlines()[-1] == "healthy", result.stderr
    finally:
        run_cli("destroy", "--yes", cwd=project)
