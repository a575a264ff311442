"""The README's Python examples run exactly as printed, and its links lead somewhere."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_readme_has_its_examples_and_stays_short():
    assert len(BLOCKS) >= 2
    assert len(README.splitlines()) <= 350


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs_as_printed(code, tmp_path):
    if "tasks.get(\"heart\").load()" in code:
        from hbclf.datasets import LayoutError, find_physionet2016

        try:
            find_physionet2016()
        except LayoutError as exc:
            pytest.skip(str(exc))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]


def test_readme_links_point_at_files():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
