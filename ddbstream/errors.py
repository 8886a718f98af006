"""Exceptions raised by the library core, and the exit code each one maps to."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses, defined once for every command."""

    OK = 0
    ERROR = 1  # unexpected failure
    USAGE = 2  # bad command line (Typer/Click use 2 as well)
    INVALID_INPUT = 3  # malformed JSON, key, expression, duration, ...
    SPEC = 4  # a pipeline variable or variable file is wrong
    NOT_FOUND = 5  # item, table, message or function missing
    CONDITION_FAILED = 6  # a conditional write was refused
    NO_STACK = 7  # no local daemon / no provisioned pipeline
    AWS = 8  # an AWS API call failed for another reason
    TERRAFORM = 9  # terraform missing or one of its steps failed
    CREDENTIALS = 10  # no usable AWS credentials
    UNHEALTHY = 11  # status --check found a problem
    DAEMON = 12  # the local daemon failed to start or stop
    CANCELLED = 13  # the user declined a confirmation
    RUNTIME_UNAVAILABLE = 14  # the function's runtime cannot run here (no node, no npm)
    INTERRUPTED = 130  # Ctrl-C


class DdbstreamError(Exception):
    """Base of every error the CLI turns into one line on stderr."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class InvalidInput(DdbstreamError):
    exit_code = ExitCode.INVALID_INPUT


class SpecError(DdbstreamError):
    exit_code = ExitCode.SPEC


class NotFound(DdbstreamError):
    exit_code = ExitCode.NOT_FOUND


class ConditionFailed(DdbstreamError):
    exit_code = ExitCode.CONDITION_FAILED


class NoStack(DdbstreamError):
    exit_code = ExitCode.NO_STACK

    def __init__(self, message: str = "no local stack is running: run 'ddbstream up'"):
        super().__init__(message)


class AwsError(DdbstreamError):
    exit_code = ExitCode.AWS


class TerraformError(DdbstreamError):
    exit_code = ExitCode.TERRAFORM


class CredentialsError(DdbstreamError):
    exit_code = ExitCode.CREDENTIALS


# How a command after `up` picks its AWS credentials (the profile `up` used is remembered).
CREDENTIALS_HINT = "set AWS_PROFILE or pass --profile to 'up'"


class Unhealthy(DdbstreamError):
    exit_code = ExitCode.UNHEALTHY


class RuntimeUnavailable(DdbstreamError):
    """The local target cannot run or package the function's runtime (e.g. Node.js is not installed)."""

    exit_code = ExitCode.RUNTIME_UNAVAILABLE


class DaemonError(DdbstreamError):
    exit_code = ExitCode.DAEMON


class Cancelled(DdbstreamError):
    exit_code = ExitCode.CANCELLED
