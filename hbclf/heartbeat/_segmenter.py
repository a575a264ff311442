"""Learning the segmenter's emission model: which heart-cycle state each frame looks like."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, clone

from ._emission import (
    DEFAULT_PATH,
    STATES,
    _design,
    log_emission,
    read_model,
    state_labels,
    write_model,
)
from ._envelopes import frame_envelopes
from ._hsmm import N_STATES

__all__ = ["Segmenter", "annotated_recordings", "default_segmenter", "train_default_segmenter"]

class Segmenter(BaseEstimator):
    """Learned emission model of the heart-cycle segmenter (Springer et al. 2016's approach).

    A multinomial logistic regression and a small perceptron predict, from
    each frame's envelopes (:func:`frame_envelopes`) and those of its
    neighbours, which of the four states (S1, systole, S2, diastole) the frame
    is in; their posteriors are averaged and, divided by the states'
    frequencies, become the emission likelihoods of the hidden semi-Markov
    model that :func:`detect` decodes. The logistic regression alone confuses
    the states at children's rates, where the decoder may then prefer half the
    rate; the perceptron sees the envelopes' shapes non-linearly (on set A's
    faster versions, leave-one-recording-out: rate within 10 % in 90.8 % of
    them against 87.5 %, set A itself as good or better).

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength of the logistic regression.
    context : tuple of int, default=(-4, -2, 0, 2, 4)
        Frame offsets (20 ms each) whose envelopes describe a frame.
    speedups : tuple of float, default=(1.0, 1.5, 2.0)
        Each recording is also learned played this many times faster (its
        rate declared higher, its annotations scaled): faster hearts with
        shorter, higher-pitched sounds, as in children. Without it a model
        trained on adults at 52-128 bpm decodes 190-220 bpm at half rate.
    child_rates : tuple of float, default=()
        Each recording is also learned at these heart rates (bpm) as
        :func:`faster_heart` makes them with ``child=True``: systole and
        diastole shortened, the sounds as they are (rates below the
        recording's own are skipped).
    hidden_units : int or None, default=32
        ReLU units of the perceptron whose posteriors are averaged with the
        logistic regression's (scikit-learn's ``MLPClassifier``: Adam, 50
        epochs, ``alpha`` 1e-3); None for the logistic regression alone.
    random_state : int, default=0
        Seeds the perceptron.
    estimator : classifier, optional
        Another scikit-learn classifier with ``predict_proba`` to learn the
        states alone (a clone is fitted; ``C`` and ``hidden_units`` are then
        unused). Such a segmenter works in :func:`detect` but is not saved as
        numbers (:meth:`save` is for the built-in models only).

    Attributes
    ----------
    coef_ : ndarray of shape (4, n_features)
        The logistic regression's (absent with ``estimator``).
    intercept_ : ndarray of shape (4,)
    hidden_ : tuple or None
        The perceptron's ``(weights, biases)``, two arrays each (None without
        one; absent with ``estimator``).
    estimator_ : classifier
        The fitted ``estimator`` (only with one).
    class_prior_ : ndarray of shape (4,)
        Share of training frames in each state.
    n_recordings_ : int
        Recordings it was trained on.

    Examples
    --------
    >>> import numpy as np
    >>> from hbclf.heartbeat import Segmenter, synthetic_pcg
    >>> data = [synthetic_pcg(heart_rate=hr, sr=4000, seed=hr) for hr in (60, 75, 90)]
    >>> seg = Segmenter().fit([(y, 4000) for y, _ in data], [truth for _, truth in data])
    >>> seg.log_emission(np.zeros((5, 5))).shape
    (5, 4)
    """

    def __init__(self, *, C=1.0, context=(-4, -2, 0, 2, 4), speedups=(1.0, 1.5, 2.0),
                 child_rates=(), hidden_units=32, random_state=0, estimator=None):
        self.C = C
        self.context = context
        self.speedups = speedups
        self.child_rates = child_rates
        self.hidden_units = hidden_units
        self.random_state = random_state
        self.estimator = estimator

    def fit(self, X, y):
        """Learn the emission model from annotated recordings.

        Parameters
        ----------
        X : list of (waveform, sr) tuples or paths
            The recordings (a path is read at its own rate).
        y : list of dict
            Per recording, ``{"s1": times, "s2": times}`` in seconds.

        Returns
        -------
        self
        """
        from sklearn.linear_model import LogisticRegression

        X, y = list(X), list(y)
        if len(X) != len(y) or not X:
            raise ValueError(f"need one annotation per recording, got {len(X)} recordings "
                             f"and {len(y)} annotations")
        rows, targets = [], []
        for item, ann in zip(X, y):
            wave, sr = _waveform(item)
            for speed in self.speedups:  # played faster: a faster heart, shorter and higher sounds
                self._learn(rows, targets, wave, sr * speed,
                            {k: np.asarray(ann[k]) / speed for k in ("s1", "s2")})
            for rate in self.child_rates:  # a child's rate, the sounds as they are
                fast = _faster(wave, sr, ann, rate)
                if fast is not None:
                    self._learn(rows, targets, *fast)
        rows, targets = np.vstack(rows), np.concatenate(targets)
        missing = sorted(set(range(N_STATES)) - set(targets.tolist()))
        if missing:
            raise ValueError(f"the annotations cover no frame of state(s) "
                             f"{[STATES[i] for i in missing]}")
        if self.estimator is None:
            lr = LogisticRegression(C=self.C, max_iter=2000).fit(rows, targets)
            self.coef_, self.intercept_ = lr.coef_, lr.intercept_
            self.hidden_ = None if self.hidden_units is None else self._perceptron(rows, targets)
        else:
            self.estimator_ = clone(self.estimator).fit(rows, targets)
            if list(self.estimator_.classes_) != list(range(N_STATES)):
                raise ValueError(f"estimator learned classes {list(self.estimator_.classes_)}, "
                                 f"expected the states {list(range(N_STATES))}")
        self.class_prior_ = np.bincount(targets, minlength=N_STATES) / len(targets)
        self.n_recordings_ = len(X)
        return self

    def _perceptron(self, rows, targets):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        mlp = MLPClassifier(hidden_layer_sizes=(int(self.hidden_units),), alpha=1e-3,
                            max_iter=50, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 50 epochs, on purpose
            mlp.fit(rows, targets)
        return list(mlp.coefs_), list(mlp.intercepts_)

    def _learn(self, rows, targets, wave, sr, ann):
        env = frame_envelopes(wave, sr)
        labels = state_labels(len(env), np.asarray(ann["s1"]), np.asarray(ann["s2"]))
        keep = labels >= 0
        rows.append(_design(env, self.context)[keep])
        targets.append(labels[keep])

    def log_emission(self, env):
        """Log-likelihood (up to a per-frame constant) of each frame under each state.

        Parameters
        ----------
        env : ndarray of shape (n_frames, 5)
            From :func:`frame_envelopes`.

        Returns
        -------
        ndarray of shape (n_frames, 4)
        """
        if self.estimator is not None:
            proba = self.estimator_.predict_proba(_design(env, self.context))
            return np.log(np.maximum(proba, 1e-300)) - np.log(self.class_prior_)
        return log_emission(env, self.coef_, self.intercept_, self.class_prior_, self.context,
                            self.hidden_)

    def save(self, path):
        """Write the model as JSON (numbers only: safe to share and to load)."""
        if self.estimator is not None:
            raise ValueError("only the built-in emission models are saved as numbers; keep "
                             "a segmenter with another estimator in memory")
        write_model(path, {"C": self.C, "context": list(self.context),
                           "speedups": list(self.speedups),
                           "child_rates": list(self.child_rates),
                           "hidden_units": self.hidden_units,
                           "random_state": self.random_state},
                    self.coef_, self.intercept_, self.class_prior_, self.n_recordings_,
                    self.hidden_)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`."""
        doc = read_model(path)
        params = doc["params"]
        seg = cls(C=params["C"], context=tuple(params["context"]),
                  speedups=tuple(params["speedups"]),
                  child_rates=tuple(params.get("child_rates", ())),
                  hidden_units=params.get("hidden_units"),
                  random_state=params.get("random_state", 0))
        seg.coef_, seg.intercept_, seg.hidden_ = doc["coef"], doc["intercept"], doc["hidden"]
        seg.class_prior_ = doc["class_prior"]
        seg.n_recordings_ = int(doc["n_recordings"])
        return seg


def _faster(wave, sr, ann, rate):
    """The child-like version at ``rate`` (:func:`faster_heart`), or None where the recording's
    own rate is higher or it has no complete annotated cycle."""
    from ._variants import faster_heart

    try:
        fast, truth = faster_heart(wave, sr, ann, heart_rate=rate, child=True)
    except ValueError:
        return None
    return fast, sr, truth


def _waveform(item):
    if isinstance(item, tuple):
        return np.asarray(item[0], dtype=np.float64), int(item[1])
    from ..io import load_audio

    y, sr = load_audio(item, sr=None)
    return y.astype(np.float64), sr


def annotated_recordings(*, data_home=None):
    """The 21 annotated set A recordings, ``(recordings, annotations, ids)`` to fit a Segmenter.

    ``recordings`` are ``(waveform, sr)`` tuples at the copy's own rate (the
    originals' 44.1 kHz, or 4 kHz for the embedded copy, which trained the shipped model),
    ``annotations`` ``{"s1": times, "s2": times}`` dicts (s), ``ids`` the
    recording ids; ``data_home`` as in :func:`hbclf.datasets.load_pascal_timing`.
    """
    from ..datasets import load_pascal_timing

    timing = load_pascal_timing(data_home=data_home)
    recordings, annotations, ids = [], [], []
    for filename, g in timing.groupby("filename", sort=False):
        recordings.append(_waveform(filename))
        annotations.append({k: g.loc[g["sound"] == k.upper(), "time"].to_numpy()
                            for k in ("s1", "s2")})
        ids.append(str(g["id"].iloc[0]))
    return recordings, annotations, ids


def train_default_segmenter(*, data_home=None):
    """The shipped segmenter, trained again: a default :class:`Segmenter` on all 21 recordings.

    ``train_default_segmenter().save("hbclf/pretrained/segmenter.json")``
    regenerates the shipped file (a test checks that it does).
    """
    recordings, annotations, _ = annotated_recordings(data_home=data_home)
    return Segmenter().fit(recordings, annotations)


@lru_cache(maxsize=1)
def default_segmenter():
    """The shipped :class:`Segmenter` (trained on the 21 annotated set A recordings)."""
    return Segmenter.load(DEFAULT_PATH)


Segmenter.__module__ = "hbclf.heartbeat"
