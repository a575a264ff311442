"""Cycle-synchronous features: how loud each part of the heart cycle is, relative to the others."""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .._validation import read_one
from ..heartbeat import ENV_RATE, detect
from ._table import SegmentedTable

__all__ = ["CYCLE_BANDS", "CYCLE_FEATURES", "CycleFeatures", "INTERVAL_FEATURES",
           "IntervalFeatures", "MURMUR_CONTRASTS", "STATE_BANDS", "STATE_FEATURES",
           "StateFeatures"]

#: Frequency bands (Hz) of the per-state energies; bands above the Nyquist rate give NaN.
CYCLE_BANDS = ((25, 50), (50, 100), (100, 200), (200, 400), (400, 800))
#: Per-cycle contrasts: (name, numerator state, denominator state); states 0 S1, 1 systole, 2 S2,
#: 3 diastole. A murmur is sound in systole or diastole relative to S1 and S2: a ratio in which a
#: device's frequency response and gain largely cancel.
_CONTRASTS = (("sys_s1", 1, 0), ("dia_s2", 3, 2), ("s2_s1", 2, 0), ("sys_dia", 1, 3))
_STATS = ("median", "iqr")


def _names():
    per_cycle = [f"{c}_{band}" for c, _, _ in _CONTRASTS
                 for band in ("all", *(f"{lo}_{hi}" for lo, hi in CYCLE_BANDS))]
    per_cycle.append("systole_fraction")
    return [f"{n}_{s}" for n in per_cycle for s in _STATS] + ["n_cycles", "quality"]


CYCLE_FEATURES = tuple(_names())
#: The 18 columns of :data:`CYCLE_FEATURES` a murmur can only raise (sound where a normal heart
#: is quiet): the medians of systole / S1, diastole / S2 and systole / diastole in every band.
MURMUR_CONTRASTS = tuple(n for n in CYCLE_FEATURES
                         if n.startswith(("sys_s1_", "dia_s2_", "sys_dia_"))
                         and n.endswith("_median"))


def _band_power(y, sr, n_frames, *, chunk=3000):
    """Power in each band (and all of 25-800 Hz) per 20 ms frame: (n_frames, 1 + n_bands).

    Computed ``chunk`` frames (a minute) at a time, so an hour-long recording
    never holds all its spectra at once.
    """
    hop = sr / ENV_RATE
    win = int(round(2 * hop))
    nfft = 1 << int(np.ceil(np.log2(max(win, 64))))
    starts = np.round(np.arange(n_frames) * hop - hop / 2).astype(int)
    padded = np.pad(np.asarray(y, dtype=np.float64), (win, win))
    freqs = np.fft.rfftfreq(nfft, 1 / sr)
    nyquist = sr / 2
    bands = [(freqs >= 25) & (freqs < min(800, nyquist))]
    for lo, hi in CYCLE_BANDS:
        sel = (freqs >= lo) & (freqs < min(hi, nyquist))
        bands.append(sel if lo < nyquist and sel.any() else None)
    out = np.full((n_frames, len(bands)), np.nan)
    taper = np.hanning(win)
    for k in range(0, n_frames, chunk):
        frames = padded[starts[k:k + chunk, None] + win + np.arange(win)[None, :]] * taper
        power = np.abs(np.fft.rfft(frames, nfft, axis=1)) ** 2
        for j, sel in enumerate(bands):
            if sel is not None:
                out[k:k + chunk, j] = power[:, sel].sum(axis=1)
    return out


def _cycles(states):
    """(start, end, per-state frame slices) of every complete S1-systole-S2-diastole cycle."""
    edges = np.flatnonzero(np.diff(np.r_[-2, states, -2]) != 0)
    segments = [(states[a], a, b) for a, b in zip(edges[:-1], edges[1:])]
    out = []
    for k in range(len(segments) - 4):
        four = segments[k:k + 5]
        if [s for s, _, _ in four] == [0, 1, 2, 3, 0]:
            out.append([(a, b) for _, a, b in four[:4]])
    return out


class CycleFeatures(SegmentedTable):
    """Energy of S1, systole, S2 and diastole relative to each other, per heart cycle, summarised.

    Each recording is segmented by :func:`hbclf.heartbeat.detect`; in every
    complete cycle the mean power of each state is measured in five bands
    (:data:`CYCLE_BANDS`) and over 25-800 Hz, and four log ratios are taken:
    systole / S1, diastole / S2, S2 / S1 and systole / diastole (murmurs
    raise the first, second or last; a device's gain and frequency response
    divide out). With the systolic fraction of the cycle, each is summarised
    over the cycles by its median and interquartile range (variability), plus
    the number of cycles and the detection quality. Columns are named
    (:data:`CYCLE_FEATURES`). A recording with one complete cycle (a clip
    of a second or two) has its medians but NaN spreads; one with none gives
    NaN except ``n_cycles`` and ``quality`` (put a ``SimpleImputer`` after
    this step).

    Parameters
    ----------
    sr : int, default=4000
        Rate at which paths are read; waveforms must already be at it.
    n_jobs : int, optional
        Threads.
    confidence : bool, default=False
        Add the segmentation's ``confidence`` (:class:`~hbclf.heartbeat.Heartbeats`)
        as a last column (0 where nothing was detected).

    Examples
    --------
    >>> from hbclf.heartbeat import synthetic_pcg
    >>> from hbclf.features import CycleFeatures
    >>> y, _ = synthetic_pcg(heart_rate=70, seed=0)
    >>> cf = CycleFeatures().fit([y])
    >>> row = dict(zip(cf.get_feature_names_out(), cf.transform([y])[0]))
    >>> int(row["n_cycles"]), bool(row["sys_s1_all_median"] < -3)
    (8, True)
    """

    columns = CYCLE_FEATURES

    def _one(self, i, item):
        wave = read_one(item, i, self.sr, 0.0)
        beats = detect(wave, self.sr)
        row = np.full(len(CYCLE_FEATURES), np.nan)
        row[-1] = beats.quality
        cycles = _cycles(beats.states) if beats.detected else []
        row[-2] = len(cycles)
        if not cycles:
            return self._with_confidence(row, beats)
        power = _band_power(wave, self.sr, len(beats.states))
        per_cycle = []
        for parts in cycles:
            level = np.log(np.array([power[a:b].mean(axis=0) for a, b in parts]) + 1e-12)
            values = [level[num] - level[den] for _, num, den in _CONTRASTS]
            (s1a, _), _, (s2a, _), (_, end) = parts
            per_cycle.append(np.r_[np.concatenate(values), (s2a - s1a) / (end - s1a)])
        per_cycle = np.array(per_cycle)
        with warnings.catch_warnings():  # bands above the Nyquist rate are all NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            q25, q50, q75 = np.nanpercentile(per_cycle, [25, 50, 75], axis=0)
        # one cycle measures each contrast but not its spread: left to the imputer
        spread = q75 - q25 if len(cycles) > 1 else np.full_like(q50, np.nan)
        row[:-2] = np.column_stack([q50, spread]).ravel()
        return self._with_confidence(row, beats)


#: The 20 features of the PhysioNet/CinC Challenge 2016 sample entry, in its order.
INTERVAL_FEATURES = tuple(f"{n}_{s}" for n in (
    "rr", "s1", "s2", "systole", "diastole", "systole_rr", "diastole_rr", "systole_diastole",
    "amp_systole_s1", "amp_diastole_s2") for s in ("mean", "std"))


class IntervalFeatures(SegmentedTable):
    """The PhysioNet/CinC Challenge 2016 sample entry's 20 features of the segmented cycles.

    From the states :func:`hbclf.heartbeat.detect` decodes, over every
    complete cycle (S1, systole, S2, diastole, next S1): the mean and standard
    deviation of the RR interval, of the S1, S2, systole and diastole
    durations (s; the decoded states, so in 20 ms steps), of the systole / RR,
    diastole / RR and systole / diastole ratios, and of the mean absolute
    amplitude of systole relative to S1 and of diastole relative to S2 (only
    ratios between 0 and 1 count, as in the sample entry). The features of
    Liu et al. (2016) and the Challenge's sample entry, which used Springer's
    segmentation; this is a reimplementation on hbclf's segmenter, not their
    code. A recording with one complete cycle (a clip of a second or two) has
    its means but NaN standard deviations, as :class:`CycleFeatures` keeps its
    medians; one with none gives NaN, and so does an amplitude ratio none of
    whose cycles is in range (put a ``SimpleImputer`` after this step; the
    sample entry wrote 0 for the amplitude ratios).

    Parameters
    ----------
    sr : int, default=4000
        Rate at which paths are read; waveforms must already be at it.
    n_jobs : int, optional
        Threads.
    confidence : bool, default=False
        Add the segmentation's ``confidence`` as a last column.

    References
    ----------
    Liu, C., Springer, D., Li, Q., et al. (2016). An open access database for
    the evaluation of heart sound algorithms. Physiological Measurement
    37(12):2181-2213.

    Examples
    --------
    >>> from hbclf.heartbeat import synthetic_pcg
    >>> from hbclf.features import IntervalFeatures
    >>> y, _ = synthetic_pcg(heart_rate=60, seed=0)
    >>> f = IntervalFeatures().fit([y])
    >>> row = dict(zip(f.get_feature_names_out(), f.transform([y])[0]))
    >>> round(float(row["rr_mean"]), 2), bool(row["systole_mean"] < row["diastole_mean"])
    (1.0, True)
    """

    columns = INTERVAL_FEATURES

    def _one(self, i, item):
        wave = read_one(item, i, self.sr, 0.0)
        beats = detect(wave, self.sr)
        cycles = _cycles(beats.states) if beats.detected else []
        row = (_intervals(wave, self.sr, cycles) if cycles
               else np.full(len(INTERVAL_FEATURES), np.nan))
        return self._with_confidence(row, beats)


def _mean_std(v):
    """Mean and standard deviation over cycles: one cycle has a mean and no deviation."""
    if len(v) > 1:
        return [v.mean(), v.std(ddof=1)]
    return [v[0] if len(v) else np.nan, np.nan]


def _segments(wave, sr, cycles):
    """The samples of each state of each cycle: ``[[s1, systole, s2, diastole], ...]``."""
    hop = sr / ENV_RATE
    return [[wave[int(a * hop):int(b * hop)] for a, b in parts] for parts in cycles]


def _intervals(wave, sr, cycles):
    """The sample entry's 20 values (:data:`INTERVAL_FEATURES`) of one or more cycles."""
    frames = np.array([[b - a for a, b in parts] for parts in cycles], dtype=float)
    s1, sys, s2, dia = (frames / ENV_RATE).T
    rr = s1 + sys + s2 + dia
    level = np.array([[np.abs(x).mean() for x in parts] for parts in _segments(wave, sr, cycles)])
    with np.errstate(divide="ignore", invalid="ignore"):
        amp = (level[:, 1] / level[:, 0], level[:, 3] / level[:, 2])
    values = []
    for v in [rr, s1, s2, sys, dia, sys / rr, dia / rr, sys / dia] + [
            a[(a > 0) & (a < 1)] for a in amp]:
        values += _mean_std(v)
    return np.array(values)


#: Frequency bands (Hz) of :class:`StateFeatures`' per-state power (Potes et al. 2016).
STATE_BANDS = ((25, 45), (45, 65), (65, 85), (85, 105), (105, 125), (125, 150), (150, 200),
               (200, 300), (300, 400))
_STATES = ("s1", "systole", "s2", "diastole")
#: The 124 features of :class:`StateFeatures`: the sample entry's 20, then per state.
STATE_FEATURES = INTERVAL_FEATURES + tuple(
    [f"{st}_{m}_{s}" for st in _STATES for m in ("skewness", "kurtosis")
     for s in ("mean", "std")]
    + [f"{st}_power_{lo}_{hi}" for st in _STATES for lo, hi in STATE_BANDS]
    + [f"{st}_mfcc{k}" for st in _STATES for k in range(13)])


class StateFeatures(SegmentedTable):
    """The 124 time-frequency features of the segmented cycles of Potes et al. (2016).

    The Challenge 2016 winner's feature-based half, on the states
    :func:`hbclf.heartbeat.detect` decodes, over every complete cycle:

    * time domain (36): the sample entry's 20 (:class:`IntervalFeatures`),
      and the mean and standard deviation over cycles of the skewness and of
      the kurtosis of each state's samples (S1, systole, S2, diastole);
    * frequency domain (36): each state's power spectrum in every cycle
      (Hamming window, 4 Hz resolution), its mean in nine bands
      (:data:`STATE_BANDS`, 25-400 Hz), the median over cycles, in log10;
    * cepstrum (52): 13 mel-frequency cepstral coefficients of each state in
      every cycle (the segment as one frame, 26 mel bands up to 1 kHz or the
      Nyquist rate), the median over cycles.

    Written from the paper's description, not its code; the paper's own
    segmentation was Springer's. A recording with one complete cycle has its
    means and medians but NaN standard deviations; one with none gives NaN
    (put a ``SimpleImputer`` after this step).

    Parameters
    ----------
    sr : int, default=4000
        Rate at which paths are read; waveforms must already be at it.
    n_jobs : int, optional
        Threads.
    confidence : bool, default=False
        Add the segmentation's ``confidence`` as a last column.

    References
    ----------
    Potes, C., Parvaneh, S., Rahman, A., Conroy, B. (2016). Ensemble of
    feature-based and deep learning-based classifiers for detection of
    abnormal heart sounds. Computing in Cardiology 43:621-624.

    Examples
    --------
    >>> from hbclf.heartbeat import synthetic_pcg
    >>> from hbclf.features import StateFeatures
    >>> y, _ = synthetic_pcg(heart_rate=60, seed=0)
    >>> f = StateFeatures().fit([y])
    >>> row = dict(zip(f.get_feature_names_out(), f.transform([y])[0]))
    >>> len(row), bool(row["s1_power_25_45"] > row["systole_power_25_45"])
    (124, True)
    """

    columns = STATE_FEATURES

    def _one(self, i, item):
        wave = read_one(item, i, self.sr, 0.0)
        beats = detect(wave, self.sr)
        cycles = _cycles(beats.states) if beats.detected else []
        if not cycles:
            return self._with_confidence(np.full(len(STATE_FEATURES), np.nan), beats)
        segments = _segments(wave, self.sr, cycles)
        shape = []
        for st in range(4):
            moments = _shapes([c[st] for c in segments])  # (cycles, 2)
            moments = moments[np.isfinite(moments).all(axis=1)]
            shape += _mean_std(moments[:, 0]) + _mean_std(moments[:, 1])
        nfft = int(2 ** np.ceil(np.log2(self.sr / 4)))  # 4 Hz bins (or finer)
        bands = _band_means(self.sr, nfft)
        mel = _mel_bank(self.sr, nfft, 26, min(1000.0, self.sr / 2))
        power, cepstra = [], []
        for st in range(4):
            spectra = _powers([c[st] for c in segments], nfft)  # (cycles, bins)
            power.append(np.log10(np.median(spectra @ bands.T, axis=0) + 1e-12))
            cepstra.append(np.median(_dct(np.log(spectra @ mel.T + 1e-12)), axis=0))
        row = np.r_[_intervals(wave, self.sr, cycles), shape, np.concatenate(power),
                    np.concatenate(cepstra)]
        return self._with_confidence(row, beats)


def _shapes(parts):
    """Skewness and excess kurtosis of each segment's samples, ``(len(parts), 2)``; NaN for a
    segment that is flat or under three samples. All segments in one pass (one call per
    segment was a third of :class:`StateFeatures`' time outside the segmenter)."""
    lens = np.array([len(x) for x in parts])
    out = np.full((len(parts), 2), np.nan)
    use = np.flatnonzero(lens > 2)
    if not len(use):
        return out
    n = lens[use]
    starts = np.r_[0, np.cumsum(n)[:-1]]
    x = np.concatenate([np.asarray(parts[i], dtype=np.float64) for i in use])
    d = x - np.repeat(np.add.reduceat(x, starts) / n, n)
    d2 = d * d
    m2, m3, m4 = (np.add.reduceat(v, starts) / n for v in (d2, d2 * d, d2 * d2))
    flat = m2 <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out[use] = np.where(flat[:, None], np.nan, np.c_[m3 / m2 ** 1.5, m4 / m2 ** 2 - 3.0])
    return out


def _powers(parts, nfft):
    """Power spectrum of each segment, Hamming-windowed, zero-padded (or cut) to ``nfft``,
    ``(len(parts), nfft // 2 + 1)``: zeros for a segment under two samples."""
    frames = np.zeros((len(parts), nfft))
    lens = np.ones(len(parts))
    for i, x in enumerate(parts):
        x = np.asarray(x, dtype=np.float64)[:nfft]
        if len(x) >= 2:
            frames[i, :len(x)] = (x - x.mean()) * _hamming(len(x))
            lens[i] = len(x)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2 / lens[:, None]


@functools.lru_cache(maxsize=512)
def _hamming(n):
    w = np.hamming(n)
    w.setflags(write=False)  # shared by every call
    return w


@functools.lru_cache(maxsize=8)
def _band_means(sr, nfft):
    """Rows averaging an ``nfft``-point power spectrum over each of :data:`STATE_BANDS`."""
    freqs = np.fft.rfftfreq(nfft, 1 / sr)
    bands = np.array([(freqs >= lo) & (freqs < hi) for lo, hi in STATE_BANDS], dtype=float)
    bands /= np.maximum(bands.sum(axis=1, keepdims=True), 1)
    bands.setflags(write=False)  # shared by every call
    return bands


@functools.lru_cache(maxsize=8)
def _mel_bank(sr, nfft, n_mels, fmax):
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=nfft, n_mels=n_mels, fmin=0.0, fmax=fmax)


def _dct(log_mel, n=13):
    from scipy.fft import dct

    return dct(log_mel, type=2, norm="ortho", axis=-1)[..., :n]
