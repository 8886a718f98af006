"""The project's ``.ddbstream/`` directory: state.json (mode 0600) and the daemon's files."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ddbstream.files import write_private

FAKE_ACCOUNT = "123456789012"


def state_dir(project_dir: Path | None = None) -> Path:
    """Where ddbstream keeps its files: ``$DDBSTREAM_STATE_DIR`` or ``<project>/.ddbstream``."""
    override = os.environ.get("DDBSTREAM_STATE_DIR")
    if override:
        return Path(override)
    if project_dir is None:
        from ddbstream.spec import find_infra_dir

        project_dir = find_infra_dir().parent
    return project_dir / ".ddbstream"


@dataclass
class State:
    """What `up` provisioned and how to reach it."""

    target: str
    region: str
    account: str = FAKE_ACCOUNT
    endpoint: str | None = None  # local daemon only
    pid: int | None = None  # local daemon only
    started_at: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None  # aws only: the AWS profile `up` deployed with
    secret: str | None = None  # local only: the stack secret every request to the daemon carries

    @property
    def is_local(self) -> bool:
        return self.target == "local"


def write_state(directory: Path, state: State) -> Path:
    """Write state.json atomically with mode 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    return write_private(directory / "state.json", json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")


def read_state(directory: Path) -> State | None:
    """The saved state, or None when there is none (or it is unreadable)."""
    path = directory / "state.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return State(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove_state(directory: Path) -> None:
    (directory / "state.json").unlink(missing_ok=True)
