"""The event source mapping engine (DynamoDB stream -> Lambda) and its API on the daemon.

source.py reads a lane's batches from the stream, policy.py decides what follows an
invocation (pure: retries, bisect, record age, tumbling windows), target.py invokes the
function and delivers OnFailure records, engine.py runs the lanes, api.py serves the routes.
"""

from __future__ import annotations

from ddbstream.emulator.esm.api import MappingApi, add_routes
from ddbstream.emulator.esm.engine import Engine, Lane, Mapping
from ddbstream.emulator.esm.model import Batch, MappingSettings
from ddbstream.emulator.esm.target import Destinations, Invoker, Runtime
from ddbstream.emulator.server import Emulator
from ddbstream.emulator.streams import StreamRegistry

__all__ = ["Batch", "Engine", "Invoker", "Lane", "Mapping", "MappingSettings", "install"]


def install(emulator: Emulator, *, streams: StreamRegistry, runtime: Runtime) -> Engine:
    """Add the engine to the daemon: it reads ``streams``, invokes through ``runtime``, serves its routes."""
    engine = Engine(streams, Invoker(runtime), Destinations())
    add_routes(emulator, MappingApi(engine, emulator.region, emulator.account))
    emulator.on_shutdown(engine.shutdown)
    return engine
