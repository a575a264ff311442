"""Segmentation speed: milliseconds per minute of audio, one process (pytest-benchmark).

Run with ``python -m pytest benchmarks/test_segmentation.py --benchmark-only``.
``detect`` runs over every 20th PhysioNet 2016 recording (2 kHz; from
``../shared/data/physionet2016`` when present, else the embedded set B copy
at 4 kHz) and over one synthetic hour at 4 kHz; the decoded audio is in
memory before timing starts, so only segmentation is measured. The rate
(ms per minute of audio) is printed at the end of the run and kept in the
benchmark's ``extra_info``.
"""

from pathlib import Path

import numpy as np
import pytest

from hbclf.heartbeat import detect, synthetic_pcg
from hbclf.io import load_audio

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "physionet2016"
RATES = {}  # benchmark name -> ms per minute of audio, read by conftest's summary


@pytest.fixture(scope="module")
def recordings():
    if SHARED.is_dir():
        from hbclf.datasets import load_physionet2016

        files = load_physionet2016(SHARED).filenames[::20]
    else:
        from hbclf.datasets import load_pascal

        files = load_pascal("b").filenames[::5]
    return [load_audio(f, sr=None) for f in files]


def _rate(benchmark, name, minutes):
    RATES[name] = 1000 * benchmark.stats.stats.mean / minutes
    benchmark.extra_info["ms_per_minute_of_audio"] = round(RATES[name], 1)


@pytest.fixture(scope="module")
def segmenter():
    """The shipped segmenter, passed to detect explicitly: detect then segments every time (with
    the default it hands back the last few recordings' results, as hbclf predict asks twice)."""
    from hbclf.heartbeat import default_segmenter

    return default_segmenter()


def test_detect_recordings(benchmark, recordings, segmenter):
    detect(*recordings[0], segmenter=segmenter)  # the Viterbi's compile (or load from numba's
    # cache) is not timed
    benchmark.pedantic(lambda: [detect(y, sr, segmenter=segmenter) for y, sr in recordings],
                       rounds=3, iterations=1)
    minutes = sum(len(y) / sr for y, sr in recordings) / 60
    _rate(benchmark, f"detect, {len(recordings)} recordings ({minutes:.0f} min)", minutes)


def test_detect_one_hour(benchmark, segmenter):
    y = np.concatenate([synthetic_pcg(heart_rate=72, seconds=60, sr=4000, seed=i)[0]
                        for i in range(60)])
    detect(y[:40000], 4000, segmenter=segmenter)
    beats = benchmark.pedantic(lambda: detect(y, 4000, segmenter=segmenter), rounds=2,
                               iterations=1)
    assert len(beats.s1) > 4000
    _rate(benchmark, "detect, one synthetic hour at 4 kHz", 60.0)
