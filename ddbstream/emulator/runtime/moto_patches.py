"""The one patch of moto's Lambda models: UpdateFunctionCode and UpdateFunctionConfiguration move a
function's LastModified, as on AWS (moto leaves it at the creation time), and tell ``listeners``.

moto's Lambda models load on first use, so the patch is applied from a background thread once
they are imported (runtime.install starts it): `up` updates a function only in a later run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_installed = False
# Called (function ARN) after an update was applied: the runtime recycles the function's warm workers.
listeners: list[Callable[[str], None]] = []


def _touching(method: Callable) -> Callable:
    from moto.core.utils import iso_8601_datetime_with_nanoseconds

    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = self.last_modified
        if not (args and isinstance(args[0], dict) and args[0].get("DryRun")):
            self.last_modified = iso_8601_datetime_with_nanoseconds()  # set first: the answer carries it
        try:
            result = method(self, *args, **kwargs)
        except Exception:
            self.last_modified = before
            raise
        if not (args and isinstance(args[0], dict) and args[0].get("DryRun")):
            for listener in list(listeners):
                listener(self.function_arn)
        return result

    update.__name__ = method.__name__
    return update


def patch_lambda() -> None:
    """Apply the patch (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.awslambda.models import LambdaFunction

        LambdaFunction.update_function_code = _touching(LambdaFunction.update_function_code)  # type: ignore[method-assign]
        LambdaFunction.update_configuration = _touching(LambdaFunction.update_configuration)  # type: ignore[method-assign]
        _installed = True
