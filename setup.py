"""The build step pyproject.toml cannot declare: the wheel ships the repository's infra/ and lambda/.

They are copied into ``ddbstream/_project/`` of the wheel (``ddbstream init`` writes projects from
them), so the repository keeps one copy. Which files go is ddbstream/project_files.py's rule.
"""

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _project_files():
    spec = importlib.util.spec_from_file_location("_ddbstream_project_files", ROOT / "ddbstream" / "project_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithProjectFiles(build_py):
    """build_py, plus infra/ and lambda/ under ddbstream/_project/ (an editable install reads the checkout)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        rules = _project_files()
        target = Path(self.build_lib) / "ddbstream" / rules.SHIPPED_PACKAGE_DIR
        shutil.rmtree(target, ignore_errors=True)
        for relative in rules.shipped_files(ROOT):
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, destination)


setup(cmdclass={"build_py": BuildWithProjectFiles})
