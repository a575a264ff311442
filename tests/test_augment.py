"""Device augmentation: what a copy keeps and what it changes."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hbclf.augment import augment_files, simulate_device
from hbclf.datasets import load_pascal, recording_origin
from hbclf.io import AudioError, load_audio


def _beats(sr=4000, seconds=6.0, rate_bpm=72):
    """Thumps at a known rate: a 60 Hz burst (S1) and a 90 Hz one (S2) per cycle."""
    t = np.arange(int(sr * seconds)) / sr
    period = 60 / rate_bpm
    phase = t % period
    s1 = np.sin(2 * np.pi * 60 * t) * (phase < 0.08)
    s2 = 0.6 * np.sin(2 * np.pi * 90 * t) * ((phase > 0.3) & (phase < 0.36))
    return (s1 + s2).astype(np.float32)


def test_same_seed_same_copy_other_seed_other_copy():
    y = _beats()
    a, b = simulate_device(y, 4000, random_state=3), simulate_device(y, 4000, random_state=3)
    c = simulate_device(y, 4000, random_state=4)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and np.isfinite(a).all()
    assert len(a) != len(c) or not np.allclose(a, c)


def test_speed_changes_length_within_its_range_and_zero_keeps_it():
    y = _beats()
    lengths = [len(simulate_device(y, 4000, random_state=s, speed=0.06)) for s in range(20)]
    assert all(abs(n / len(y) - 1) <= 0.065 for n in lengths)
    assert len(set(lengths)) > 5  # the speed is drawn, not fixed
    assert len(simulate_device(y, 4000, random_state=0, speed=0.0)) == len(y)


def test_band_limit_and_equaliser_change_the_spectrum_not_the_rhythm():
    from hbclf.heartbeat import detect

    y = _beats()
    z = simulate_device(y, 4000, random_state=1, speed=0.0, snr_db=None)
    spec_y, spec_z = np.abs(np.fft.rfft(y)), np.abs(np.fft.rfft(z))
    assert not np.allclose(spec_z / spec_z.max(), spec_y / spec_y.max(), atol=0.05)
    assert detect(z, 4000).heart_rate == pytest.approx(72, rel=0.1)


def test_noise_is_at_the_drawn_level():
    y = _beats()
    clean = simulate_device(y, 4000, random_state=2, speed=0.0, snr_db=None)
    noisy = simulate_device(y, 4000, random_state=2, speed=0.0, snr_db=(20.0, 20.0))
    # the same filters and gain (every setting is drawn whatever the options): the difference
    # is the noise, 20 dB below the filtered recording
    snr = 10 * np.log10(np.mean(clean.astype(float) ** 2) / np.mean((noisy - clean) ** 2.0))
    assert snr == pytest.approx(20, abs=0.5)


def test_refuses_what_is_not_a_waveform():
    with pytest.raises(ValueError, match="1-D waveform"):
        simulate_device(np.zeros((2, 100)), 4000)
    with pytest.raises(ValueError, match="1-D waveform"):
        simulate_device([], 4000)


def test_files_are_written_readable_in_their_sources_folder_and_order(tmp_path):
    src = list(load_pascal("a").filenames[:3]) + list(load_pascal("b").filenames[:2])
    out = augment_files(src, tmp_path / "aug", random_state=0, n_jobs=2)
    assert len(out) == len(src)
    for s, o in zip(src, out):
        assert Path(o).stem == Path(s).stem
        assert recording_origin(o) == recording_origin(s)  # the copy keeps its origin
        y, sr = load_audio(o, sr=None)
        assert sr == 4000 and np.abs(y).max() <= 1.0
    # the same copies whatever the number of threads
    again = augment_files(src, tmp_path / "again", random_state=0, n_jobs=1)
    for a, b in zip(out, again):
        np.testing.assert_array_equal(sf.read(a)[0], sf.read(b)[0])


def test_a_bad_recording_is_named_and_clashing_names_refused(tmp_path):
    bad = tmp_path / "src" / "bad.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="bad.wav"):
        augment_files([bad], tmp_path / "aug")
    (tmp_path / "src" / "x.flac").write_bytes(b"")
    with pytest.raises(ValueError, match="overwrite"):
        augment_files([tmp_path / "src" / "x.wav", tmp_path / "src" / "x.flac"], tmp_path / "o")
