"""Scoring detected heart-sound times against annotations."""

from __future__ import annotations

import numpy as np

__all__ = ["score_detection"]


def _match(pred, true, tol):
    """Greedy one-to-one matching of predicted to true times within ``tol``; (hits, errors)."""
    pred, true = np.sort(np.asarray(pred, float)), np.sort(np.asarray(true, float))
    used = np.zeros(len(pred), bool)
    errors = []
    for t in true:
        if len(pred) == 0:
            break
        cand = np.flatnonzero(~used & (np.abs(pred - t) <= tol))
        if len(cand):
            i = cand[np.argmin(np.abs(pred[cand] - t))]
            used[i] = True
            errors.append(abs(pred[i] - t))
    return len(errors), np.array(errors)


def score_detection(pred, true, *, tol=0.1, span=None):
    """Precision, recall, F1 and mean absolute error (ms) of detected sound times.

    Parameters
    ----------
    pred, true : array-like of float
        Detected and annotated times (s) of one kind of sound.
    tol : float, default=0.1
        A detection within ``tol`` s of an annotation (one-to-one) is a hit.
    span : tuple of float, optional
        Only detections inside ``(start, end)`` count (the annotated stretch
        of a recording; PASCAL annotates a contiguous run of cycles, not
        always the whole recording).

    Returns
    -------
    dict
        ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1``, ``mae_ms``.

    Examples
    --------
    >>> score_detection([1.0, 2.0], [1.02, 2.5], tol=0.1)["f1"]
    0.5
    """
    pred = np.asarray(pred, float)
    if span is not None:
        pred = pred[(pred >= span[0]) & (pred <= span[1])]
    tp, errors = _match(pred, true, tol)
    fp, fn = len(pred) - tp, len(true) - tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1,
            "mae_ms": float(errors.mean() * 1000) if len(errors) else float("nan")}
