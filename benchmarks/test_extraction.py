"""Feature-extraction speed: hbclf against the seed project's style (pytest-benchmark).

Run with ``python -m pytest benchmarks --benchmark-only``. Every benchmark
extracts 40 MFCCs per frame from all 585 labelled PASCAL recordings: the
original WAV files (44.1 kHz set A, 4 kHz set B, from ``../shared/data`` when
present) as the seed project read them, and the embedded 4 kHz FLAC copy that
hbclf reads by default; both contenders are timed on both. The ratios to the
seed style on the original files are printed at the end of the run.
"""

import shutil
import tempfile
from pathlib import Path

import librosa
import pytest
from sklearn.pipeline import Pipeline

from hbclf.datasets import load_pascal
from hbclf.features import MFCC

MEANS = {}  # benchmark name -> mean seconds, read by conftest's summary


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module", params=["original", "embedded"])
def source(request):
    if request.param == "original":
        if not (SHARED / "pascal").is_dir():
            pytest.skip(f"no full copy at {SHARED}")
        return request.param, load_pascal("all", data_home=SHARED).filenames
    return request.param, load_pascal("all").filenames


@pytest.fixture(scope="module")
def files():
    return load_pascal("all").filenames


def record(benchmark, name):
    MEANS[name] = benchmark.stats.stats.mean


def seed_style(files):
    """The seed project: librosa.load at 22,050 Hz, then librosa's MFCC, file by file."""
    out = []
    for f in files:
        y, sr = librosa.load(f, sr=22050)
        out.append(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40))
    return out


def cached_extraction(cache_dir):
    return Pipeline([("mfcc", MFCC(n_mfcc=40)), ("out", "passthrough")], memory=cache_dir)


def test_seed_style(benchmark, source):
    name, files = source
    out = benchmark.pedantic(seed_style, args=(files,), rounds=1, iterations=1, warmup_rounds=0)
    assert len(out) == len(files)
    record(benchmark, f"seed_style[{name}]")


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_hbclf_no_cache(benchmark, source, n_jobs):
    name, files = source
    est = MFCC(n_mfcc=40, n_jobs=n_jobs)
    out = benchmark.pedantic(est.fit_transform, args=(files,), rounds=3, warmup_rounds=1)
    assert len(out) == len(files)
    record(benchmark, f"hbclf_no_cache[{name}, n_jobs={n_jobs}]")


def test_hbclf_cold_cache(benchmark, files):
    def setup():
        return (cached_extraction(tempfile.mkdtemp(prefix="hbclf-bench-")),), {}

    def run(pipe):
        out = pipe.fit_transform(files)
        shutil.rmtree(pipe.memory, ignore_errors=True)
        return out

    out = benchmark.pedantic(run, setup=setup, rounds=3, warmup_rounds=1)
    assert len(out) == len(files)
    record(benchmark, "hbclf_cold_cache")


def test_hbclf_warm_cache(benchmark, files, tmp_path):
    cached_extraction(str(tmp_path)).fit_transform(files)  # fill the cache
    out = benchmark.pedantic(
        lambda: cached_extraction(str(tmp_path)).fit_transform(files), rounds=5, warmup_rounds=1
    )
    assert len(out) == len(files)
    record(benchmark, "hbclf_warm_cache")
