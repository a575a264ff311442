"""Ragged per-recording frame matrices that carry their row names."""

from __future__ import annotations

import numpy as np

__all__ = ["Sequences"]


class Sequences(np.ndarray):
    """1-D object array of per-recording ``(n_features, n_frames)`` matrices.

    It carries ``feature_names`` (one per matrix row) from the extractor to
    :class:`TimeSummary`, so a table's columns are named after what they
    summarise, and ``fixed_stats`` (row name -> statistics over time that are
    fixed by construction, e.g. the mean of a mean-normalised row), which
    :class:`TimeSummary` leaves out. Indexing, pickling and joblib caching keep
    both.

    >>> import numpy as np
    >>> s = Sequences([np.zeros((2, 5)), np.ones((2, 3))], feature_names=["a", "b"])
    >>> s[1:].feature_names, s[1].shape
    (['a', 'b'], (2, 3))
    """

    def __new__(cls, items, feature_names=None, fixed_stats=None):
        items = list(items)
        obj = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            obj[i] = item
        obj = obj.view(cls)
        obj.feature_names = None if feature_names is None else list(feature_names)
        obj.fixed_stats = None if not fixed_stats else {
            str(name): tuple(stats) for name, stats in dict(fixed_stats).items()}
        return obj

    def __array_finalize__(self, obj):
        self.feature_names = getattr(obj, "feature_names", None)
        self.fixed_stats = getattr(obj, "fixed_stats", None)

    def __reduce__(self):
        return (Sequences, (list(self), self.feature_names, self.fixed_stats))
