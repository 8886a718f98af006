"""Who holds a port: named when /proc shows it, else just the port."""

from __future__ import annotations

import os
import socket

from ddbstream import ports


def test_the_holder_of_a_listening_port_is_found():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert ports.port_in_use(port)
        pid, command = ports.port_holder(port)
        assert pid == os.getpid() and ("python" in command or "pytest" in command)
        assert ports.port_in_use_message(port).startswith(f"port {port} on 127.0.0.1 is already in use by pid {pid} (")
    assert not ports.port_in_use(port)


def test_without_proc_the_message_names_just_the_port(monkeypatch, tmp_path):
    monkeypatch.setattr(ports, "PROC", tmp_path)
    assert ports.port_holder(8123) is None
    assert ports.port_in_use_message(8123) == (
        "port 8123 on 127.0.0.1 is already in use: stop it, or choose another port with --port"
    )
