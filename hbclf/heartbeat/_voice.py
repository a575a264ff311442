"""Is a recording a voice (or music) rather than heart sounds? Two measures of its frames'
spectra."""

from __future__ import annotations

import numpy as np

from ._envelopes import WORK_RATE, _sos

PITCH = (80.0, 250.0)  # Hz: a speaking voice's fundamental (men about 85-180, women 165-255)
VOICE_BAND = (60.0, 450.0)  # Hz: where its pitch period is looked for
FRAME = 0.08  # s, hop half of it
VOICED_FRAME = 0.6  # normalised autocorrelation at a pitch lag above which a frame is voiced
# a recording whose louder frames are voiced this often, and whose 25-450 Hz power lies mostly
# above 150 Hz, is a voice or music: in no PhysioNet 2016 recording were both true
VOICED_SHARE = 0.3
LOW_SHARE = 0.6


def voice_measures(x):
    """How voiced a recording is, and how much of its power is low, from 80 ms frames.

    Parameters
    ----------
    x : ndarray
        The recording at the work rate (1 kHz).

    Returns
    -------
    voiced : float
        Share of the louder half of the frames (by their 60-450 Hz power)
        whose 60-450 Hz autocorrelation, normalised, peaks above
        :data:`VOICED_FRAME` at a lag of one pitch period (4-13 ms: about
        80-250 Hz). Heart sounds are brief thuds that do not repeat at such lags;
        vowels do.
    low : float
        Share of the 25-450 Hz power below 150 Hz (heart sounds lie mostly
        below 150 Hz, a voice's mostly above).

    Examples
    --------
    >>> from hbclf.heartbeat import synthetic_pcg
    >>> y, _ = synthetic_pcg(seconds=4, sr=1000, seed=0)
    >>> voiced, low = voice_measures(y)
    >>> voiced < 0.3 and low > 0.6
    True
    """
    from scipy.fft import irfft, rfft, rfftfreq
    from scipy.signal import sosfiltfilt

    n = int(FRAME * WORK_RATE)
    if len(x) < n:
        return 0.0, 1.0

    def frames(signal):
        f = np.lib.stride_tricks.sliding_window_view(signal, n)[:: n // 2]
        return f - f.mean(axis=1, keepdims=True)

    power = np.abs(rfft(frames(x) * np.hanning(n), axis=1)) ** 2
    f = rfftfreq(n, 1.0 / WORK_RATE)
    total = power[:, (f >= 25) & (f < 450)].sum()
    low = float(power[:, (f >= 25) & (f < 150)].sum() / total) if total > 0 else 1.0
    voice = frames(sosfiltfilt(_sos(4, VOICE_BAND, "bandpass"), x))
    energy = (voice**2).sum(axis=1)
    loud = voice[(energy >= np.median(energy)) & (energy > 0)]
    if len(loud) == 0:
        return 0.0, low
    lo, hi = int(WORK_RATE / PITCH[1]), int(np.ceil(WORK_RATE / PITCH[0]))
    ac = irfft(np.abs(rfft(loud, 2 * n, axis=1)) ** 2, axis=1)[:, : hi + 1]  # linear (padded)
    peak = ac[:, lo: hi + 1].max(axis=1) / ac[:, 0]
    return float(np.mean(peak > VOICED_FRAME)), low


def voice_like(x):
    """(voiced share, low-band share, verdict) of ``x`` at the work rate
    (:func:`voice_measures`): a voice or music when over :data:`VOICED_SHARE`
    of its louder frames are voiced and under :data:`LOW_SHARE` of its power
    lies below 150 Hz."""
    voiced, low = voice_measures(x)
    return voiced, low, bool(voiced > VOICED_SHARE and low < LOW_SHARE)
