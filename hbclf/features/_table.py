"""Shared anatomy of transformers that return one named row of numbers per recording, and a
check that such a table holds no column that is constant up to rounding."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import as_items, check_recordings, check_sr, parallel_map
from ..base import RecordingTransformerMixin

__all__ = ["near_constant_columns"]


class RecordingTable(RecordingTransformerMixin, TransformerMixin, BaseEstimator):
    """Base: ``sr`` and ``n_jobs`` parameters, one row of :attr:`columns` per recording.

    A subclass sets ``columns`` (the feature names) and implements
    ``_one(i, item)``, the row of recording ``i`` (a path or a waveform).
    """

    columns = ()

    def __init__(self, *, sr=4000, n_jobs=None):
        self.sr = sr
        self.n_jobs = n_jobs

    def fit(self, X=None, y=None):
        """Validate parameters and in-memory waveforms (learns nothing)."""
        if X is not None:
            check_recordings(X)
        check_sr(self.sr)
        self.n_features_out_ = len(self._columns())
        return self

    def _columns(self):
        """This instance's feature names (a subclass may add optional ones)."""
        return tuple(self.columns)

    def _one(self, i, item):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def transform(self, X):
        """A ``(n_recordings, n_features)`` float array (NaN where a value is undefined)."""
        check_is_fitted(self, "n_features_out_")
        return np.vstack(parallel_map(self._one, as_items(X), self.n_jobs))

    def get_feature_names_out(self, input_features=None):
        """The feature names."""
        return np.array(self._columns(), dtype=object)


def near_constant_columns(X, *, atol=1e-4, rtol=1e-6):
    """Columns of a feature table that vary only by rounding noise.

    A column whose finite values all lie within ``atol + rtol * max|x|`` of
    each other without being exactly equal is constant by construction and
    computed with rounding errors (the mean of a mean-normalised MFCC row, say):
    a ``StandardScaler`` would blow that noise up to unit variance, and it
    differs from one CPU to the next. An exactly constant column is harmless
    (scaled to zero) and not reported; neither is an all-NaN one.

    Parameters
    ----------
    X : array-like of shape (n_recordings, n_features)
        A feature table (DataFrame or array).
    atol, rtol : float
        Absolute and relative spread below which a column counts as constant.

    Returns
    -------
    ndarray of int
        Indices of those columns.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.c_[np.arange(4.0), [1e-6, -2e-6, 3e-6, 0.0], np.ones(4)]
    >>> near_constant_columns(X).tolist()
    [1]
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D feature table, got shape {X.shape}")
    finite = np.isfinite(X)
    lo = np.where(finite, X, np.inf).min(axis=0)
    hi = np.where(finite, X, -np.inf).max(axis=0)
    big = np.where(finite, np.abs(X), 0.0).max(axis=0)
    spread = hi - lo
    seen = finite.any(axis=0)
    return np.flatnonzero(seen & (spread > 0) & (spread <= atol + rtol * big))


class SegmentedTable(RecordingTable):
    """Base of the tables read from :func:`hbclf.heartbeat.detect`: ``confidence`` adds the
    segmentation's confidence as a last column."""

    def __init__(self, *, sr=4000, n_jobs=None, confidence=False):
        super().__init__(sr=sr, n_jobs=n_jobs)
        self.confidence = confidence

    def __setstate__(self, state):
        # model files written before the option existed hold no ``confidence``: they had none
        super().__setstate__({"confidence": False, **state})

    def _columns(self):
        return tuple(self.columns) + (("confidence",) if self.confidence else ())

    def _with_confidence(self, row, beats):
        return np.r_[row, beats.confidence] if self.confidence else row
