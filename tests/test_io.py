import numpy as np
import pytest
import soundfile as sf

from hbclf.io import AudioError, check_waveform, load_audio


def tone(sr, seconds=1.0, freq=60.0, channels=1, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    y = amp * np.sin(2 * np.pi * freq * t)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


@pytest.mark.parametrize(
    "fmt, subtype",
    [
        ("WAV", "PCM_U8"),
        ("WAV", "PCM_16"),
        ("WAV", "PCM_24"),
        ("WAV", "PCM_32"),
        ("WAV", "FLOAT"),
        ("FLAC", "PCM_16"),
        ("OGG", "VORBIS"),
    ],
)
def test_reads_every_bit_depth_and_format(tmp_path, fmt, subtype):
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, tone(8000), 8000, format=fmt, subtype=subtype)
    y, sr = load_audio(path)
    assert sr == 4000 and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 4000) <= 1
    # the tone survives: amplitude within 8-bit / vorbis precision
    assert np.max(np.abs(y)) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("native", [2000, 4000, 22050, 44100, 48000])
def test_resamples_any_rate_and_keeps_the_signal(tmp_path, native):
    path = tmp_path / "x.wav"
    sf.write(path, tone(native, seconds=2.0, freq=100.0), native)
    y, sr = load_audio(path, sr=4000)
    assert sr == 4000 and abs(len(y) - 8000) <= 1
    expected = tone(4000, seconds=2.0, freq=100.0)[: len(y)]
    # compare away from the edges, where the resampler's filter settles
    assert np.max(np.abs(y[200:-200] - expected[200:-200])) < 1e-2


def test_sr_none_keeps_the_native_rate(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, tone(44100), 44100)
    y, sr = load_audio(path, sr=None)
    assert sr == 44100 and len(y) == 44100


def test_stereo_is_downmixed_or_kept(tmp_path):
    path = tmp_path / "x.wav"
    left_right = np.stack([tone(4000), np.zeros(4000)], axis=1)
    sf.write(path, left_right, 4000, subtype="FLOAT")
    y, _ = load_audio(path)
    np.testing.assert_allclose(y, tone(4000) / 2, atol=1e-6)
    y2, _ = load_audio(path, mono=False)
    assert y2.shape == (2, 4000)


def write_float(path, y, sr=4000):
    sf.write(path, np.asarray(y, dtype=np.float32), sr, subtype="FLOAT")
    return path


def write_bytes(path, data):
    path.write_bytes(data)
    return path


def corrupt_header(path):
    sf.write(path, tone(4000), 4000)
    path.write_bytes(path.read_bytes()[:20])
    return path


def zero_frames(path):
    sf.write(path, np.zeros((0,)), 4000)
    return path


BAD_INPUTS = {
    "missing": (lambda p: p / "nope.wav", "file not found"),
    "directory": (lambda p: p, "is a directory"),
    "empty file": (lambda p: write_bytes(p / "e.wav", b""), "is empty"),
    "not audio": (
        lambda p: write_bytes(p / "t.wav", b"hello, not a wav"),
        "not a readable audio file",
    ),
    "truncated header": (lambda p: corrupt_header(p / "c.wav"), "not a readable audio file"),
    "zero frames": (lambda p: zero_frames(p / "z.wav"), "contains no samples"),
    "nan": (lambda p: write_float(p / "n.wav", np.r_[tone(4000), np.nan]), "NaN or infinite"),
    "inf": (lambda p: write_float(p / "i.wav", np.r_[np.inf, tone(4000)]), "NaN or infinite"),
    "silent": (lambda p: write_float(p / "s.wav", np.zeros(8000)), "silent"),
    "too short": (lambda p: write_float(p / "short.wav", tone(4000, 0.2)), "too short"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_the_file_and_the_cause(tmp_path, case):
    make, cause = BAD_INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    message = str(info.value)
    assert message.startswith(str(path)) and cause in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError) and info.value.path == str(path)


def test_min_duration_is_configurable(tmp_path):
    path = write_float(tmp_path / "short.wav", tone(4000, 0.2))
    y, _ = load_audio(path, min_duration=0.1)
    assert len(y) == 800
    with pytest.raises(AudioError, match="minimum is 0.3 s"):
        load_audio(path, min_duration=0.3)


def test_audio_error_survives_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(AudioError("a.wav", "is silent")))
    assert str(err) == "a.wav: is silent" and err.reason == "is silent"


def test_check_waveform_rejects_matrices_and_text():
    with pytest.raises(AudioError, match="1-D"):
        check_waveform(np.ones((2, 2, 2)), 4000)
    with pytest.raises(AudioError, match="not a numeric"):
        check_waveform("abc", 4000, source="row 3")
