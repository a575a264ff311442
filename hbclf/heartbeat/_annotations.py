"""Checking S1/S2 annotations against the recording's own signal."""

from __future__ import annotations

import numpy as np

__all__ = ["annotation_cues"]

CUE_WINDOW = 0.06  # s each side of an annotated sound: its width is measured in there
CUE_RATE = 2000  # Hz: the rate the annotation check reads a recording at


def annotation_cues(y, sr, truth):
    """What a recording's own signal says about its annotated S1 and S2 (an annotation check).

    The median S1-to-S2 and S2-to-next-S1 intervals (ms; cycles with one S2
    between two S1s), and per kind of sound the median width at half maximum
    (ms) of its 25-400 Hz Hilbert envelope within 60 ms of each annotated time
    and the median spectral centroid (Hz, 25-600 Hz) of those same 120 ms.
    In most hearts S1 is the broader, lower-pitched sound, and systole the
    shorter interval below about 100 bpm: a recording whose annotated S1 is
    the narrower and higher-pitched sound deserves a second look.

    Parameters
    ----------
    y : array-like
        Waveform.
    sr : int
        Its rate in Hz.
    truth : dict
        ``{"s1": times, "s2": times}`` in seconds (what
        :func:`synthetic_pcg` returns as its second value).

    Returns
    -------
    dict
        ``annotated_systole_ms``, ``annotated_diastole_ms``,
        ``s1_width_ms``, ``s1_centroid_hz``, ``s2_width_ms``,
        ``s2_centroid_hz`` (NaN where nothing could be measured).

    Examples
    --------
    >>> from hbclf.heartbeat import annotation_cues, synthetic_pcg
    >>> y, truth = synthetic_pcg(heart_rate=75, seconds=8, sr=4000, systole=0.3, seed=2)
    >>> cues = annotation_cues(y, 4000, truth)
    >>> round(cues["annotated_systole_ms"]), cues["s1_width_ms"] > cues["s2_width_ms"]
    (300, True)
    """
    from scipy.signal import butter, hilbert, resample_poly, sosfiltfilt

    x = resample_poly(np.asarray(y, dtype=np.float64), CUE_RATE, sr)
    x = sosfiltfilt(butter(4, (25.0, 600.0), btype="bandpass", fs=CUE_RATE, output="sos"), x)
    env = sosfiltfilt(butter(2, 30.0, fs=CUE_RATE, output="sos"), np.abs(hilbert(
        sosfiltfilt(butter(4, (25.0, 400.0), btype="bandpass", fs=CUE_RATE, output="sos"), x))))
    half, n_fft = int(CUE_WINDOW * CUE_RATE), 1024
    freqs = np.fft.rfftfreq(n_fft, 1.0 / CUE_RATE)
    band = (freqs >= 25.0) & (freqs <= 600.0)
    cues = {}
    for sound in ("s1", "s2"):
        widths, centroids = [], []
        for t in truth[sound]:
            c = int(round(t * CUE_RATE))
            if c - half < 0 or c + half > len(x):
                continue
            seg = env[c - half:c + half]
            peak = int(np.argmax(seg))
            above = seg >= seg[peak] / 2
            run = [side.size if side.all() else int(np.argmin(side))  # the half-maximum run
                   for side in (above[peak::-1], above[peak:])]      # each way from the peak
            widths.append((run[0] + run[1] - 1) / CUE_RATE * 1000)
            power = np.abs(np.fft.rfft(x[c - half:c + half] * np.hanning(2 * half), n_fft)) ** 2
            centroids.append(float((power[band] * freqs[band]).sum() / power[band].sum()))
        cues[f"{sound}_width_ms"] = float(np.median(widths)) if widths else np.nan
        cues[f"{sound}_centroid_hz"] = float(np.median(centroids)) if centroids else np.nan
    s1, s2 = np.sort(truth["s1"]), np.sort(truth["s2"])
    cycles = [(m[0] - a, b - m[0]) for a, b in zip(s1[:-1], s1[1:])
              for m in [s2[(s2 > a) & (s2 < b)]] if len(m) == 1]
    systole, diastole = np.median(cycles, axis=0) * 1000 if cycles else (np.nan, np.nan)
    return {"annotated_systole_ms": systole, "annotated_diastole_ms": diastole, **cues}
