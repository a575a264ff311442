"""Shared anatomy of transformers that read a recording and return one named row of numbers."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import as_items, check_recordings, check_sr, parallel_map
from ..base import RecordingTransformerMixin

__all__ = []


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
        self.n_features_out_ = len(self.columns)
        return self

    def _one(self, i, item):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def transform(self, X):
        """A ``(n_recordings, n_features)`` float array (NaN where a value is undefined)."""
        check_is_fitted(self, "n_features_out_")
        return np.vstack(parallel_map(self._one, as_items(X), self.n_jobs))

    def get_feature_names_out(self, input_features=None):
        """The feature names."""
        return np.array(self.columns, dtype=object)

    def set_output(self, *, transform=None):
        """Pandas output (columns named by the feature names) or the default arrays."""
        return TransformerMixin.set_output(self, transform=transform)
