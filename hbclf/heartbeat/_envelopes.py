"""Per-frame envelopes of a phonocardiogram: what the segmenter's emission model sees."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["ENV_RATE", "ENVELOPES", "WORK_RATE", "envelope", "frame_envelopes"]

ENV_RATE = 50  # Hz, the frame rate of envelopes and states (Springer's)
WORK_RATE = 1000  # Hz: every recording is resampled to it first: any input rate, the same frames
BAND = (25.0, 400.0)  # Hz, heart sounds (Springer's band-pass)
#: The envelopes, in column order: Springer's homomorphic and Hilbert envelopes and, in place of
#: his wavelet and power-spectral-density envelopes, the log energy in three sub-bands (S1 is
#: lower-pitched than S2; the wavelet and PSD envelopes measure the same low band).
ENVELOPES = ("homomorphic", "hilbert", "band_25_60", "band_60_150", "band_150_400")
_SUB_BANDS = ((25.0, 60.0), (60.0, 150.0), (150.0, 400.0))


@lru_cache(maxsize=16)
def _sos(order, band, btype):
    """A Butterworth filter at the work rate, designed once per process (designing it took a
    third of :func:`detect` when every recording designed its own)."""
    from scipy.signal import butter

    return butter(order, band, btype=btype, fs=WORK_RATE, output="sos")


def _to_work_rate(y, sr):
    import soxr

    y = np.asarray(y, dtype=np.float64).ravel()
    return y if sr == WORK_RATE else soxr.resample(y, sr, WORK_RATE, quality="HQ")


def _lowpass_decimate(x, cutoff):
    """Zero-phase low-pass at ``cutoff`` Hz, then every 20th sample (1 kHz -> 50 Hz)."""
    from scipy.signal import sosfiltfilt

    sos = _sos(2, cutoff, "lowpass")
    step = WORK_RATE // ENV_RATE
    return sosfiltfilt(sos, x)[step // 2::step]


def _magnitude(x):
    """Hilbert magnitude, FFT length padded to a fast size."""
    from scipy.fft import next_fast_len
    from scipy.signal import hilbert

    n = len(x)
    return np.abs(hilbert(x, next_fast_len(n))[:n])


def _standardise_columns(a):
    """Each column (or a 1-D array) to zero mean and unit variance."""
    return (a - a.mean(axis=0)) / (a.std(axis=0) + 1e-12)


def frame_envelopes(y, sr, *, standardise=True):
    """The segmenter's envelopes of a recording, standardised, at 50 frames per second.

    Parameters
    ----------
    y : array-like
        Waveform (any scale).
    sr : int
        Its rate in Hz (1 kHz to 48 kHz or more: it is resampled to 1 kHz first).
    standardise : bool, default=True
        Scale each column to zero mean and unit variance (``False``: the raw
        homomorphic and Hilbert magnitudes and sub-band log energies).

    Returns
    -------
    ndarray of shape (n_frames, 5)
        Columns named by :data:`ENVELOPES`; standardised, each has zero mean
        and unit variance over the recording (so loudness and gain do not matter).

    Examples
    --------
    >>> from hbclf.heartbeat import synthetic_pcg
    >>> y, _ = synthetic_pcg(seconds=4, sr=4000, seed=0)
    >>> frame_envelopes(y, 4000).shape
    (200, 5)
    """
    from scipy.signal import sosfiltfilt

    x = sosfiltfilt(_sos(4, BAND, "bandpass"), _to_work_rate(y, sr))
    mag = _magnitude(x)
    floor = 1e-10 * (mag.max() + 1e-30)
    n = len(x) // (WORK_RATE // ENV_RATE)
    cols = [np.exp(_lowpass_decimate(np.log(mag + floor), 8.0)), _lowpass_decimate(mag, 20.0)]
    for lo, hi in _SUB_BANDS:
        sub = sosfiltfilt(_sos(2, (lo, hi), "bandpass"), x)
        cols.append(np.log(_lowpass_decimate(_magnitude(sub), 20.0).clip(min=0) + floor))
    out = np.column_stack([c[:n] for c in cols])
    return _standardise_columns(out) if standardise else out


def envelope(y, sr):
    """Standardised homomorphic envelope at 50 Hz (the first column of :func:`frame_envelopes`).

    Examples
    --------
    >>> from hbclf.heartbeat import synthetic_pcg
    >>> y, _ = synthetic_pcg(seconds=4, sr=4000, seed=0)
    >>> envelope(y, 4000).shape
    (200,)
    """
    return frame_envelopes(y, sr)[:, 0]
