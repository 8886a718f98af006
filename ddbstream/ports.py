"""Who holds a TCP port on this machine: for a clear "port in use" message instead of a log to read.

Linux only, standard library only: /proc/net/tcp{,6} name the listening socket's inode and
/proc/<pid>/fd shows which process has it open (only our own processes are readable; for
any other the message names just the port).
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

LISTEN = "0A"  # the state column of /proc/net/tcp for a listening socket
PROC = Path("/proc")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether binding ``host``:``port`` fails because something holds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _listening_inodes(port: int) -> set[str]:
    """The inodes of the sockets listening on ``port`` (IPv4 and IPv6)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _command_of(pid: str) -> str:
    try:
        words = (PROC / pid / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(word.decode(errors="replace") for word in words if word)
    return text if len(text) <= 80 else text[:77] + "..."


def port_holder(port: int) -> tuple[int, str] | None:
    """(pid, command line) of the process listening on ``port``, when this user may see it."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return None
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            descriptors = os.listdir(entry / "fd")
        except OSError:
            continue  # another user's process, or gone
        for fd in descriptors:
            try:
                if os.readlink(entry / "fd" / fd) in wanted:
                    return int(entry.name), _command_of(entry.name)
            except OSError:
                continue
    return None


def port_in_use_message(port: int) -> str:
    """'port N is already in use by pid P (command)', or without the holder when it cannot be seen."""
    holder = port_holder(port)
    by = f" by pid {holder[0]} ({holder[1]})" if holder else ""
    return f"port {port} on 127.0.0.1 is already in use{by}: stop it, or choose another port with --port"
