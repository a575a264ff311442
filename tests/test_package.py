"""hbclf as a guest: no import-time side effects, and an installed wheel that works anywhere."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(code, cwd=None, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, env=env)


def test_importing_hbclf_changes_no_environment_variable():
    # TensorFlow sets variables of its own on import: import it first
    code = ("import os, tensorflow, keras, scikeras.wrappers; before = dict(os.environ); "
            "import hbclf, hbclf.features, hbclf.heartbeat, hbclf.pipelines, hbclf.tasks, "
            "hbclf.model_files, hbclf.display, hbclf.cli, hbclf.neural; "
            "print(sorted(set(os.environ.items()) ^ set(before.items())))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    r = run(code, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_a_plot_leaves_the_matplotlib_backend_alone(tmp_path):
    code = ("import matplotlib; matplotlib.use('svg'); "
            "from hbclf.heartbeat import detect, synthetic_pcg; "
            "from hbclf.display import plot_heartbeats; "
            "y, _ = synthetic_pcg(seed=0); "
            f"fig = plot_heartbeats(y, 4000, detect(y, 4000), path={str(tmp_path / 'p.png')!r}); "
            "print(matplotlib.get_backend(), len(fig.axes))")
    r = run(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["svg", "2"]
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def installed_wheel(wheel_site):
    return wheel_site


def test_detection_needs_neither_scikit_learn_nor_pandas():
    """What keeps ``hbclf segment`` small: an hour of audio peaks under 300 MB."""
    code = ("import sys; from hbclf.heartbeat import detect, synthetic_pcg; "
            "y, _ = synthetic_pcg(seed=0); b = detect(y, 4000); "
            "print(round(b.heart_rate), "
            "sorted(m for m in ('sklearn', 'pandas') if m in sys.modules))")
    r = run(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["72", "[]"]


def test_the_wheel_carries_the_data_and_no_benchmarks(installed_wheel):
    _, names = installed_wheel
    assert not any(n.startswith("benchmarks/") for n in names)
    assert "hbclf/datasets/_embedded/pascal/manifest.csv" in names
    assert "hbclf/pretrained/default/card.json" in names
    assert "hbclf/pretrained/segmenter.json" in names


def test_the_wheel_works_from_any_directory(installed_wheel, tmp_path):
    site, _ = installed_wheel
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("HBCLF_DATA", None)
    code = ("import importlib.util, hbclf; from pathlib import Path; "
            f"assert Path(hbclf.__file__).is_relative_to({str(site)!r}), hbclf.__file__; "
            "from hbclf.datasets import load_pascal; from hbclf import pipelines; "
            "d = load_pascal(); "
            "m = pipelines.make('logreg').fit(d.filenames[::10], d.label[::10]); "
            "print(len(d.filenames), m.predict(d.filenames[:2]).shape, "
            "importlib.util.find_spec('benchmarks'))")
    r = run(code, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["585", "(2,)", "None"]
    example = site / "hbclf" / "datasets" / "_embedded" / "examples"
    for args in (["info"], ["predict", str(example), "--format", "csv"], ["--version"]):
        r = subprocess.run([sys.executable, "-m", "hbclf", *args], capture_output=True,
                           text=True, cwd=tmp_path, env=env)
        assert r.returncode == 0, (args, r.stderr)
    assert len(r.stdout.strip().splitlines()) == 1 and "hbclf" in r.stdout
