import pickle

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from hbclf.datasets import load_pascal
from hbclf.features import (
    MFCC,
    AudioReader,
    FixedLength,
    LogMel,
    Sequences,
    SpectralFeatures,
    TimeSummary,
)
from hbclf.io import AudioError

@pytest.fixture(scope="module")
def set_a():
    return load_pascal("a")


def test_mfcc_equals_librosa(set_a):
    path = set_a.filenames[0]
    y, sr = librosa.load(path, sr=None)
    expected = librosa.feature.mfcc(
        y=y, sr=sr, n_mfcc=40, n_fft=256, hop_length=128, n_mels=40, fmin=25.0, fmax=2000
    )
    got = MFCC().fit_transform([path])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_logmel_equals_librosa(set_a):
    y, sr = librosa.load(set_a.filenames[1], sr=None)
    S = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=256, hop_length=128, n_mels=40, fmin=25.0, fmax=2000
    )
    np.testing.assert_allclose(
        LogMel().fit_transform([y])[0], librosa.power_to_db(S, top_db=80), rtol=1e-4, atol=1e-3
    )


def test_paths_and_waveforms_give_the_same_features(set_a):
    files = set_a.filenames[:4]
    waves = AudioReader().fit_transform(files)
    a = MFCC(deltas=2).fit_transform(files)
    b = MFCC(deltas=2).fit_transform(waves)
    assert a.feature_names == b.feature_names and len(a.feature_names) == 120
    for m, n in zip(a, b):
        np.testing.assert_array_equal(m, n)


def test_threads_give_the_same_features(set_a):
    files = set_a.filenames[:7]
    serial = SpectralFeatures().fit_transform(files)
    threaded = SpectralFeatures(n_jobs=2).fit_transform(files)
    for m, n in zip(serial, threaded):
        np.testing.assert_array_equal(m, n)


def test_spectral_features_rows(set_a):
    est = SpectralFeatures().fit(set_a.filenames[:1])
    out = est.transform(set_a.filenames[:1])[0]
    assert out.shape[0] == len(est.get_feature_names_out()) == 11
    centroid = out[list(est.get_feature_names_out()).index("centroid")]
    assert np.all((centroid >= 0) & (centroid <= 2000))


def test_time_summary_names_and_pandas_output(set_a):
    pipe = make_pipeline(MFCC(n_mfcc=13, deltas=1), TimeSummary(stats=("mean", "p90")))
    pipe.set_output(transform="pandas")
    df = pipe.fit_transform(set_a.filenames[:5])
    assert isinstance(df, pd.DataFrame) and df.shape == (5, 52)
    assert list(df.columns[:2]) == ["mfcc0_mean", "mfcc1_mean"]
    assert "mfcc12_d1_p90" in df.columns
    assert list(pipe.get_feature_names_out()) == list(df.columns)
    # the values are the statistics of the per-frame matrices
    mats = MFCC(n_mfcc=13, deltas=1).fit_transform(set_a.filenames[:1])
    assert df["mfcc3_mean"].iloc[0] == pytest.approx(mats[0][3].mean(), rel=1e-5)


def test_time_summary_statistics():
    X = Sequences([np.array([[1.0, 2.0, 4.0, 7.0]])], feature_names=["f"])
    ts = TimeSummary(stats=("mean", "std", "min", "max", "median", "p50", "delta_mean",
                            "delta_std", "skew", "kurtosis")).fit(X)
    got = dict(zip(ts.get_feature_names_out(), ts.transform(X)[0]))
    assert got["f_mean"] == 3.5 and got["f_min"] == 1 and got["f_max"] == 7
    assert got["f_median"] == got["f_p50"] == 3.0
    assert got["f_delta_mean"] == 2.0 and got["f_delta_std"] == pytest.approx(np.std([1, 2, 3]))
    assert got["f_std"] == pytest.approx(np.std([1, 2, 4, 7]))
    with pytest.raises(ValueError, match="unknown statistic"):
        TimeSummary(stats=("average",)).fit(X)


def test_fixed_length_is_the_seed_image(set_a):
    X = make_pipeline(MFCC(), FixedLength()).fit_transform(set_a.filenames[:3])
    assert X.shape == (3, 40, 130) and X.dtype == np.float32


def test_fixed_length_crops_and_pads():
    short = np.arange(3.0).reshape(1, 3)
    long_ = np.arange(10.0).reshape(1, 10)
    X = Sequences([short, long_])
    np.testing.assert_array_equal(FixedLength(5).fit_transform(X)[0, 0], [0, 1, 2, 0, 0])
    np.testing.assert_array_equal(FixedLength(5, pad="wrap").fit_transform(X)[0, 0],
                                  [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(FixedLength(5).fit_transform(X)[1, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(FixedLength(4, crop="center").fit_transform(X)[1, 0],
                                  [3, 4, 5, 6])


def test_feature_union_of_two_branches(set_a):
    union = FeatureUnion([
        ("mfcc", make_pipeline(MFCC(n_mfcc=13), TimeSummary(stats=("mean",)))),
        ("shape", make_pipeline(SpectralFeatures(features=("centroid", "rms")),
                                TimeSummary(stats=("mean", "std")))),
    ])
    out = union.fit_transform(set_a.filenames[:4])
    assert out.shape == (4, 13 + 4)
    assert "shape__centroid_std" in union.get_feature_names_out()


def test_clone_params_and_pickle(set_a):
    est = MFCC(n_mfcc=20, deltas=1, n_jobs=2)
    assert clone(est).get_params() == est.get_params()
    fitted = est.fit(set_a.filenames[:2])
    again = pickle.loads(pickle.dumps(fitted))
    a, b = fitted.transform(set_a.filenames[:2]), again.transform(set_a.filenames[:2])
    assert b.feature_names == a.feature_names
    np.testing.assert_array_equal(a[1], b[1])
    restored = pickle.loads(pickle.dumps(a))
    assert isinstance(restored, Sequences) and restored.feature_names == a.feature_names


def test_memory_cache_skips_librosa_on_the_second_pass(set_a, tmp_path, monkeypatch):
    files, y = set_a.filenames[::10], set_a.target[::10]

    def build():
        return make_pipeline(MFCC(), TimeSummary(), StandardScaler(), SVC(),
                             memory=str(tmp_path))

    first = build().fit(files, y).decision_function(files[:3])
    calls = []
    real_stft = librosa.stft
    monkeypatch.setattr(librosa, "stft", lambda *a, **k: calls.append(1) or real_stft(*a, **k))
    second = build().fit(files, y)
    assert calls == []  # features came from the cache
    np.testing.assert_allclose(second.decision_function(files[:3]), first)
    second.decision_function(files[:3])
    assert calls  # transform of new data does compute (and the spy works)


def test_audio_reader_band_pass_and_normalisation():
    sr = 4000
    t = np.arange(2 * sr) / sr
    low, high = np.sin(2 * np.pi * 60 * t), np.sin(2 * np.pi * 1500 * t)
    y = (0.1 * (low + high)).astype(np.float32)
    out = AudioReader(band=(25, 400), normalize="peak").fit_transform([y])[0]
    assert np.max(np.abs(out)) == pytest.approx(1.0)
    spectrum = np.abs(np.fft.rfft(out[sr // 2: -sr // 2]))
    freqs = np.fft.rfftfreq(sr, 1 / sr)
    level = {hz: spectrum[np.argmin(np.abs(freqs - hz))] for hz in (60, 1500)}
    assert level[1500] < 0.01 * level[60]
    rms = AudioReader(normalize="rms").fit_transform([y])[0]
    assert np.sqrt(np.mean(rms.astype(float) ** 2)) == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(ValueError, match="band upper edge"):
        AudioReader(band=(25, 3000)).fit([y])


def test_a_bad_recording_stops_the_transform_and_is_named(set_a, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    files = np.array(list(set_a.filenames[:3]) + [str(bad)], dtype=object)
    for est in (AudioReader(), MFCC(), SpectralFeatures(n_jobs=2)):
        with pytest.raises(AudioError, match="broken.wav: not a readable audio file"):
            est.fit(files).transform(files)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(8000), 4000)
    with pytest.raises(AudioError, match="silent.wav: is silent"):
        MFCC().fit_transform([str(silent)])
    with pytest.raises(AudioError, match="recording 1: contains NaN"):
        MFCC().fit_transform([np.ones(4000), np.full(4000, np.nan)])
    with pytest.raises(TypeError, match="single path"):
        MFCC().fit_transform(str(silent))


def test_issue_snippet_under_grouped_cross_validation(set_a):
    svm = make_pipeline(AudioReader(sr=4000), MFCC(n_mfcc=40, deltas=1), TimeSummary(),
                        StandardScaler(), SVC())
    cv = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(svm, set_a.filenames, set_a.target, groups=set_a.groups, cv=cv,
                             scoring="balanced_accuracy")
    assert scores.shape == (3,)
    assert scores.mean() > 0.4  # chance is 0.25 for four classes


def _with_systolic_murmur(y, truth, sr=4000, level=0.15, seed=0):
    """Band-limited noise (150-400 Hz) filling each systole: a holosystolic murmur."""
    from scipy.signal import butter, sosfiltfilt

    noise = np.random.default_rng(seed).standard_normal(len(y))
    noise = sosfiltfilt(butter(4, (150, 400), btype="bandpass", fs=sr, output="sos"), noise)
    gate = np.zeros(len(y))
    for a, b in zip(truth["s1"], truth["s2"]):
        gate[int((a + 0.06) * sr):int((b - 0.05) * sr)] = 1.0
    return (y + level * noise / noise.std() * gate).astype(np.float32)


def test_cycle_features_hear_a_systolic_murmur_whatever_the_gain():
    from hbclf.features import CYCLE_FEATURES, CycleFeatures
    from hbclf.heartbeat import synthetic_pcg

    y, truth = synthetic_pcg(heart_rate=70, seconds=10, seed=1, noise=0.01)
    murmur = _with_systolic_murmur(y, truth)
    cf = CycleFeatures().set_output(transform="pandas").fit([y])
    table = cf.transform([y, murmur, 10 * murmur])
    assert list(table.columns) == list(CYCLE_FEATURES) and len(CYCLE_FEATURES) == 52
    assert table.loc[0, "n_cycles"] >= 9 and table.loc[1, "n_cycles"] >= 9
    # sound in systole, relative to S1 and to diastole, rises in the murmur's band
    for name in ("sys_s1_200_400_median", "sys_dia_200_400_median", "sys_s1_all_median"):
        assert table.loc[1, name] > table.loc[0, name] + 1.0, name
    assert table.loc[1, "dia_s2_200_400_median"] < table.loc[1, "sys_s1_200_400_median"]
    # ratios: the recording's gain divides out
    np.testing.assert_allclose(table.loc[2].to_numpy(), table.loc[1].to_numpy(), atol=1e-6)
    assert table.loc[0, "systole_fraction_median"] == pytest.approx(0.35, abs=0.05)


def test_cycle_features_of_noise_are_missing_not_made_up():
    from hbclf.features import CycleFeatures

    noise = np.random.default_rng(0).standard_normal(8 * 4000)
    row = CycleFeatures().fit().transform([noise])[0]
    assert np.isnan(row[:-2]).all() and row[-2] == 0 and 0 <= row[-1] < 1
    # a 1 kHz reading: the top band is cut at the Nyquist rate (500 Hz), every column still set
    from hbclf.heartbeat import synthetic_pcg

    y, _ = synthetic_pcg(heart_rate=70, seconds=8, sr=1000, seed=0)
    assert np.isfinite(CycleFeatures(sr=1000).fit().transform([y])).all()


def test_one_cycle_gives_its_levels_and_no_spread():
    """A 2.2 s clip at 60 bpm holds one complete cycle: each contrast is measured on it (the
    same systole as in the longer recording), its spread across cycles is not."""
    from hbclf.features import CycleFeatures
    from hbclf.heartbeat import synthetic_pcg

    y, _ = synthetic_pcg(heart_rate=60, seconds=8, seed=1, noise=0.01)
    cf = CycleFeatures().set_output(transform="pandas").fit()
    table = cf.transform([y[: int(2.2 * 4000)], y])
    assert table.loc[0, "n_cycles"] == 1 and table.loc[1, "n_cycles"] >= 6
    medians = [c for c in table.columns if c.endswith("_median")]
    spreads = [c for c in table.columns if c.endswith("_iqr")]
    assert table.loc[0, medians].notna().all() and table.loc[0, spreads].isna().all()
    assert table.loc[1, spreads].notna().all()
    assert table.loc[0, "sys_s1_all_median"] == pytest.approx(table.loc[1, "sys_s1_all_median"],
                                                              abs=1.0)


@pytest.mark.parametrize("table", ["IntervalFeatures", "StateFeatures"])
def test_one_cycle_gives_the_published_features_their_means_and_no_deviation(table):
    """The same 2.2 s clip of one complete cycle: the sample entry's and Potes et al.'s means
    (and medians) are measured on it, near the longer recording's; their deviations across
    cycles are not."""
    import hbclf.features
    from hbclf.heartbeat import synthetic_pcg

    y, _ = synthetic_pcg(heart_rate=60, seconds=8, seed=1, noise=0.01)
    f = getattr(hbclf.features, table)().set_output(transform="pandas").fit()
    rows = f.transform([y[: int(2.2 * 4000)], y])
    deviations = [c for c in rows.columns if c.endswith("_std")]
    assert len(deviations) == {"IntervalFeatures": 10, "StateFeatures": 18}[table]
    assert rows.loc[0, deviations].isna().all() and rows.loc[1, deviations].notna().all()
    assert rows.loc[0].drop(deviations).notna().all()
    assert rows.loc[0, "rr_mean"] == pytest.approx(rows.loc[1, "rr_mean"], abs=0.05)
    assert rows.loc[0, "systole_mean"] == pytest.approx(rows.loc[1, "systole_mean"], abs=0.03)


@pytest.mark.parametrize("Extractor", [MFCC, LogMel])
def test_per_recording_normalisation_cancels_the_gain(set_a, Extractor):
    """Cepstral mean normalisation: a gain (a constant on every log-spectral frame) is gone;
    mean-and-variance normalisation leaves each row with mean 0 and deviation 1."""
    y, _ = librosa.load(set_a.filenames[0], sr=4000)
    plain = Extractor(normalize="mean").fit_transform([y, 8.0 * y])
    np.testing.assert_allclose(plain[0], plain[1], atol=1e-3)
    np.testing.assert_allclose(plain[0].mean(axis=1), 0.0, atol=1e-3)
    raw = Extractor().fit_transform([y, 8.0 * y])
    assert np.abs(raw[0] - raw[1]).max() > 1.0  # without it the gain shows
    mv = Extractor(normalize="meanvar", deltas=1).fit_transform([y])[0]
    rows = mv.shape[0] // 2  # deltas are taken after the normalisation
    np.testing.assert_allclose(mv[:rows].std(axis=1), 1.0, atol=1e-3)
    with pytest.raises(ValueError, match="normalize must be"):
        Extractor(normalize="cmvn").fit([y])


def test_cycle_band_power_is_the_same_in_chunks():
    """An hour is measured a minute at a time (memory); the numbers do not depend on it."""
    from hbclf.features._cycles import _band_power

    y = np.random.default_rng(0).standard_normal(4000 * 130)
    whole = _band_power(y, 4000, 6400, chunk=10**9)
    np.testing.assert_array_equal(_band_power(y, 4000, 6400, chunk=3000), whole)
    assert whole.shape == (6400, 6) and not np.isnan(whole).any()  # 4 kHz: every band


@pytest.mark.parametrize("table", ["RhythmFeatures", "CycleFeatures"])
def test_segmentation_confidence_is_an_optional_last_column(table):
    import hbclf.features
    from hbclf.heartbeat import detect, synthetic_pcg

    cls = getattr(hbclf.features, table)
    ys = [synthetic_pcg(heart_rate=hr, seconds=8, sr=4000, seed=hr)[0] for hr in (60, 120)]
    ys.append(np.random.default_rng(0).standard_normal(32000))  # nothing to detect
    plain, more = cls().fit(ys), cls(confidence=True).fit(ys)
    names = more.get_feature_names_out()
    assert list(names) == [*plain.get_feature_names_out(), "confidence"]
    with_conf = more.transform(ys)
    np.testing.assert_array_equal(with_conf[:, :-1], plain.transform(ys))
    assert with_conf[:, -1].tolist() == [detect(y, 4000).confidence for y in ys]
    assert with_conf[-1, -1] == 0.0 and with_conf.shape[1] == more.n_features_out_


def test_interval_features_measure_the_cycles_as_the_sample_entry_does():
    from hbclf.features import INTERVAL_FEATURES, IntervalFeatures
    from hbclf.heartbeat import synthetic_pcg

    y, truth = synthetic_pcg(heart_rate=75, seconds=12, sr=4000, systole=0.3, seed=2)
    f = IntervalFeatures().fit([y])
    assert tuple(f.get_feature_names_out()) == INTERVAL_FEATURES and len(INTERVAL_FEATURES) == 20
    row = dict(zip(INTERVAL_FEATURES, f.transform([y])[0]))
    assert row["rr_mean"] == pytest.approx(0.8, abs=0.02) and row["rr_std"] < 0.03
    # S1-to-S2 is 0.3 s: S1's own duration plus the systole state between the sounds
    assert row["s1_mean"] + row["systole_mean"] == pytest.approx(0.3, abs=0.03)
    total = row["systole_rr_mean"] + row["diastole_rr_mean"]
    assert total == pytest.approx(1 - (row["s1_mean"] + row["s2_mean"]) / 0.8, abs=0.03)
    # systole and diastole hold noise only: far quieter than S1 and S2
    assert 0 < row["amp_systole_s1_mean"] < 0.5 and 0 < row["amp_diastole_s2_mean"] < 0.5
    # a murmur in systole raises its amplitude relative to S1
    t = np.arange(len(y)) / 4000
    murmur = y + 0.25 * np.sin(2 * np.pi * 150 * t) * np.any(
        [(t > a + 0.07) & (t < a + 0.25) for a in truth["s1"]], axis=0)
    loud = dict(zip(INTERVAL_FEATURES, f.transform([murmur.astype(np.float32)])[0]))
    assert loud["amp_systole_s1_mean"] > 2 * row["amp_systole_s1_mean"]
    # nothing to segment: every feature is missing
    assert np.isnan(f.transform([np.random.default_rng(0).standard_normal(40000)])).all()


def test_state_features_are_potes_124_over_the_segmented_cycles():
    from hbclf.features import INTERVAL_FEATURES, STATE_FEATURES, IntervalFeatures, StateFeatures
    from hbclf.heartbeat import synthetic_pcg

    y, truth = synthetic_pcg(heart_rate=75, seconds=12, sr=4000, systole=0.3, seed=2)
    f = StateFeatures().fit([y])
    assert tuple(f.get_feature_names_out()) == STATE_FEATURES and len(STATE_FEATURES) == 124
    row = dict(zip(STATE_FEATURES, f.transform([y])[0]))
    # the first 20 are the sample entry's, as IntervalFeatures computes them
    np.testing.assert_array_equal([row[n] for n in INTERVAL_FEATURES],
                                  IntervalFeatures().fit([y]).transform([y])[0])
    # S1 and S2 are loud low-frequency bursts, systole and diastole noise
    for lo, hi in ((25, 45), (45, 65), (65, 85)):
        assert row[f"s1_power_{lo}_{hi}"] > row[f"systole_power_{lo}_{hi}"] + 1
    # a murmur in systole: power in its band and the systole's cepstrum move, S1's do not much
    t = np.arange(len(y)) / 4000
    murmur = y + 0.25 * np.sin(2 * np.pi * 250 * t) * np.any(
        [(t > a + 0.07) & (t < a + 0.25) for a in truth["s1"]], axis=0)
    loud = dict(zip(STATE_FEATURES, f.transform([murmur.astype(np.float32)])[0]))
    assert loud["systole_power_200_300"] > row["systole_power_200_300"] + 1
    assert abs(loud["s1_power_25_45"] - row["s1_power_25_45"]) < 0.5
    # a pure tone inside a state has no skew and the kurtosis of a sine (-1.5); noise the
    # moments scipy gives; flat or under three samples: none
    from scipy.stats import kurtosis, skew

    from hbclf.features._cycles import _shapes

    sine = np.sin(2 * np.pi * 50 * np.arange(4000) / 4000)
    noise = np.random.default_rng(1).gamma(2.0, size=300)
    moments = _shapes([sine, np.ones(10), noise, np.ones(2), []])
    np.testing.assert_allclose(moments[0], (0.0, -1.5), atol=1e-6)
    np.testing.assert_allclose(moments[2], (skew(noise), kurtosis(noise)), rtol=1e-9)
    assert np.isnan(moments[[1, 3, 4]]).all()
    assert np.isnan(f.transform([np.random.default_rng(0).standard_normal(40000)])).all()
