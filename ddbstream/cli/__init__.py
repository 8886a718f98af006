"""The ddbstream command line: a thin Typer layer over the library core."""

from __future__ import annotations

import gc
import os
import sys
from typing import Optional

# Starting a command allocates ~80,000 long-lived objects (typer, botocore and their service
# models) and no garbage: at the default threshold (700) the collector runs a hundred times
# for nothing, ~5% of a short command's time. Cycles are still collected, just in larger rounds.
gc.set_threshold(100_000, 10, 10)

import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

# Which module registers each command. Only the module of the command being run is
# imported and turned into Typer parameters, so a short command does not pay for the rest
# (bench/cli_speed.py); `--help` and unknown names load them all.
COMMAND_MODULES = {
    "init": "init",
    "up": "stack",
    "plan": "plan",
    "down": "stack",
    "destroy": "stack",
    "put": "items",
    "get": "items",
    "update": "items",
    "delete": "items",
    "scan": "items",
    "query": "query",
    "tail": "tail",
    "dlq": "dlq",
    "status": "status",
    "metrics": "metrics",
    "event": "events",
    "invoke": "events",
    "demo": "demo",
    "load": "load",
    "env": "env",
    "api": "api",
    "replay": "replay",
}


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        print(f"ddbstream {version('ddbstream')}")
        raise typer.Exit()


class _Commands(TyperGroup):
    """The root group: a command whose reader goes away (`| head`) ends there, quietly and with 0.

    Click would turn the broken pipe into exit 1, and rich exits with 1 once it has pointed stdout
    at /dev/null; like `tail`, the CLI stops writing and succeeds.
    """

    def make_context(self, *args, **kwargs):  # --help and --version print while arguments are parsed
        try:
            return super().make_context(*args, **kwargs)
        except (BrokenPipeError, SystemExit) as exc:
            _end_if_reader_gone(exc)
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (BrokenPipeError, SystemExit) as exc:
            _end_if_reader_gone(exc)
            raise


def _end_if_reader_gone(exc: BaseException) -> None:
    """typer.Exit(0) when ``exc`` says stdout's reader went away (what is still to be written goes nowhere)."""
    from ddbstream.errors import ExitCode

    if isinstance(exc, SystemExit):
        # Only rich raises SystemExit inside a command, and only on a broken pipe (Console.on_broken_pipe).
        if exc.code != 1 or not os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull)):
            return
    _drop_stdout()
    raise typer.Exit(int(ExitCode.OK))


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that nothing more (not even Python's flush at exit) fails."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _command_name(argv: list[str]) -> str | None:
    """The command ``argv`` runs: its first word that is neither an option nor --project's value."""
    words = iter(argv)
    for word in words:
        if word == "--project":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_app(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app with the commands ``argv`` needs (all of them when it names none)."""
    import importlib

    app = typer.Typer(
        name="ddbstream",
        help="Provision, exercise and observe a DynamoDB Streams -> Lambda pipeline (local or on AWS).",
        cls=_Commands,
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
        project: Optional[str] = typer.Option(
            None,
            "--project",
            metavar="DIR",
            help="The project's directory (default: the nearest holding infra/variables.tf or .ddbstream/, "
            "from here up). Env: DDBSTREAM_PROJECT.",
        ),
    ) -> None:
        """Provision, exercise and observe a DynamoDB Streams -> Lambda pipeline (local or on AWS)."""
        if project:
            # Every command finds its project through project.find_project_dir, which reads this.
            os.environ["DDBSTREAM_PROJECT"] = os.path.abspath(project)

    command = _command_name(argv or [])
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
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()
    sys.exit(result if isinstance(result, int) else int(ExitCode.OK))
