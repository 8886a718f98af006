"""A worker process's peak resident memory (VmHWM), read cheaply.

Its ``/proc/<pid>/status`` is opened once, when the process starts, and read again from the
start with one ``pread`` at each look: no path lookup and no file object per invocation, and
the open file keeps naming that process even after its pid is reused (a read then fails).
"""

from __future__ import annotations

import os
import threading

_STATUS_BYTES = 4096  # VmHWM is in the first kilobyte or so of the file
_FIELD = b"VmHWM:"


class PeakMemory:
    """The peak resident memory of one process, in KiB; kept once the process is gone."""

    def __init__(self, pid: int):
        self.peak_kb = 0
        self._lock = threading.Lock()  # read and close from different threads: never a closed fd
        try:
            self._fd: int | None = os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # already gone, or no /proc: the peak stays unknown (0)
            self._fd = None

    def read(self) -> int:
        """The peak so far (the last one seen when the process has exited)."""
        with self._lock:
            if self._fd is not None:
                try:
                    status = os.pread(self._fd, _STATUS_BYTES, 0)
                    start = status.index(_FIELD) + len(_FIELD)
                    self.peak_kb = max(self.peak_kb, int(status[start : status.index(b"kB", start)]))
                except (OSError, ValueError):  # exited (ESRCH), or a zombie without the field
                    pass
        return self.peak_kb

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
