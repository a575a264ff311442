"""Build step that pyproject.toml cannot express: ship the embedded data in the wheel.

The repository keeps the compact PASCAL copy in ``data/`` (beside ``hbclf/``);
a wheel carries a copy as ``hbclf/datasets/_embedded/`` so that
``load_pascal()`` works from any directory after ``pip install .``. Editable
installs read ``data/`` directly.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithData(build_py):
    def run(self):
        super().run()
        src = Path(__file__).resolve().parent / "data"
        dst = Path(self.build_lib) / "hbclf" / "datasets" / "_embedded"
        if src.is_dir() and not self.editable_mode:
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)


setup(cmdclass={"build_py": BuildWithData})
