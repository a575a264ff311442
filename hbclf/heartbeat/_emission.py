"""Emission model parameters without scikit-learn: what :func:`detect` needs at run time.

:class:`~hbclf.heartbeat.Segmenter` (which needs scikit-learn) learns them;
the segmenter itself only reads them, so ``hbclf segment`` never imports
scikit-learn (or pandas): memory and start-up stay small.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ._envelopes import ENV_RATE, ENVELOPES
from ._hsmm import S1_DURATION, S2_DURATION

__all__ = ["STATES", "state_labels"]

STATES = ("S1", "systole", "S2", "diastole")
#: The shipped model: :func:`~hbclf.heartbeat.train_default_segmenter` (21 annotated set A
#: recordings).
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "pretrained" / "segmenter.json"
FORMAT = "hbclf-segmenter/1"
# S2 follows S1 within this (s) in one annotated cycle; S1 follows S2 within this on to the next.
_MAX_SYSTOLE, _MAX_DIASTOLE = 0.6, 1.6


def _design(env, context):
    """Each frame's envelopes and those ``context`` frames away (edges repeated)."""
    n = len(env)
    pad = max(abs(c) for c in context)
    padded = np.pad(env, ((pad, pad), (0, 0)), mode="edge")
    return np.hstack([padded[pad + c: pad + c + n] for c in context])


def state_labels(n_frames, s1, s2):
    """Frame labels (0 S1, 1 systole, 2 S2, 3 diastole; -1 unknown) from annotated sound times.

    Each sound covers its mean duration centred on the annotation; systole
    lies between an S1 and the S2 that follows it within 0.6 s, diastole
    between an S2 and the S1 that follows within 1.6 s. Frames outside the
    annotated stretch, or in a skipped cycle, stay unknown.

    Examples
    --------
    >>> state_labels(24, [0.1], [0.4])  # 20 ms frames
    array([-1, -1,  0,  0,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  1,  1,  1,
            1,  2,  2,  2,  2, -1, -1])
    """
    labels = np.full(n_frames, -1, dtype=int)
    events = sorted([(float(t), 0) for t in s1] + [(float(t), 2) for t in s2])

    def frame(t):
        return int(np.clip(round(t * ENV_RATE), 0, n_frames))

    for (t, kind), (t_next, kind_next) in zip(events[:-1], events[1:]):
        gap = _MAX_SYSTOLE if kind == 0 else _MAX_DIASTOLE
        if kind_next != kind and t_next - t <= gap:
            half = (S1_DURATION if kind == 0 else S2_DURATION)[0] / 2
            half_next = (S1_DURATION if kind_next == 0 else S2_DURATION)[0] / 2
            labels[frame(t + half):frame(t_next - half_next)] = kind + 1
    for t, kind in events:
        half = (S1_DURATION if kind == 0 else S2_DURATION)[0] / 2
        labels[frame(t - half):frame(t + half)] = kind
    return labels



def log_emission(env, coef, intercept, class_prior, context, hidden=None):
    """Log-likelihood (up to a per-frame constant) of each frame under each state.

    The logistic regression's posteriors divided by the states' training
    frequencies (Springer et al. 2016's scaled likelihoods). With ``hidden``
    (a one-hidden-layer perceptron's ``(weights, biases)``, two of each: ReLU
    units, then softmax), the posteriors are the mean of the two models'.
    """
    from scipy.special import log_softmax, softmax

    X = _design(env, context)
    scores = X @ coef.T + intercept
    if hidden is None:
        return log_softmax(scores, axis=1) - np.log(class_prior)
    (w1, w2), (b1, b2) = hidden
    units = np.maximum(X @ w1 + b1, 0.0)
    proba = (softmax(scores, axis=1) + softmax(units @ w2 + b2, axis=1)) / 2
    return np.log(np.maximum(proba, 1e-300)) - np.log(class_prior)


def write_model(path, params, coef, intercept, class_prior, n_recordings, hidden=None):
    """Write emission parameters as JSON (numbers only: safe to share and to load)."""
    doc = {"format": FORMAT, "envelopes": list(ENVELOPES), "states": list(STATES),
           "params": params, "coef": coef.tolist(), "intercept": intercept.tolist(),
           "class_prior": class_prior.tolist(), "n_recordings": n_recordings}
    if hidden is not None:
        doc["hidden_weights"] = [w.tolist() for w in hidden[0]]
        doc["hidden_biases"] = [b.tolist() for b in hidden[1]]
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")


def read_model(path):
    """The JSON document written by :func:`write_model`, arrays as ndarrays (``hidden``: the
    perceptron's ``(weights, biases)``, or None)."""
    doc = json.loads(Path(path).read_text())
    if doc.get("format") != FORMAT or doc.get("envelopes") != list(ENVELOPES):
        raise ValueError(f"{path}: not a {FORMAT} file for these envelopes")
    for key in ("coef", "intercept", "class_prior"):
        doc[key] = np.array(doc[key], dtype=float)
    doc["hidden"] = None if "hidden_weights" not in doc else (
        [np.array(w, dtype=float) for w in doc.pop("hidden_weights")],
        [np.array(b, dtype=float) for b in doc.pop("hidden_biases")])
    return doc


class _Emission:
    """Read-only emission parameters (the run-time half of a Segmenter)."""

    def __init__(self, doc):
        self.coef_, self.intercept_ = doc["coef"], doc["intercept"]
        self.class_prior_ = doc["class_prior"]
        self.hidden_ = doc["hidden"]
        self.context = tuple(doc["params"]["context"])

    def log_emission(self, env):
        return log_emission(env, self.coef_, self.intercept_, self.class_prior_, self.context,
                            self.hidden_)


@lru_cache(maxsize=1)
def shipped_emission():
    """The shipped model's emission parameters (no scikit-learn needed)."""
    return _Emission(read_model(DEFAULT_PATH))
