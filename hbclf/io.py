"""Reading heart-sound recordings, with every failure named.

The one entry point is :func:`load_audio`. It reads WAV, FLAC, OGG (and
whatever else the installed libsndfile reads) at any bit depth and rate,
downmixes to mono, resamples with soxr's high-quality filter and checks the
result. Anything wrong with a file raises :class:`AudioError`, a
:class:`ValueError` whose message starts with the file's path and says what is
wrong, so a user sees one line and not a library traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["AudioError", "AUDIO_EXTENSIONS", "load_audio", "check_waveform"]

#: File name endings treated as audio when a folder is walked.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3")

#: Shortest recording accepted by default, in seconds. Half a second holds
#: less than one cardiac cycle at rest, so shorter input cannot be classified.
DEFAULT_MIN_DURATION = 0.5


class AudioError(ValueError):
    """A recording that cannot be used, with the file and the cause.

    Attributes
    ----------
    path : str
        The file (or a description of the in-memory input) at fault.
    reason : str
        What is wrong with it, in words for a user.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep path and reason across processes (joblib)
        return (type(self), (self.path, self.reason))


def check_waveform(y, sr, *, source="<waveform>", min_duration=DEFAULT_MIN_DURATION):
    """Validate a waveform and return it as contiguous float32.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_channels, n_samples)
        The samples.
    sr : int
        Its sampling rate in Hz.
    source : str, default="<waveform>"
        What to name in an error (a file path, or a row index).
    min_duration : float, default=0.5
        Shortest accepted duration in seconds; 0 accepts any non-empty input.

    Returns
    -------
    y : ndarray of float32
        The same samples.

    Raises
    ------
    AudioError
        Empty, non-finite, silent or too short input.

    Examples
    --------
    >>> import numpy as np
    >>> check_waveform(np.ones(4000), 4000).dtype
    dtype('float32')
    """
    try:
        y = np.asarray(y, dtype=np.float32)
    except (TypeError, ValueError):
        raise AudioError(source, "not a numeric waveform") from None
    if y.ndim not in (1, 2):
        raise AudioError(source, f"expected a 1-D waveform, got an array of shape {y.shape}")
    if y.size == 0 or y.shape[-1] == 0:
        raise AudioError(source, "contains no samples (empty recording)")
    # the float64 sum of finite float32 samples cannot overflow: no array-sized temporary
    if not np.isfinite(np.sum(y, dtype=np.float64)):
        raise AudioError(source, "contains NaN or infinite samples")
    if not np.any(y):
        raise AudioError(source, "is silent (every sample is zero)")
    duration = y.shape[-1] / sr
    if duration < min_duration:
        raise AudioError(
            source, f"is too short: {duration:.3f} s, the minimum is {min_duration:g} s"
        )
    return np.ascontiguousarray(y)


def _resample(y, orig_sr, target_sr):
    import soxr

    if y.ndim == 1:
        return soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32)
    # soxr takes (frames, channels)
    return soxr.resample(y.T, orig_sr, target_sr, quality="HQ").T.astype(np.float32)


def load_audio(path, sr=4000, mono=True, *, min_duration=DEFAULT_MIN_DURATION):
    """Read a recording as float32 samples in [-1, 1] at a chosen rate.

    Parameters
    ----------
    path : str or path-like
        A WAV, FLAC or OGG file (any PCM bit depth or float).
    sr : int or None, default=4000
        Rate to return, in Hz. The recording is resampled with soxr's
        high-quality filter when its rate differs. ``None`` keeps the native
        rate. 4 kHz keeps everything below 2 kHz, where heart sounds and
        murmurs live.
    mono : bool, default=True
        Average the channels into one. With ``False`` the result has shape
        ``(n_channels, n_samples)`` (librosa's convention) for multi-channel
        files and ``(n_samples,)`` for mono ones.
    min_duration : float, default=0.5
        Shortest accepted recording, in seconds (measured after reading).

    Returns
    -------
    y : ndarray of float32
        The samples.
    sr : int
        Their rate.

    Raises
    ------
    AudioError
        Missing file, a directory, not audio, empty, corrupt, NaN or inf
        samples, silent, or shorter than ``min_duration``. The message names
        the file.

    Examples
    --------
    >>> from hbclf.datasets import load_pascal
    >>> y, sr = load_audio(load_pascal("b").filenames[0])
    >>> sr, y.dtype
    (4000, dtype('float32'))
    """
    import soundfile as sf

    name = os.fspath(path)
    p = Path(name)
    if not p.exists():
        raise AudioError(name, "file not found")
    if p.is_dir():
        raise AudioError(name, "is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioError(name, "is empty (0 bytes)")
    if sr is not None and (not isinstance(sr, (int, np.integer)) or sr <= 0):
        raise ValueError(f"sr must be a positive integer or None, got {sr!r}")
    try:
        data, native_sr = sf.read(name, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc).split(":")[-1].strip() or type(exc).__name__
        raise AudioError(name, f"not a readable audio file ({detail})") from None
    y = data.T  # (channels, frames)
    if mono:
        y = y.mean(axis=0) if y.shape[0] > 1 else y[0]
    elif y.shape[0] == 1:
        y = y[0]
    y = check_waveform(y, native_sr, source=name, min_duration=min_duration)
    if sr is not None and sr != native_sr:
        y = _resample(y, native_sr, int(sr))
        native_sr = int(sr)
    return y, int(native_sr)
