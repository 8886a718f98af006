"""The ddbstream command line: a thin Typer layer over the library core."""

from __future__ import annotations

import gc
import sys

# Starting a command allocates ~80,000 long-lived objects (typer, botocore and their service
# models) and no garbage: at the default threshold (700) the collector runs a hundred times
# for nothing, ~5% of a short command's time. Cycles are still collected, just in larger rounds.
gc.set_threshold(100_000, 10, 10)

import typer  # noqa: E402

# Which module registers each command. Only the module of the command being run is
# imported and turned into Typer parameters, so a short command does not pay for the rest
# (bench/cli_speed.py); `--help` and unknown names load them all.
COMMAND_MODULES = {
    "up": "stack",
    "down": "stack",
    "destroy": "stack",
    "put": "items",
    "get": "items",
    "update": "items",
    "delete": "items",
    "scan": "items",
    "tail": "tail",
    "dlq": "dlq",
    "status": "status",
    "event": "events",
    "invoke": "events",
    "demo": "demo",
    "load": "load",
    "env": "env",
    "api": "api",
}


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        print(f"ddbstream {version('ddbstream')}")
        raise typer.Exit()


def build_app(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app with the commands ``argv`` needs (all of them when it names none)."""
    import importlib

    app = typer.Typer(
        name="ddbstream",
        help="Provision, exercise and observe a DynamoDB Streams -> Lambda pipeline (local or on AWS).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _group(
        version: bool = typer.Option(
            False, "--version", is_eager=True, callback=_print_version, help="Print ddbstream's version and exit."
        ),
    ) -> None:
        """Provision, exercise and observe a DynamoDB Streams -> Lambda pipeline (local or on AWS)."""

    command = next((arg for arg in argv or [] if not arg.startswith("-")), None)
    if command in COMMAND_MODULES:
        modules = [COMMAND_MODULES[command]]
    else:
        modules = list(dict.fromkeys(COMMAND_MODULES.values()))
    for module in modules:
        importlib.import_module(f"ddbstream.cli.{module}").register(app)
    return app


def main() -> None:
    """Console-script entry point: every error becomes one line on stderr and its exit code."""
    from ddbstream.cli.output import error
    from ddbstream.errors import CREDENTIALS_HINT, DdbstreamError, ExitCode

    try:
        result = build_app(sys.argv[1:])(standalone_mode=False)
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
    except Exception as exc:
        # What the core does not translate from botocore (credentials missing mid-command,
        # an endpoint that cannot be reached) is still the user's environment, not a bug.
        from botocore.exceptions import BotoCoreError, NoCredentialsError, PartialCredentialsError

        if not isinstance(exc, BotoCoreError):
            raise
        credentials = isinstance(exc, (NoCredentialsError, PartialCredentialsError))
        error(f"AWS: {exc}" + (f"; {CREDENTIALS_HINT}" if credentials else ""))
        sys.exit(int(ExitCode.CREDENTIALS if credentials else ExitCode.AWS))
    sys.exit(result if isinstance(result, int) else int(ExitCode.OK))
