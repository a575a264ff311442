import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import FeatureUnion, make_pipeline

from benchmarks import run
from hbclf.datasets import load_pascal_timing
from hbclf.display import plot_heartbeats
from hbclf.features import MFCC, TimeSummary
from hbclf.features import RhythmFeatures
from hbclf.heartbeat import detect, score_detection, synthetic_pcg
from hbclf.io import load_audio


@pytest.mark.parametrize("rate", [50, 60, 72, 90, 110])
def test_synthetic_beats_are_found_where_they_are(rate):
    y, truth = synthetic_pcg(heart_rate=rate, seconds=10, sr=4000, seed=rate)
    beats = detect(y, 4000)
    assert beats.detected and beats.reason is None
    assert beats.heart_rate == pytest.approx(rate, abs=1.5)
    span = (truth["s1"][0] - 0.06, truth["s2"][-1] + 0.06)
    for sound in ("s1", "s2"):
        r = score_detection(getattr(beats, sound), truth[sound], tol=0.06, span=span)
        assert r["recall"] == 1.0 and r["precision"] >= 0.9, (sound, r)
        assert r["mae_ms"] < 30
    np.testing.assert_allclose(np.median(beats.intervals), 60 / rate, atol=0.03)
    assert np.median(beats.systole) == pytest.approx(0.35 * 60 / rate, abs=0.04)


def test_any_rate_of_the_input():
    y, truth = synthetic_pcg(heart_rate=75, seconds=8, sr=44100, seed=1)
    beats = detect(y, 44100)
    assert beats.heart_rate == pytest.approx(75, abs=1.5)
    assert score_detection(beats.s1, truth["s1"], tol=0.06)["recall"] == 1.0


@pytest.mark.parametrize("case, expected", [
    ("silent", "silent"),
    ("short", "too short"),
    ("clipped", "clipped"),
    ("white noise", "no heart rhythm"),
    ("nan", "non-finite"),
])
def test_bad_input_gives_no_beats_and_a_reason(case, expected):
    rng = np.random.default_rng(0)
    y = {
        "silent": np.zeros(8 * 4000),
        "short": synthetic_pcg(heart_rate=60, seconds=0.7, seed=0)[0],
        "clipped": np.sign(np.sin(np.linspace(0, 400, 8 * 4000))),
        "white noise": rng.standard_normal(8 * 4000),
        "nan": np.r_[synthetic_pcg(seed=0)[0], np.nan],
    }[case]
    beats = detect(y, 4000)
    assert not beats.detected and expected in beats.reason
    assert beats.heart_rate is None and len(beats.s1) == 0
    assert beats.as_dict()["heart_rate"] is None


def test_scorer_is_exact_on_known_cases():
    true = np.array([1.0, 2.0, 3.0, 4.0])
    assert score_detection(true, true)["f1"] == 1.0
    shifted = score_detection(true + 0.05, true, tol=0.1)
    assert shifted["f1"] == 1.0 and shifted["mae_ms"] == pytest.approx(50)
    assert score_detection(true + 0.05, true, tol=0.04)["f1"] == 0.0
    extra = score_detection(np.r_[true, 2.5, 3.5], true)
    assert extra["precision"] == pytest.approx(4 / 6) and extra["recall"] == 1.0
    assert score_detection(np.r_[true, 9.0], true, span=(0.9, 4.1))["precision"] == 1.0
    # one detection cannot match two annotations
    assert score_detection([1.0], [0.98, 1.02], tol=0.1)["tp"] == 1
    assert score_detection([], true)["f1"] == 0.0


def test_annotated_recordings():
    """Real set A recordings: heart rate and S1 placement on most of them."""
    timing = load_pascal_timing()
    hr_errors, good = [], 0
    for f, g in timing.groupby("filename"):
        y, sr = load_audio(f)
        beats = detect(y, sr)
        s1 = g.loc[g["sound"] == "S1", "time"].to_numpy()
        if beats.detected:
            hr_errors.append(abs(beats.heart_rate - 60 / np.median(np.diff(s1))))
            span = (g["time"].min() - 0.1, g["time"].max() + 0.1)
            good += score_detection(beats.s1, s1, tol=0.1, span=span)["f1"] >= 0.9
    assert len(hr_errors) >= 17
    assert np.median(hr_errors) < 3
    assert good >= 14  # of 21


def test_rhythm_features_see_premature_beats():
    regular, _ = synthetic_pcg(heart_rate=70, seconds=12, seed=2)
    early, _ = synthetic_pcg(heart_rate=70, seconds=12, seed=2, premature=(3, 7, 11))
    rf = RhythmFeatures().fit([regular])
    noise = np.random.default_rng(0).standard_normal(8 * 4000)
    table = pd.DataFrame(rf.transform([regular, early, noise]),
                         columns=rf.get_feature_names_out())
    assert table.loc[0, "heart_rate"] == pytest.approx(70, abs=2)
    assert table.loc[0, "premature_fraction"] == 0
    assert table.loc[1, "premature_fraction"] > 0.1
    assert table.loc[1, "rr_std"] > table.loc[0, "rr_std"]
    assert table.loc[0, "detected"] == 1 and table.loc[2, "detected"] == 0
    assert np.isnan(table.loc[2, "heart_rate"])


def test_rhythm_features_compose_with_time_summary():
    from hbclf.datasets import load_pascal

    files = load_pascal("b").filenames[:3]
    union = FeatureUnion([
        ("spectral", make_pipeline(MFCC(n_mfcc=4), TimeSummary(stats=("mean",)))),
        ("rhythm", RhythmFeatures()),
    ])
    out = union.fit_transform(files)
    names = list(union.get_feature_names_out())
    assert out.shape == (3, 4 + 12) and "rhythm__heart_rate" in names
    assert "spectral__mfcc0_mean" in names


def test_plot_is_written(tmp_path):
    y, truth = synthetic_pcg(seed=0)
    plot_heartbeats(y, 4000, detect(y, 4000), annotations=truth, path=tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_segmentation_task_writes_its_tables(tmp_path):
    assert run.main(["--task", "segmentation", "--out", str(tmp_path), "--quiet"]) == 0
    per = pd.read_csv(tmp_path / "segmentation" / "per_recording.csv")
    assert len(per) == 21 and per["annotated_sounds"].sum() == 390
    summary = pd.read_csv(tmp_path / "segmentation" / "summary.csv")
    assert set(summary["tolerance"]) == {"100ms", "60ms"}
    assert ((summary["f1"] > 0) & (summary["f1"] <= 1)).all()
    assert len(list((tmp_path / "segmentation" / "plots").glob("*.png"))) == 21
