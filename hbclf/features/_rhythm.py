"""Heart rate and rhythm of each recording, from the detected heartbeats."""

from __future__ import annotations

import numpy as np

from .._validation import read_one
from ..heartbeat import ENV_RATE, detect
from ._table import SegmentedTable

__all__ = ["RHYTHM_FEATURES", "RhythmFeatures"]


RHYTHM_FEATURES = ("heart_rate", "rr_mean", "rr_std", "rr_cv", "rmssd", "premature_fraction",
                   "systole_mean", "diastole_mean", "systole_diastole_ratio",
                   "s1_s2_ratio", "quality", "detected")


class RhythmFeatures(SegmentedTable):
    """Heart rate and rhythm features of each recording, from :func:`detect`.

    Columns: heart rate (bpm), mean, standard deviation and coefficient of
    variation of the S1-S1 intervals, RMSSD (root mean square of successive
    interval differences), the fraction of premature beats (interval under
    80% of the median: extrasystoles), mean systole and diastole, their ratio,
    the S1/S2 envelope-loudness ratio, detection quality and a detected flag.
    Features of a recording where nothing was detected are NaN (put a
    ``SimpleImputer`` after this step); ``quality`` and ``detected`` are always set.

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
    >>> from hbclf.features import RhythmFeatures
    >>> y, _ = synthetic_pcg(heart_rate=60, seed=0)
    >>> rf = RhythmFeatures().fit([y])
    >>> dict(zip(rf.get_feature_names_out(), rf.transform([y])[0]))["heart_rate"].round()
    np.float64(60.0)
    """

    columns = RHYTHM_FEATURES

    def _one(self, i, item):
        wave = read_one(item, i, self.sr, 0.0)
        b = detect(wave, self.sr)
        row = np.full(len(RHYTHM_FEATURES), np.nan)
        row[-2], row[-1] = b.quality, float(b.detected)
        if not b.detected:
            return self._with_confidence(row, b)
        rr = b.intervals
        med = np.median(rr) if len(rr) else np.nan
        env = b.envelope
        # the envelope at each sound (frame k is centred at (k + 1/2) / ENV_RATE)
        amp = lambda ts: env[np.clip(np.round(np.asarray(ts) * ENV_RATE - 0.5).astype(int),  # noqa
                                     0, len(env) - 1)].mean()
        s1a, s2a = amp(b.s1), amp(b.s2) if len(b.s2) else np.nan
        row[:-2] = [
            b.heart_rate,
            rr.mean() if len(rr) else np.nan,
            rr.std() if len(rr) else np.nan,
            rr.std() / rr.mean() if len(rr) else np.nan,
            np.sqrt(np.mean(np.diff(rr) ** 2)) if len(rr) > 1 else np.nan,
            np.mean(rr < 0.8 * med) if len(rr) else np.nan,
            b.systole.mean() if len(b.systole) else np.nan,
            b.diastole.mean() if len(b.diastole) else np.nan,
            b.systole.mean() / b.diastole.mean() if len(b.systole) and len(b.diastole) else np.nan,
            (s1a - env.min()) / (s2a - env.min() + 1e-6) if np.isfinite(s2a) else np.nan,
        ]
        return self._with_confidence(row, b)
