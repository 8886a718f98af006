"""The demo's local stack: started (or reused) from the spec, failure injection, stopped with --down."""

from __future__ import annotations

import time
from typing import Any

from ddbstream.demo.view import DemoView, TargetView
from ddbstream.errors import DdbstreamError, InvalidInput, SpecError
from ddbstream.pipeline import Pipeline, saved_pipeline
from ddbstream.project import find_infra_dir
from ddbstream.spec import load_spec
from ddbstream.state import state_dir
from ddbstream.targets import make_target

DEMO_FAIL_ATTRIBUTE = "poison"


def runtime_overrides(runtime: str | None) -> list[str]:
    """The variables that deploy the consumer of ``runtime``: lambda/nodejs (index.handler) for Node.js."""
    if not runtime:
        return []
    if runtime.startswith("nodejs"):
        return [f"lambda_runtime={runtime}", "lambda_source_dir=../lambda/nodejs", "lambda_handler=index.handler"]
    return [f"lambda_runtime={runtime}"]


def ensure_stack(view: DemoView, throwaway: bool = False, runtime: str | None = None) -> Pipeline:
    """The running local stack, started (or completed) from the spec when needed.

    A ``throwaway`` stack (demo --down) is started with failure injection on, which saves
    switching it on and off again. With ``runtime``, the stack is always brought up (a running
    one reconciled) with that runtime's consumer.
    """
    overrides = runtime_overrides(runtime)
    spec = load_spec(overrides=overrides)
    directory = state_dir(spec.project_dir)
    saved = saved_pipeline(directory)
    if saved is not None and not saved.is_local:
        raise InvalidInput(
            "the demo runs on the local target, but this project's stack is on AWS: "
            "run it in another directory, or 'ddbstream destroy --target aws' first"
        )
    if not overrides and saved is not None and saved.is_running() and not _missing(saved):
        view.note(f"reusing the local stack running on {saved.endpoint}")
        return saved
    started = time.monotonic()
    if throwaway and not spec.get("fail_attribute"):
        spec = load_spec(overrides=[*overrides, f"fail_attribute={DEMO_FAIL_ATTRIBUTE}"])
        view.note(
            f"starting with fail_attribute={DEMO_FAIL_ATTRIBUTE}: records with a true "
            f"'{DEMO_FAIL_ATTRIBUTE}' attribute fail (the stack stops at the end)"
        )
    pipeline, notes = make_target("local", directory, TargetView(view)).up(spec)
    for line in notes:
        view.note(f"drift: {line}")
    missing = _missing(pipeline)
    if missing:
        raise DdbstreamError(f"the local stack was provisioned without {', '.join(missing)}: the demo needs them")
    view.note(f"local stack up on {pipeline.endpoint} in {time.monotonic() - started:.1f} s")
    return pipeline


def _missing(pipeline: Pipeline) -> list[str]:
    """What the demo needs that the pipeline lacks, named as state.json names them."""
    table = pipeline.table
    present = {
        "table_name": table is not None,
        "stream_arn": table is not None and bool(table.stream_arn),
        "function_name": pipeline.function is not None,
        "mapping_uuid": pipeline.mapping is not None,
    }
    return [name for name, found in present.items() if not found]


def stop_stack(view: DemoView) -> None:
    """Stop this project's local stack (demo --down)."""
    try:
        directory = state_dir(find_infra_dir().parent)
    except SpecError:
        return  # not in a project: nothing was started
    if make_target("local", directory, TargetView(view)).down():
        view.note("local stack stopped (--down)")


class FailureInjection:
    """FAIL_ATTRIBUTE on the function for the demo's duration; the previous environment comes back after."""

    def __init__(self, lambda_client: Any, function_name: str):
        self.client = lambda_client
        self.function = function_name
        self.previous: dict[str, str] | None = None
        self.attribute = DEMO_FAIL_ATTRIBUTE

    def __enter__(self) -> FailureInjection:
        config = self.client.get_function_configuration(FunctionName=self.function)
        variables = dict((config.get("Environment") or {}).get("Variables") or {})
        if variables.get("FAIL_ATTRIBUTE"):
            self.attribute = variables["FAIL_ATTRIBUTE"]  # the pipeline's own setting: leave it
            return self
        self.previous = variables
        self._set({**variables, "FAIL_ATTRIBUTE": DEMO_FAIL_ATTRIBUTE})
        return self

    @property
    def switched_on(self) -> bool:
        return self.previous is not None

    def _set(self, variables: dict[str, str]) -> None:
        self.client.update_function_configuration(FunctionName=self.function, Environment={"Variables": variables})

    def __exit__(self, *exc_info: Any) -> None:
        if self.previous is not None:
            self._set(self.previous)
