"""What the runtime reads from moto's in-process backends: a function's config and code, and the
logs backend its output goes to.

moto's models are imported on first use, not with this module: the daemon answers before they
load (server.warm_up loads them in the background).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any

from ddbstream.emulator.runtime.languages import language_for
from ddbstream.emulator.runtime.logs import LogsBackend
from ddbstream.emulator.runtime.model import FunctionConfig, FunctionNotFound, InvokeError

_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[\w-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,140})(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)


def logs_backend(config: FunctionConfig) -> Callable[[], LogsBackend]:
    """moto's logs backend of the function's account and region, looked up at each call."""
    from moto.logs.models import logs_backends

    return lambda: logs_backends[config.account][config.region]


def resolve_function(function: str, qualifier: str | None, region: str, account: str) -> tuple[FunctionConfig, bytes]:
    """The function's config and code zip, read from moto's Lambda backend now.

    ``function`` is a name, a partial ARN or an ARN (with an optional qualifier); ``region`` and
    ``account`` apply when it names neither. Raises InvokeError as Lambda's Invoke would. The
    config made from a function is kept while what it is made of stays the same (issue 20).
    """
    from moto.awslambda.models import lambda_backends
    from moto.core.exceptions import JsonRESTError

    region, account, name, qualifier = _parse_reference(function, qualifier, region, account)
    try:
        fn = lambda_backends[account][region].get_function(name, qualifier)
    except JsonRESTError:
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        raise FunctionNotFound(f"Function not found: {arn}" + (f":{qualifier}" if qualifier else "")) from None
    key = (account, region, name, qualifier)
    made_of = _made_of(fn)
    kept = _configs.get(key)
    if kept is not None and kept[0] == made_of:
        return kept[1], fn.code_bytes
    config = _config(fn, name, region, account)
    with _configs_lock:
        if len(_configs) >= _MAX_CONFIGS:
            _configs.clear()
        _configs[key] = (made_of, config)
    return config, fn.code_bytes


# (account, region, name, qualifier) -> (what the config was made of, the config)
_configs: dict[tuple[str, str, str, str | None], tuple[tuple, FunctionConfig]] = {}
_configs_lock = threading.Lock()
_MAX_CONFIGS = 4096


def _made_of(fn: Any) -> tuple:
    """What a function's config is made of (its environment copied: moto may change it in place)."""
    return (
        fn,
        fn.code_bytes,
        getattr(fn, "code_digest", None),
        getattr(fn, "package_type", "Zip"),
        str(fn.version),
        fn.run_time,
        fn.handler,
        fn.memory_size,
        fn.timeout,
        dict(fn.environment_vars or {}),
        fn.reserved_concurrency,
    )


@functools.lru_cache(maxsize=1024)
def _parse_reference(
    function: str, qualifier: str | None, region: str, account: str
) -> tuple[str, str, str, str | None]:
    """(region, account, name, qualifier) a function reference names; ValidationException if none."""
    match = _FUNCTION_REF.match(function or "")
    if not match:
        raise InvokeError(
            f"1 validation error detected: Value '{function}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern",
            "ValidationException",
            400,
        )
    return (
        match.group("region") or region,
        match.group("account") or account,
        match.group("name"),
        match.group("qualifier") or qualifier,
    )


def _config(fn: Any, name: str, region: str, account: str) -> FunctionConfig:
    """The config of moto's function ``fn``; InvokeError when the local daemon cannot run it."""
    if getattr(fn, "package_type", "Zip") != "Zip" or not getattr(fn, "code_bytes", b""):
        raise InvokeError(
            f"{name}: no zip package the local daemon can run (image and missing S3 code are not supported)",
            "InvalidParameterValueException",
            400,
        )
    language_for(name, fn.run_time)  # refuses a runtime no language runs
    return FunctionConfig(
        name=name,
        arn=f"arn:aws:lambda:{region}:{account}:function:{name}",
        version=str(fn.version),
        runtime=fn.run_time,
        handler=fn.handler,
        memory_mb=int(fn.memory_size or 128),
        timeout=float(fn.timeout or 3),
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_digest=getattr(fn, "code_digest", None) or hashlib.sha256(fn.code_bytes).hexdigest(),
        region=region,
        account=account,
        reserved_concurrency=None if fn.reserved_concurrency is None else int(fn.reserved_concurrency),
    )
