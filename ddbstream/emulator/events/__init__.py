"""EventBridge delivery: PutEvents on a bus reaches every matching rule's targets.

moto keeps buses, rules and targets and answers PutEvents; it delivers only to a few target
kinds (and to Lambda through Docker). Here moto's per-rule delivery is replaced:

- ``moto_patch``: ``Rule.send_to_targets`` hands each event to the installed ``EventBus``;
  ``PutRule`` refuses the patterns EventBridge refuses (our matcher, ddbstream.patterns).
- ``bus``: ``EventBus``, the rules' matching (EventBridge's dialect of ddbstream.patterns),
  the per-rule delivered/failed counts and the recent deliveries ``status`` and ``tail`` read.
- ``targets``: the envelope AWS sends and the senders: CloudWatch Logs, SQS, SNS, and
  Lambda through our runtime. ``transform``: a target's Input, InputPath or InputTransformer.
- ``api``: the daemon routes reading the counts and the deliveries.
"""

from __future__ import annotations

from typing import Any

from ddbstream.emulator.events import moto_patch
from ddbstream.emulator.events.api import add_event_routes
from ddbstream.emulator.events.bus import EventBus

__all__ = ["EventBus", "install"]


def install(emulator: Any, runtime: Any) -> EventBus:
    """Deliver every PutEvents through a new EventBus (Lambda targets run on ``runtime``)."""
    bus = EventBus(emulator.region, emulator.account, runtime)
    moto_patch.install(bus)
    add_event_routes(emulator, bus)
    emulator.on_shutdown(lambda: moto_patch.uninstall(bus))
    return bus
