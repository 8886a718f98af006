"""What `up --watch` watches (the functions' code, infra/'s settings) and what a changed path is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ddbstream.spec import Spec

CODE, SETTINGS = "code", "settings"
SETTINGS_SUFFIXES = (".tf", ".tfvars", ".tfvars.json")
IGNORED_NAMES = frozenset({".terraform", "__pycache__", "node_modules", ".git"})  # never code nor settings


@dataclass(frozen=True)
class Watched:
    """The directories and files a save in which redeploys something, and where the project is."""

    project_dir: Path
    code_dirs: tuple[Path, ...]
    infra_dir: Path
    var_files: tuple[Path, ...]
    ignored: tuple[Path, ...] = ()  # the state directory (the daemon writes there all the time)

    def roots(self) -> list[Path]:
        """The paths to watch: the code directories, infra/ and the var files outside it."""
        wanted = list(dict.fromkeys([*self.code_dirs, self.infra_dir, *self.var_files]))
        roots = [r for r in wanted if not any(other != r and _under(r, other) for other in wanted)]
        return [r for r in roots if r.exists()]

    def kind(self, path: Path) -> str | None:
        """CODE, SETTINGS, or None for a path whose change redeploys nothing."""
        path = path.resolve()
        if any(_under(path, ignored) for ignored in self.ignored) or IGNORED_NAMES & set(path.parts):
            return None
        if path in self.var_files:
            return SETTINGS
        if _under(path, self.infra_dir):
            return SETTINGS if path.name.endswith(SETTINGS_SUFFIXES) else None
        if any(_under(path, root) for root in self.code_dirs):
            return CODE
        return None

    def snapshot(self) -> dict[Path, tuple[int, int]]:
        """(mtime in ns, size) of every file whose change redeploys something."""
        found: dict[Path, tuple[int, int]] = {}
        for root in self.roots():
            for path in [root] if root.is_file() else root.rglob("*"):
                if self.kind(path) is None:
                    continue
                try:
                    stat = path.stat()
                except OSError:  # removed meanwhile
                    continue
                if path.is_file():
                    found[path.resolve()] = (stat.st_mtime_ns, stat.st_size)
        return found

    def changed_since(self, before: dict[Path, tuple[int, int]]) -> set[Path]:
        """The files saved, added or removed since ``before`` was taken (a snapshot)."""
        now = self.snapshot()
        return {path for path in before.keys() | now.keys() if before.get(path) != now.get(path)}

    def shown(self, path: Path) -> str:
        """The path as a line shows it: relative to the project when it is inside."""
        path = path.resolve()
        return path.relative_to(self.project_dir).as_posix() if _under(path, self.project_dir) else str(path)

    def described(self, paths: Iterable[Path], most: int = 3) -> str:
        """``lambda/handler.py, infra/terraform.tfvars and 2 more``."""
        names = sorted(self.shown(p) for p in paths)
        if len(names) <= most:
            return ", ".join(names)
        return f"{', '.join(names[:most])} and {len(names) - most} more"


def watched_of(spec: Spec, var_files: Iterable[str], state_dir: Path) -> Watched:
    """What to watch for the spec's pipeline: its functions' source directories and its settings."""
    from ddbstream.provision import function, http_api

    code_dirs = [function.source_dir(spec)]
    if spec.get("enable_api"):
        code_dirs.append(http_api.source_dir(spec))
    return Watched(
        project_dir=spec.project_dir.resolve(),
        code_dirs=tuple(dict.fromkeys(d.resolve() for d in code_dirs)),
        infra_dir=spec.infra_dir.resolve(),
        var_files=tuple(Path(f).resolve() for f in var_files),
        ignored=(state_dir.resolve(),),
    )


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
