"""From frame sequences to tables: summaries over time, fixed-length images."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..base import LearnsNothingMixin, NoTableOutputMixin
from ._sequences import Sequences  # noqa: F401 - used by the examples

__all__ = ["FixedLength", "TimeSummary"]


def _as_sequences(X):
    """Per-recording 2-D matrices from a Sequences array or a numeric 2-D/3-D array.

    A 2-D array ``(n_recordings, n_features)`` is read as one frame per
    recording; a 3-D array as ``(n_recordings, n_features, n_frames)``.
    """
    from sklearn.utils.validation import check_array

    names = getattr(X, "feature_names", None)
    if not isinstance(X, (np.ndarray, list, tuple)) and not hasattr(X, "tocsr"):
        X = np.asarray(X)
    if hasattr(X, "tocsr") or (isinstance(X, np.ndarray) and X.dtype != object):
        X = check_array(X, allow_nd=True, dtype=(np.float64, np.float32))
        if X.ndim > 3:
            raise ValueError(f"expected sequences or a 2-D/3-D array, got shape {X.shape}")
        mats = [row[:, np.newaxis] for row in X] if X.ndim == 2 else list(X)
    else:
        mats = [np.atleast_2d(np.asarray(m, dtype=np.float32)) for m in X]
    if not mats:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required")
    rows = {m.shape[0] for m in mats}
    if len(rows) != 1 or any(m.ndim != 2 for m in mats):
        raise ValueError(f"all matrices must have the same number of rows, got {sorted(rows)}")
    for i, m in enumerate(mats):
        if m.shape[1] == 0:
            raise ValueError(f"sequence {i} has no frames")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"Input contains NaN or infinity (sequence {i})")
    return mats, names


def _fitted_rows(est, X):
    mats, names = _as_sequences(X)
    est.n_features_in_ = mats[0].shape[0]
    est.input_names_ = np.array(
        names if names is not None else [f"x{k}" for k in range(est.n_features_in_)], dtype=object
    )
    return mats, getattr(X, "fixed_stats", None) or {}


def _checked_rows(est, X):
    check_is_fitted(est, "n_features_in_")
    mats, _ = _as_sequences(X)
    if mats[0].shape[0] != est.n_features_in_:
        raise ValueError(
            f"X has {mats[0].shape[0]} features, but {type(est).__name__} "
            f"is expecting {est.n_features_in_} features as input (features per frame)"
        )
    return mats


_PLAIN_STATS = ("mean", "std", "min", "max", "median", "skew", "kurtosis", "delta_mean",
                "delta_std")


def _stat(name, M):
    if name == "mean":
        return M.mean(axis=1)
    if name == "std":
        return M.std(axis=1)
    if name == "min":
        return M.min(axis=1)
    if name == "max":
        return M.max(axis=1)
    if name == "median":
        return np.median(M, axis=1)
    if name in ("skew", "kurtosis"):
        c = M - M.mean(axis=1, keepdims=True)
        sd = np.sqrt((c**2).mean(axis=1))
        safe = np.where(sd > 0, sd, 1.0)
        k = 3 if name == "skew" else 4
        value = (c**k).mean(axis=1) / safe**k
        return np.where(sd > 0, value - (3 if k == 4 else 0), 0.0)
    if name.startswith("delta_"):
        D = np.diff(M, axis=1) if M.shape[1] > 1 else np.zeros_like(M)
        return _stat(name[len("delta_"):], D)
    return np.percentile(M, float(name[1:]), axis=1)  # "p10", "p90", ...


class TimeSummary(LearnsNothingMixin, TransformerMixin, BaseEstimator):
    """Summarise variable-length frame sequences into a fixed table.

    Each statistic is taken over time for every row of every matrix; the
    columns are named ``<feature>_<stat>`` (e.g. ``mfcc3_std``). A statistic
    that the input fixes by construction (its ``fixed_stats``: the mean of a
    row normalised with ``normalize="mean"``, and its deviation under
    ``"meanvar"``) is left out: it would hold nothing but rounding noise, which
    a scaler would blow up to unit variance.

    Parameters
    ----------
    stats : tuple of str, default=("mean", "std", "p10", "p50", "p90", "delta_std")
        Any of "mean", "std", "min", "max", "median", "skew", "kurtosis",
        "pNN" (NN-th percentile, 0-100), "delta_mean", "delta_std" (of the
        frame-to-frame difference: how fast a feature moves).

    Examples
    --------
    >>> import numpy as np
    >>> X = Sequences([np.arange(6.).reshape(2, 3), np.ones((2, 4))], feature_names=["a", "b"])
    >>> ts = TimeSummary(stats=("mean", "max")).fit(X)
    >>> list(ts.get_feature_names_out())
    ['a_mean', 'b_mean', 'a_max', 'b_max']
    >>> ts.transform(X)[0].tolist()
    [1.0, 4.0, 2.0, 5.0]
    >>> from hbclf.features import MFCC
    >>> y = np.sin(np.linspace(0, 2000, 8000)).astype("float32")
    >>> cmn = MFCC(n_mfcc=2, normalize="mean").fit_transform([y])
    >>> list(TimeSummary(stats=("mean", "std")).fit(cmn).get_feature_names_out())
    ['mfcc0_std', 'mfcc1_std']
    """

    def __init__(self, stats=("mean", "std", "p10", "p50", "p90", "delta_std")):
        self.stats = stats

    def _validate(self):
        if isinstance(self.stats, str) or not len(self.stats):
            raise ValueError(f"stats must be a non-empty sequence of names, got {self.stats!r}")
        for s in self.stats:
            ok = s in _PLAIN_STATS or (
                isinstance(s, str) and s[:1] == "p" and s[1:].replace(".", "", 1).isdigit()
                and 0 <= float(s[1:]) <= 100
            )
            if not ok:
                raise ValueError(f"unknown statistic {s!r}; use {_PLAIN_STATS} or pNN")

    def fit(self, X, y=None):
        """Record the number and names of the per-frame features, and which statistics the
        input fixes by construction (left out)."""
        self._validate()
        _, fixed = _fitted_rows(self, X)
        kept, k = [], 0
        for stat in self.stats:  # columns are statistic-major, as transform stacks them
            for name in self.input_names_:
                if stat not in fixed.get(name, ()):
                    kept.append(k)
                k += 1
        self.kept_ = np.array(kept, dtype=np.intp)
        if not len(self.kept_):
            raise ValueError(f"every statistic in {tuple(self.stats)} is fixed by the input's "
                             "normalisation; choose others (e.g. 'p10', 'p90', 'delta_std')")
        return self

    def transform(self, X):
        """A ``(n_recordings, n_features * n_stats)`` array (float32 for float32 input)."""
        mats = _checked_rows(self, X)
        dtype = np.result_type(*[m.dtype for m in mats[:1]], np.float32)
        out = np.empty((len(mats), self.n_features_in_ * len(self.stats)), dtype=dtype)
        for i, M in enumerate(mats):
            out[i] = np.concatenate([_stat(s, M.astype(np.float64)) for s in self.stats])
        return out[:, self.kept_]

    def get_feature_names_out(self, input_features=None):
        """``<feature>_<stat>`` for every statistic and per-frame feature."""
        check_is_fitted(self, "kept_")
        names = self.input_names_ if input_features is None else np.asarray(input_features)
        if len(names) != self.n_features_in_:
            raise ValueError(f"input_features should have length {self.n_features_in_}")
        return np.array([f"{n}_{s}" for s in self.stats for n in names], dtype=object)[self.kept_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class FixedLength(NoTableOutputMixin, LearnsNothingMixin, TransformerMixin, BaseEstimator):
    """Pad or crop frame sequences to one length: a 3-D array for neural networks.

    Parameters
    ----------
    frames : int, default=130
        Output length. With the default :class:`MFCC` (40 coefficients,
        32 ms hop) this is the seed project's 40 x 130 image, 4.2 s.
    crop : {"start", "center"}, default="start"
        Which part of a longer recording to keep: its first ``frames``
        frames (default: the seed's choice, and deterministic for streaming),
        or the middle ones (skips a noisy stethoscope placement at the start).
    pad : {"constant", "wrap"}, default="constant"
        How to lengthen a shorter recording: zeros appended at the end, or
        the recording repeated (heart sounds are periodic).

    Examples
    --------
    >>> import numpy as np
    >>> FixedLength(frames=4).fit_transform([np.ones((2, 3)), np.ones((2, 9))]).shape
    (2, 2, 4)
    """

    def __init__(self, frames=130, *, crop="start", pad="constant"):
        self.frames = frames
        self.crop = crop
        self.pad = pad

    def fit(self, X, y=None):
        """Check parameters and record the number of per-frame features."""
        if not isinstance(self.frames, Integral) or self.frames <= 0:
            raise ValueError(f"frames must be a positive integer, got {self.frames!r}")
        if self.crop not in ("start", "center"):
            raise ValueError(f"crop must be 'start' or 'center', got {self.crop!r}")
        if self.pad not in ("constant", "wrap"):
            raise ValueError(f"pad must be 'constant' or 'wrap', got {self.pad!r}")
        _fitted_rows(self, X)
        return self

    def transform(self, X):
        """A ``(n_recordings, n_features, frames)`` float32 array."""
        mats = _checked_rows(self, X)
        dtype = np.result_type(mats[0].dtype, np.float32)
        out = np.zeros((len(mats), self.n_features_in_, self.frames), dtype=dtype)
        for i, M in enumerate(mats):
            n = M.shape[1]
            if n >= self.frames:
                start = 0 if self.crop == "start" else (n - self.frames) // 2
                out[i] = M[:, start:start + self.frames]
            elif self.pad == "wrap":
                out[i] = np.tile(M, (1, -(-self.frames // n)))[:, : self.frames]
            else:
                out[i, :, :n] = M
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
