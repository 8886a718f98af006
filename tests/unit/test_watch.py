"""`up --watch`'s core without a daemon: which saves count, syntax checks, one reload's line."""

from __future__ import annotations

import pytest

from ddbstream.errors import SpecError
from ddbstream.watch import DevLoop, Reload, Watched
from ddbstream.watch.syntax import SyntaxChecker
from ddbstream.watch.watched import CODE, SETTINGS


@pytest.fixture
def layout(tmp_path) -> Watched:
    for directory in ("lambda/consumer", "infra/modules", "infra/.terraform", ".ddbstream", "vars"):
        (tmp_path / directory).mkdir(parents=True)
    return Watched(
        project_dir=tmp_path.resolve(),
        code_dirs=((tmp_path / "lambda").resolve(),),
        infra_dir=(tmp_path / "infra").resolve(),
        var_files=((tmp_path / "vars" / "dev.tfvars").resolve(),),
        ignored=((tmp_path / ".ddbstream").resolve(),),
    )


def test_code_and_settings_are_told_apart_and_the_rest_is_ignored(layout):
    root = layout.project_dir
    assert layout.kind(root / "lambda" / "handler.py") == CODE
    assert layout.kind(root / "lambda" / "consumer" / "batch.py") == CODE
    assert layout.kind(root / "infra" / "terraform.tfvars") == SETTINGS
    assert layout.kind(root / "infra" / "examples" / "a.tfvars.json") == SETTINGS
    assert layout.kind(root / "infra" / "modules" / "main.tf") == SETTINGS
    assert layout.kind(root / "vars" / "dev.tfvars") == SETTINGS
    for ignored in (
        "infra/README.md",
        "infra/.terraform/providers.tf",
        "lambda/__pycache__/handler.cpython-311.pyc",
        "lambda/node_modules/x/index.js",
        ".ddbstream/store.sqlite3",
        "vars/other.tfvars",
        "README.md",
    ):
        assert layout.kind(root / ignored) is None, ignored


def test_roots_are_the_code_infra_and_outside_var_files(layout):
    (layout.project_dir / "vars" / "dev.tfvars").write_text("batch_size = 5\n")
    assert layout.roots() == [layout.code_dirs[0], layout.infra_dir, layout.var_files[0]]
    many = [layout.project_dir / "lambda" / f"m{n}.py" for n in range(5)]
    assert layout.described(many) == "lambda/m0.py, lambda/m1.py, lambda/m2.py and 2 more"


def test_python_syntax_errors_are_one_line_with_line_and_column(tmp_path):
    bad = tmp_path / "handler.py"
    bad.write_text("def handler(event, context):\n    return (\n")
    assert SyntaxChecker().error(bad) == "2:12: SyntaxError: '(' was never closed"
    bad.write_text("def handler(event, context):\n    return 1\n")
    assert SyntaxChecker().error(bad) is None
    assert SyntaxChecker().error(tmp_path / "gone.py") is None
    (tmp_path / "notes.txt").write_text("def (:")
    assert SyntaxChecker().error(tmp_path / "notes.txt") is None


def test_node_syntax_errors_come_from_node_check(tmp_path, node_installed):
    bad = tmp_path / "index.js"
    bad.write_text("exports.handler = async (event) => {\n  return foo(;\n};\n")
    assert SyntaxChecker().error(bad) == "2: SyntaxError: Unexpected token ';'"
    bad.write_text("exports.handler = async (event) => ({ ok: true });\n")
    assert SyntaxChecker().error(bad) is None


class FakeTarget:
    """A target whose up() says one change, or raises what it is told to."""

    def __init__(self):
        self.ui = None
        self.applied = 0
        self.fails: Exception | None = None

    def up(self, spec):
        if self.fails:
            raise self.fails
        self.applied += 1
        self.ui.note("updated function f: new code")
        return None, []


def test_a_broken_file_blocks_the_deploy_until_it_is_fixed(layout):
    target = FakeTarget()
    loop = DevLoop(target, lambda: None, layout)
    handler = layout.project_dir / "lambda" / "handler.py"
    handler.write_text("def handler(:\n")
    broken = loop.reload([handler])
    assert target.applied == 0
    assert broken.line() == (
        "not reloaded: lambda/handler.py:1:13: SyntaxError: invalid syntax; the code deployed before keeps running"
    )
    other = layout.project_dir / "lambda" / "other.py"
    other.write_text("X = 1\n")
    assert loop.reload([other]).error is not None and target.applied == 0, "still broken: nothing deployed"
    handler.write_text("def handler(event, context):\n    return 1\n")
    fixed = loop.reload([handler])
    assert target.applied == 1 and fixed.error is None
    assert fixed.line().startswith("reloaded in ") and fixed.line().endswith(
        "(lambda/handler.py): updated function f: new code"
    )
    assert loop.reload([layout.project_dir / "README.md"]) is None, "a file that deploys nothing: no line"


def test_a_bad_setting_is_one_line_and_the_watch_goes_on(layout):
    target = FakeTarget()
    target.fails = SpecError("invalid value for variable 'batch_size': must be 1..10000")
    loop = DevLoop(target, lambda: None, layout)
    line = loop.reload([layout.infra_dir / "terraform.tfvars"]).line()
    assert line == "not reloaded (infra/terraform.tfvars): invalid value for variable 'batch_size': must be 1..10000"
    target.fails = None
    assert loop.reload([layout.infra_dir / "terraform.tfvars"]).applied == ["updated function f: new code"]


def test_a_save_that_changes_nothing_says_so():
    assert Reload("infra/variables.tf", 0.123).line() == "infra/variables.tf: no changes to deploy (0.12 s)"


def test_the_watch_says_ready_only_with_its_watcher_in_place_and_reloads_a_save_made_before(layout):
    # A save right after "watching ..." was lost when the line came before the watcher existed; a
    # save made while `up` ran (after the baseline) was never deployed.
    import threading

    target = FakeTarget()
    loop = DevLoop(target, lambda: None, layout)
    handler = layout.project_dir / "lambda" / "handler.py"
    handler.write_text("def handler(event, context):\n    return 0\n")
    baseline = layout.snapshot()
    handler.write_text("def handler(event, context):\n    return 1\n")  # saved during `up`
    stop, ready, reloads = threading.Event(), threading.Event(), []

    def said(reload: Reload) -> None:
        reloads.append(reload)
        if len(reloads) == 2:
            stop.set()

    def on_ready() -> None:
        assert not reloads, "ready is said before any reload"
        ready.set()

    thread = threading.Thread(target=loop.run, args=(said, stop, on_ready, baseline), daemon=True)
    thread.start()
    assert ready.wait(10), "the watch never said it was ready"
    (layout.project_dir / "lambda" / "other.py").write_text("X = 2\n")  # right after the line: seen
    thread.join(20)
    assert not thread.is_alive(), f"the save after the ready line was not seen: {[r.line() for r in reloads]}"
    assert [r.files for r in reloads] == ["lambda/handler.py", "lambda/other.py"]
    assert target.applied == 2
