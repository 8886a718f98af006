"""Handing an event to a runtime's ``/next``: whichever of the two comes second hands it over.

A warm runtime usually asks first: its ``/next`` request is *parked* (not answered) and its
server thread goes back to reading the connection; the invoking thread then answers it itself
when the event comes, instead of waking the server thread to do so (one thread hand-off fewer
an invocation, issue 20). An event that comes first waits for the request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ddbstream.emulator.runtime.model import Invocation

Reply = Callable[[Invocation | None], None]  # answers a /next: with an event, or None (stopping)


class Handoff:
    """One worker's meeting point of events and ``/next`` requests; ``hand`` answers a request."""

    def __init__(self, hand: Callable[[Invocation, Reply], None]):
        self._hand = hand
        self._lock = threading.Lock()
        self._parked: Reply | None = None
        self._waiting: Invocation | None = None
        self._closed = False

    def request(self, reply: Reply) -> None:
        """A ``/next`` came: hand the waiting event, or park the request until one comes."""
        with self._lock:
            invocation, self._waiting = self._waiting, None
            if invocation is None and not self._closed:
                self._parked = reply
                return
        if invocation is None:
            reply(None)
        else:
            self._hand(invocation, reply)

    def offer(self, invocation: Invocation) -> None:
        """An event came: hand it to the parked request, or keep it for the next one."""
        with self._lock:
            reply, self._parked = self._parked, None
            if reply is None:
                self._waiting = invocation
                return
        self._hand(invocation, reply)

    def close(self) -> None:
        """The worker stops: a parked request is answered None, later ones too."""
        with self._lock:
            self._closed = True
            reply, self._parked = self._parked, None
        if reply is not None:
            reply(None)
