"""Node.js consumers: their ``node_modules`` installed once per lockfile with ``npm ci``, then packaged.

A directory with a ``package.json`` is a Node.js package. Its dependencies are installed by
``npm ci`` into a cache keyed by the SHA-256 of ``package-lock.json`` (and ``package.json``),
so ``up`` runs npm only when the lockfile changes, never in the user's directory; the zip gets
the directory's own files plus the cached ``node_modules/``, as ``npm install`` + zip would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ddbstream.errors import DdbstreamError, RuntimeUnavailable

NPM_TIMEOUT = 600.0
_MANIFESTS = ("package.json", "package-lock.json")


class NpmError(DdbstreamError):
    """The dependencies of a Node.js consumer could not be installed."""


def default_cache_root() -> Path:
    """Where installed dependencies are kept: ``$DDBSTREAM_CACHE_DIR/npm``, else ``~/.cache/ddbstream/npm``."""
    base = os.environ.get("DDBSTREAM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ddbstream"
    )
    return Path(base) / "npm"


def is_node_package(directory: Path) -> bool:
    return (directory / "package.json").is_file()


def lock_digest(directory: Path) -> str:
    """The cache key: SHA-256 over package.json and package-lock.json."""
    digest = hashlib.sha256()
    for name in _MANIFESTS:
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _npm() -> str:
    npm = os.environ.get("DDBSTREAM_NPM") or shutil.which("npm")
    if not npm:
        raise RuntimeUnavailable("npm is not on PATH: install Node.js (with npm) to package a Node.js consumer")
    return npm


def installed_modules(directory: Path, cache_root: Path | None = None, progress=lambda message: None) -> Path | None:
    """The ``node_modules`` for ``directory``'s lockfile (``npm ci`` on the first use); None without dependencies.

    Raises NpmError when there is a package.json with dependencies but no lockfile, or npm fails.
    """
    if not (directory / "package-lock.json").is_file():
        if (directory / "node_modules").is_dir() or not _has_dependencies(directory):
            return None  # vendored by hand, or nothing to install
        raise NpmError(f"{directory}: package.json without package-lock.json: run 'npm install' there once")
    cache_root = cache_root or default_cache_root()
    target = cache_root / lock_digest(directory)
    modules = target / "node_modules"
    if modules.is_dir():
        return modules
    progress(f"installing Node.js dependencies (npm ci) for {directory.name}")
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_root, prefix="npm-"))
    try:
        for name in _MANIFESTS:
            shutil.copy2(directory / name, staging / name)
        _run_npm_ci(staging)
        try:
            staging.rename(target)
        except OSError:  # another `up` installed the same lockfile meanwhile
            if not modules.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return modules


def _has_dependencies(directory: Path) -> bool:
    try:
        manifest = json.loads((directory / "package.json").read_text())
    except (OSError, ValueError) as exc:
        raise NpmError(f"{directory / 'package.json'}: not valid JSON ({exc})") from None
    return bool(manifest.get("dependencies")) if isinstance(manifest, dict) else False


def _run_npm_ci(directory: Path) -> None:
    command = [_npm(), "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        result = subprocess.run(
            command, cwd=directory, capture_output=True, text=True, timeout=NPM_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise NpmError(f"npm ci did not finish within {NPM_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise NpmError(f"npm could not be run: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise NpmError("npm ci failed:\n  " + "\n  ".join(detail))
