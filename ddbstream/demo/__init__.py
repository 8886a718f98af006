"""`ddbstream demo`: the whole pipeline shown once, on the local target.

Starts the stack (or reuses the running one), writes a few items while the consumer's log
lines stream in, makes one record fail until it lands in the dead-letter queue, and shows the
status report. Failure injection is switched on for the demo only: the function's
FAIL_ATTRIBUTE is set to ``poison`` for its duration and put back afterwards, so the stack is
left as the spec describes it (with --down, the throwaway stack starts with it instead).

view.py: how the demo shows itself; stack.py: the local stack it runs on; follower.py: the
consumer's log, followed; run.py: the script; crud.py: the CRUD API tour (--example crud-api).
"""

from ddbstream.demo.crud import run_crud_demo
from ddbstream.demo.run import run_demo
from ddbstream.demo.view import DemoView

__all__ = ["DemoView", "run_crud_demo", "run_demo"]
