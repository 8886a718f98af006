"""Debugger clients for the debug-mode tests: the Debug Adapter Protocol (debugpy, as VS Code and
PyCharm speak it) and the V8 inspector's HTTP and WebSocket endpoints (Node.js)."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import urllib.request
from typing import Any


class DapClient:
    """A minimal DAP client over TCP: Content-Length framed JSON requests, responses and events."""

    def __init__(self, port: int, timeout: float = 20.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self._seq = 0
        self._buffer = b""
        self.seen: list[dict] = []

    def request(self, command: str, **arguments: Any) -> int:
        self._seq += 1
        body = json.dumps({"seq": self._seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    def _read(self) -> dict:
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        header, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        length = int(
            next(line for line in header.split(b"\r\n") if line.lower().startswith(b"content-length:")).split(b":")[1]
        )
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        message = json.loads(body)
        self.seen.append(message)
        return message

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the debug adapter closed the connection")
        self._buffer += chunk

    def wait(self, *, event: str | None = None, response_to: int | None = None) -> dict:
        """The next event named ``event`` or the response to request ``response_to`` (earlier ones included)."""

        def matches(message: dict) -> bool:
            if event is not None:
                return message.get("type") == "event" and message.get("event") == event
            return message.get("type") == "response" and message.get("request_seq") == response_to

        for message in self.seen:
            if matches(message):
                self.seen.remove(message)
                return message
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = self._read()
            if matches(message):
                self.seen.remove(message)
                return message
        raise AssertionError(f"no {event or f'response to {response_to}'} from the debug adapter")

    def attach(self, breakpoints: dict[str, list[int]] | None = None, **arguments: Any) -> None:
        """initialize, attach (with ``arguments``, e.g. pathMappings), setBreakpoints, configurationDone:
        what an IDE's attach sends."""
        initialize = self.request(
            "initialize", clientID="ddbstream-tests", adapterID="debugpy", pathFormat="path", linesStartAt1=True
        )
        assert self.wait(response_to=initialize)["success"]
        attach = self.request("attach", **{"justMyCode": False, **arguments})
        self.wait(event="initialized")
        for path, lines in (breakpoints or {}).items():
            done = self.request("setBreakpoints", source={"path": path}, breakpoints=[{"line": n} for n in lines])
            assert self.wait(response_to=done)["success"]
        configured = self.request("configurationDone")
        assert self.wait(response_to=configured)["success"]
        assert self.wait(response_to=attach)["success"]

    def close(self) -> None:
        self.sock.close()


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port`` (found by binding: a probing connection
    would count as debugpy's one client)."""
    from ddbstream.ports import port_in_use

    return port_in_use(port)


def inspector_targets(port: int) -> list[dict]:
    """The V8 inspector's /json/list (the targets a debugger can attach to); [] while it is not up."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return []


def inspector_run(ws_url: str) -> None:
    """Attach to a Node.js inspector target over its WebSocket and tell it to run (what an IDE does)."""
    rest = ws_url.removeprefix("ws://")
    address, path = rest.split("/", 1)
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /{path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    for seq, method in enumerate(("Runtime.enable", "Runtime.runIfWaitingForDebugger"), 1):
        _send_frame(sock, json.dumps({"id": seq, "method": method}).encode())
    _OPEN.append(sock)


_OPEN: list[socket.socket] = []  # inspector sessions stay attached until the test ends


def close_inspector_sessions() -> None:
    while _OPEN:
        _OPEN.pop().close()


def _send_frame(sock: socket.socket, payload: bytes) -> None:
    """One masked text frame (a client must mask, RFC 6455)."""
    mask = os.urandom(4)
    size = len(payload)
    header = bytes([0x81]) + (bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack(">H", size))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
