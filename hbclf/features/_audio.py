"""Transformers on whole recordings: reading (and filtering) waveforms, their origin."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import as_items, check_recordings, check_sr, is_path, parallel_map, read_one
from ..base import NoTableOutputMixin, RecordingTransformerMixin
from ..io import DEFAULT_MIN_DURATION
from ._sequences import Sequences

__all__ = ["AudioReader", "Origin"]


class AudioReader(NoTableOutputMixin, RecordingTransformerMixin, TransformerMixin, BaseEstimator):
    """Read recordings into waveforms, with optional band-pass and normalisation.

    Parameters
    ----------
    sr : int, default=4000
        Rate of the returned waveforms (soxr high-quality resampling).
    band : tuple of (float or None, float or None), optional
        Pass band in Hz of a 4th-order zero-phase Butterworth filter, e.g.
        ``(25, 400)`` for S1/S2 or ``(25, 900)`` to keep murmurs. ``None``
        (default) leaves the signal as recorded; ``(None, hi)`` is a low-pass.
    normalize : {None, "peak", "rms"}, default=None
        Scale each recording to unit peak or unit RMS (phone and stethoscope
        gains differ by orders of magnitude).
    min_duration : float, default=0.5
        Shortest accepted recording, in seconds.
    n_jobs : int, optional
        Threads for reading; ``None`` reads serially.

    Examples
    --------
    >>> from hbclf.datasets import load_pascal
    >>> waves = AudioReader(band=(25, 400)).fit_transform(load_pascal("a").filenames[:2])
    >>> waves[0].dtype, waves[0].ndim
    (dtype('float32'), 1)
    """

    def __init__(self, sr=4000, *, band=None, normalize=None,
                 min_duration=DEFAULT_MIN_DURATION, n_jobs=None):
        self.sr = sr
        self.band = band
        self.normalize = normalize
        self.min_duration = min_duration
        self.n_jobs = n_jobs

    def fit(self, X=None, y=None):
        """Validate parameters (and in-memory waveforms) and design the filter."""
        if X is not None:
            check_recordings(X)
        check_sr(self.sr)
        if self.normalize not in (None, "peak", "rms"):
            raise ValueError(f"normalize must be None, 'peak' or 'rms', got {self.normalize!r}")
        self.sos_ = None
        if self.band is not None:
            from scipy.signal import butter

            lo, hi = self.band
            nyq = self.sr / 2
            if hi is not None and not 0 < hi < nyq:
                raise ValueError(f"band upper edge must be in (0, {nyq}) Hz, got {hi}")
            if lo is not None and not 0 < lo < (hi or nyq):
                raise ValueError(f"band lower edge must be in (0, upper edge), got {lo}")
            if lo and hi:
                self.sos_ = butter(4, [lo, hi], btype="bandpass", fs=self.sr, output="sos")
            elif hi:
                self.sos_ = butter(4, hi, btype="lowpass", fs=self.sr, output="sos")
            elif lo:
                self.sos_ = butter(4, lo, btype="highpass", fs=self.sr, output="sos")
        return self

    def _one(self, i, item):
        y = read_one(item, i, self.sr, self.min_duration)
        if self.sos_ is not None:
            from scipy.signal import sosfiltfilt

            y = sosfiltfilt(self.sos_, y, padlen=min(len(y) - 1, 3 * 13)).astype(np.float32)
        if self.normalize == "peak":
            y = y / np.max(np.abs(y))
        elif self.normalize == "rms":
            y = y / np.sqrt(np.mean(np.square(y, dtype=np.float64)))
        return np.ascontiguousarray(y, dtype=np.float32)

    def transform(self, X):
        """Waveforms (a :class:`Sequences` of 1-D float32 arrays) of ``X``."""
        check_is_fitted(self, "sos_")
        return Sequences(parallel_map(self._one, as_items(X), self.n_jobs))


class Origin(RecordingTransformerMixin, TransformerMixin, BaseEstimator):
    """The origin of each recording (PASCAL set, PhysioNet database), read off its path.

    A baseline's only input: a classifier that sees nothing but the origin
    shows how much of a score the origin alone explains (class priors differ
    between sets and databases). Follow it with a ``OneHotEncoder``.

    Examples
    --------
    >>> Origin().fit_transform(["d/training-a/a0001.wav", "p/set_b/normal__1_22222222_A.flac"])
    array([['training-a'],
           ['set B']], dtype=object)
    """

    def fit(self, X=None, y=None):
        """Check that ``X`` holds file paths (learns nothing)."""
        if X is not None:
            self._origins(X)
        self.n_features_out_ = 1
        return self

    @staticmethod
    def _origins(X):
        from ..datasets import recording_origin

        items = check_recordings(X)
        if not all(is_path(item) for item in items):
            raise TypeError("Origin reads file paths; waveforms carry no origin")
        return [recording_origin(item) for item in items]

    def transform(self, X):
        """A ``(n_recordings, 1)`` object array of origin names."""
        check_is_fitted(self, "n_features_out_")
        return np.array([[o] for o in self._origins(X)], dtype=object)

    def get_feature_names_out(self, input_features=None):
        """``["origin"]``."""
        return np.array(["origin"], dtype=object)
