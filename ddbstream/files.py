"""Private files written whole: mode 0600 from the first byte, replaced atomically."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_private(path: Path | str, data: str | bytes, *, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The temporary file is created 0600 (nobody else may read it even for a moment) and
    named per process, so two writers never share it. ``durable`` also syncs the data and
    the directory, so the file survives a crash of the machine right after we return.
    """
    path = Path(path)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(partial, 0o600)  # a file left by an older, laxer writer keeps its mode otherwise
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    if durable:
        _sync_directory(path.parent)
    return path


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
