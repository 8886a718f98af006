"""The ddbstream command line: a thin Typer layer over the library core."""

from __future__ import annotations

import os
import sys

# Typer validates parameters with pydantic, which otherwise scans every installed
# distribution for plugins on each run (~15 ms of every command).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402

from ddbstream.cli import demo as _demo
from ddbstream.cli import events as _events
from ddbstream.cli import items as _items
from ddbstream.cli import load as _load
from ddbstream.cli import stack as _stack
from ddbstream.cli import dlq as _dlq
from ddbstream.cli import status as _status
from ddbstream.cli import tail as _tail

app = typer.Typer(
    name="ddbstream",
    help="Provision, exercise and observe a DynamoDB Streams -> Lambda pipeline (local or on AWS).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_stack.register(app)
_items.register(app)
_tail.register(app)
_dlq.register(app)
_status.register(app)
_events.register(app)
_demo.register(app)
_load.register(app)


def main() -> None:
    """Console-script entry point: every error becomes one line on stderr and its exit code."""
    from ddbstream.cli.output import error
    from ddbstream.errors import DdbstreamError, ExitCode

    try:
        result = app(standalone_mode=False)
    except DdbstreamError as exc:
        error(exc.message)
        sys.exit(int(exc.exit_code))
    except typer.Abort:
        sys.exit(int(ExitCode.INTERRUPTED))
    except typer.TyperException as exc:
        # Typer's usage errors (unknown option, bad value, missing argument...).
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(int(ExitCode.OK))
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        error(exc.format_message() + hint)
        sys.exit(int(ExitCode.USAGE))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, without Python's flush warning.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(int(ExitCode.OK))
    sys.exit(result if isinstance(result, int) else int(ExitCode.OK))
