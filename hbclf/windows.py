"""Classify a recording by its windows: train on fixed-length windows, average per recording.

A whole-recording input (the seed's first 4.2 s, or a summary over time)
hands a network one view of each recording. :class:`WindowClassifier` cuts
every recording's frame sequence (from :class:`hbclf.features.MFCC` or
:class:`~hbclf.features.LogMel`) into fixed-length windows, trains its
estimator on windows labelled with their recording's class, and scores a
recording by the mean log-probability of its windows. Every recording weighs
the same in training however many windows it has (its windows share its
weight). Training windows can be augmented to imitate another device and room:
a random equaliser and gain, which on cepstral coefficients is a constant
added to the first few rows of a window, and stationary noise of a random
level and colour.

>>> import numpy as np
>>> from hbclf.features import Sequences
>>> rng = np.random.default_rng(0)
>>> X = Sequences([rng.normal(size=(4, int(n))) for n in rng.integers(20, 60, 30)])
>>> y = np.array(["normal", "murmur"] * 15)
>>> clf = WindowClassifier(frames=10, hop=5, random_state=0).fit(X, y)
>>> clf.predict_proba(X).shape, clf.n_windows_
((30, 2), 225)
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .features._summary import _as_sequences

__all__ = ["WindowClassifier"]


class WindowClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Train on fixed-length windows of each recording; predict by averaging them.

    Parameters
    ----------
    estimator : classifier, default=None
        Fitted on the windows. One that takes 3-D input (its tags say
        ``three_d_array``: :class:`hbclf.neural.CNNClassifier`,
        :class:`~hbclf.neural.RNNClassifier`) gets ``(n_windows, n_features,
        frames)``; any other gets each window flattened. ``None``: logistic
        regression on flattened windows. An estimator whose ``fit`` takes
        ``groups`` (the networks' early stopping) gets the recording's group
        for each window (the recording itself when no groups are given), so
        windows of one recording never sit on both sides of its split. One
        whose ``fit`` takes ``sample_weight`` gets each window its recording's
        weight divided by the recording's number of training windows, so a
        60 s recording counts no more than a 6 s one (with a network's
        ``weighted_draws``, every epoch then draws about one window per
        recording, a fresh one each epoch).
    frames : int, default=130
        Window length in frames (130: the seed's 4.2 s at a 32 ms hop).
        Shorter recordings are repeated to that length (heart sounds are
        periodic).
    hop : int, default=65
        Step between windows in frames (half a window: 50 % overlap).
    per_recording : int, optional
        Train on at most this many windows of each recording, drawn at random
        (a random time shift; bounds the cost on long recordings). ``None``:
        every window.
    eq : float, default=0.0
        Device augmentation of the training windows: each gets a random
        constant added to its first ``eq_order`` rows, with standard
        deviation ``eq`` times that row's deviation over the training
        windows. On cepstral coefficients (MFCC) row 0 is the gain and the
        next ones the spectral tilt and broad bends, so this is a random
        equaliser and gain; ``0`` turns it off. Test windows are never altered.
    eq_order : int, default=4
    noise_snr : (float, float), optional
        Noise augmentation of the training windows: each gets stationary
        noise at a signal-to-noise ratio drawn from this range (dB), its colour
        drawn from white to brown (power falling as band number to the power
        0 to 2; mel bands below 1 kHz are near-linear in Hz). It is added to
        the power spectrum the rows are the cepstrum of (their inverse DCT,
        in dB), so the rows must be MFCCs: exact when they are all the
        coefficients (``MFCC(n_mfcc=n_mels)``, as in the registry), added to
        the cepstrally smoothed spectrum otherwise. Applied before ``eq`` (a
        device hears the room too). ``None``: off.
    random_state : int, optional
        Window draws and augmentation.

    Attributes
    ----------
    estimator_ : classifier
        Fitted on the windows.
    classes_ : ndarray
    n_features_in_ : int
        Rows of each recording's matrix.
    n_windows_ : int
        Training windows.
    """

    def __init__(self, estimator=None, *, frames=130, hop=65, per_recording=None, eq=0.0,
                 eq_order=4, noise_snr=None, random_state=None):
        self.estimator = estimator
        self.frames = frames
        self.hop = hop
        self.per_recording = per_recording
        self.eq = eq
        self.eq_order = eq_order
        self.noise_snr = noise_snr
        self.random_state = random_state

    def _validate_params(self):
        for name in ("frames", "hop", "eq_order"):
            v = getattr(self, name)
            if not isinstance(v, Integral) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.per_recording is not None and (not isinstance(self.per_recording, Integral)
                                               or self.per_recording <= 0):
            raise ValueError(f"per_recording must be a positive integer or None, got "
                             f"{self.per_recording!r}")
        if not isinstance(self.eq, Real) or self.eq < 0:
            raise ValueError(f"eq must be a non-negative number, got {self.eq!r}")
        if self.noise_snr is not None and (
                np.shape(self.noise_snr) != (2,) or not self.noise_snr[0] <= self.noise_snr[1]):
            raise ValueError(f"noise_snr must be None or (low, high) in dB, got "
                             f"{self.noise_snr!r}")

    def _add_noise(self, W, rng, *, chunk=256):
        """Stationary noise of a random level and colour, added to each window's power spectrum
        (in place, ``chunk`` windows at a time: no full-size temporaries)."""
        import scipy.fft

        db = np.float32(10 / np.log(10))  # dB per neper of power
        bands = np.arange(1, W.shape[1] + 1)
        for a in range(0, len(W), chunk):
            w = W[a:a + chunk]
            power = np.exp(scipy.fft.idct(w, axis=1, type=2, norm="ortho") / db)
            snr = rng.uniform(*self.noise_snr, size=len(w))
            colour = bands[None, :] ** -rng.uniform(0, 2, size=(len(w), 1))
            colour /= colour.mean(axis=1, keepdims=True)
            level = power.mean(axis=(1, 2)) / 10 ** (snr / 10)
            power += (level[:, None] * colour)[:, :, None].astype(power.dtype)
            w[:] = scipy.fft.dct(np.log(power) * db, axis=1, type=2, norm="ortho")

    def _starts(self, n):
        """First frame of every window of an ``n``-frame recording (the last one ends at n)."""
        if n <= self.frames:
            return np.array([0])
        starts = np.arange(0, n - self.frames + 1, self.hop)
        return starts if starts[-1] == n - self.frames else np.r_[starts, n - self.frames]

    def _window(self, M, start):
        if M.shape[1] < self.frames:  # repeat a short recording to one window
            M = np.tile(M, (1, -(-self.frames // M.shape[1])))
        return M[:, start:start + self.frames]

    def _cut(self, mats, *, rng=None):
        """Every window of every recording (at most ``per_recording`` each, drawn with ``rng``)
        as one array (float32 for a network, float64 for anything else), and the recording
        each window comes from."""
        chosen = []
        for M in mats:
            starts = self._starts(M.shape[1])
            if rng is not None and self.per_recording is not None \
                    and len(starts) > self.per_recording:
                starts = np.sort(rng.choice(starts, self.per_recording, replace=False))
            chosen.append(starts)
        rows = np.repeat(np.arange(len(mats)), [len(s) for s in chosen])
        dtype = np.float32 if self._three_d(self.estimator_) else np.float64
        W = np.empty((len(rows), mats[0].shape[0], self.frames), dtype)  # no float64 copy
        k = 0
        for M, starts in zip(mats, chosen):
            for s in starts:
                W[k] = self._window(M, s)
                k += 1
        return W, rows

    def _three_d(self, est):
        return est.__sklearn_tags__().input_tags.three_d_array

    def _as_input(self, W):
        return W if self._three_d(self.estimator_) else W.reshape(len(W), -1)

    def _matrices(self, X, *, reset):
        if isinstance(X, (list, tuple)) and len(X) and np.ndim(X[0]) == 1:
            X = np.asarray(X)  # rows of a table, not matrices: one frame per recording
        mats, _ = _as_sequences(X)
        if reset:
            self.n_features_in_ = mats[0].shape[0]
        elif mats[0].shape[0] != self.n_features_in_:
            raise ValueError(f"X has {mats[0].shape[0]} features, but WindowClassifier is "
                             f"expecting {self.n_features_in_} features as input")
        return mats

    def fit(self, X, y, groups=None, sample_weight=None):
        """Cut the training recordings into windows and fit the estimator on them.

        Parameters
        ----------
        X : Sequences, or array of shape (n, n_features, n_frames) or (n, n_features)
            One ``(n_features, n_frames)`` matrix per recording (a 2-D array is
            one frame per recording).
        y : array-like of shape (n,)
        groups : array-like of shape (n,), optional
            Patient, sitting or database of each recording.
        sample_weight : array-like of shape (n,), optional
            Weight of each recording, shared among its windows. Needs an
            estimator whose ``fit`` takes ``sample_weight``.

        Returns
        -------
        self
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import _check_sample_weight, column_or_1d, has_fit_parameter

        self._validate_params()
        mats = self._matrices(X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != len(mats):
            raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                             f"{len(mats)} recordings, {len(y)} labels")
        check_classification_targets(y)
        if len(np.unique(y)) < 2:
            raise ValueError("WindowClassifier needs samples of at least 2 classes in the data, "
                             "but the data contains only one class")
        groups = np.arange(len(mats)) if groups is None else np.asarray(groups)
        if len(groups) != len(mats):
            raise ValueError(f"groups has {len(groups)} entries for {len(mats)} recordings")
        self.estimator_ = (LogisticRegression(max_iter=1000) if self.estimator is None
                           else clone(self.estimator))
        takes_weights = has_fit_parameter(self.estimator_, "sample_weight")
        if sample_weight is not None and not takes_weights:
            raise ValueError(f"sample_weight was given, but {type(self.estimator_).__name__}.fit "
                             "does not take sample_weight")
        rng = check_random_state(self.random_state)
        W, rows = self._cut(mats, rng=rng)
        if self.noise_snr is not None:
            self._add_noise(W, rng)
        if self.eq > 0:
            k = min(self.eq_order, W.shape[1])
            sd = W[:, :k].std(axis=(0, 2))
            W[:, :k] += (rng.standard_normal((len(W), k)) * self.eq * sd)[:, :, None]
        kwargs = {"groups": groups[rows]} if has_fit_parameter(self.estimator_, "groups") else {}
        if takes_weights:  # each recording weighs one (or its own weight), however long it is
            per = _check_sample_weight(sample_weight, np.empty((len(mats), 1)))
            kwargs["sample_weight"] = per[rows] / np.bincount(rows)[rows]
        self.estimator_.fit(self._as_input(W), y[rows], **kwargs)
        self.classes_ = self.estimator_.classes_
        self.n_windows_ = len(W)
        return self

    def predict_proba(self, X):
        """Per recording: the normalised geometric mean of its windows' probabilities."""
        check_is_fitted(self, "estimator_")
        mats = self._matrices(X, reset=False)
        W, rows = self._cut(mats)
        logp = np.log(np.clip(self.estimator_.predict_proba(self._as_input(W)), 1e-12, None))
        mean = np.zeros((len(mats), logp.shape[1]))
        np.add.at(mean, rows, logp)
        mean /= np.bincount(rows, minlength=len(mats))[:, None]
        p = np.exp(mean - mean.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The class of the largest averaged probability."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
