"""Scores for heart-sound classification, including the PASCAL CHSC2011 Challenge 2 measures.

The challenge's test labels are not public; these formulas are meant for
cross-validated predictions of the labelled recordings.

>>> import numpy as np
>>> y = np.array(["normal", "murmur", "extrastole", "normal"])
>>> round(challenge_b(y, y)["total_precision"], 3)
1.0
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    roc_auc_score,
)

__all__ = ["classification_scores", "challenge_a", "challenge_b", "binary_scores", "score_task"]


def classification_scores(y_true, y_pred):
    """Balanced accuracy, macro F1, accuracy and the recall of every true class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = {
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0),
        "accuracy": accuracy_score(y_true, y_pred),
    }
    for label in np.unique(y_true):
        out[f"recall_{label}"] = float(np.mean(y_pred[y_true == label] == label))
    return out


def _precision(y_true, y_pred, label):
    return precision_score(y_true == label, y_pred == label, zero_division=0)


def _se_sp(true_pos, pred_pos):
    true_pos, pred_pos = np.asarray(true_pos, bool), np.asarray(pred_pos, bool)
    se = (pred_pos & true_pos).sum() / max(true_pos.sum(), 1)
    sp = (~pred_pos & ~true_pos).sum() / max((~true_pos).sum(), 1)
    return float(se), float(sp)


def challenge_a(y_true, y_pred):
    """PASCAL CHSC2011 Challenge 2 measures for set A (labels as in the data).

    Precision per class; artifact sensitivity, specificity and Youden index;
    the "heart problem" F-score (beta^2 = 0.81) of murmur + extra sound
    against normal, over recordings labelled normal, murmur or extrahls; and
    total precision weighted by the challenge's test-set class sizes,
    (14 P_normal + 14 P_murmur + 8 P_extrahls + 16 P_artifact) / 52.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    p = {lab: _precision(y_true, y_pred, lab) for lab in ("normal", "murmur", "extrahls",
                                                           "artifact")}
    se, sp = _se_sp(y_true == "artifact", y_pred == "artifact")
    heart = np.isin(y_true, ["normal", "murmur", "extrahls"])
    problem = ("murmur", "extrahls")
    t, q = np.isin(y_true[heart], problem), np.isin(y_pred[heart], problem)
    prec = (t & q).sum() / max(q.sum(), 1)
    rec = (t & q).sum() / max(t.sum(), 1)
    b2 = 0.81
    f = (1 + b2) * prec * rec / (b2 * prec + rec) if prec + rec > 0 else 0.0
    return {
        **{f"precision_{k}": v for k, v in p.items()},
        "artifact_sensitivity": se,
        "artifact_specificity": sp,
        "artifact_youden": se + sp - 1,
        "heart_problem_f": float(f),
        "total_precision": (14 * p["normal"] + 14 * p["murmur"] + 8 * p["extrahls"]
                            + 16 * p["artifact"]) / 52,
    }


def challenge_b(y_true, y_pred):
    """PASCAL CHSC2011 Challenge 2 measures for set B.

    Precision per class; sensitivity and specificity of "problem" (murmur +
    extrasystole) against normal; Youden index; discriminant power
    DP = sqrt(3)/pi * (log10(Se/(1-Se)) + log10(Sp/(1-Sp))); total precision
    (136 P_normal + 39 P_murmur + 20 P_extrastole) / 195.

    DP is undefined (NaN here) when Se or Sp is exactly 0 or 1 (a model that
    never, or always, says "problem"): the challenge's formula as published,
    with no correction. On small folds that happens often, so compute it on
    pooled out-of-fold predictions (the harness does).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    p = {lab: _precision(y_true, y_pred, lab) for lab in ("normal", "murmur", "extrastole")}
    true_pos, pred_pos = y_true != "normal", y_pred != "normal"
    se, sp = _se_sp(true_pos, pred_pos)
    if 0 < se < 1 and 0 < sp < 1:
        dp = math.sqrt(3) / math.pi * (math.log10(se / (1 - se)) + math.log10(sp / (1 - sp)))
    else:
        dp = float("nan")
    return {
        **{f"precision_{k}": v for k, v in p.items()},
        "problem_sensitivity": se,
        "problem_specificity": sp,
        "youden": se + sp - 1,
        "discriminant_power": dp,
        "total_precision": (136 * p["normal"] + 39 * p["murmur"] + 20 * p["extrastole"]) / 195,
    }


def binary_scores(y_true, y_pred, proba_abnormal=None):
    """Normal vs abnormal: sensitivity, specificity, their mean (MAcc) and ROC AUC."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    se, sp = _se_sp(y_true == "abnormal", y_pred == "abnormal")
    out = {"sensitivity": se, "specificity": sp, "macc": (se + sp) / 2}
    if proba_abnormal is not None and len(set(y_true)) == 2:
        out["roc_auc"] = roc_auc_score(y_true == "abnormal", proba_abnormal)
    return out


def score_task(task, y_true, y_pred, proba=None, classes=None):
    """Every score of a benchmark task from string labels.

    Parameters
    ----------
    task : {"a", "b", "binary"}
    y_true, y_pred : array-like of str
    proba : ndarray of shape (n, n_classes), optional
        Class probabilities in the order of ``classes`` (binary ROC AUC).
    classes : array-like of str, optional
    """
    out = classification_scores(y_true, y_pred)
    if task == "a":
        out.update(challenge_a(y_true, y_pred))
    elif task == "b":
        out.update(challenge_b(y_true, y_pred))
    elif task == "binary":
        pa = None
        if proba is not None and classes is not None:
            pa = np.asarray(proba)[:, list(classes).index("abnormal")]
        out.update(binary_scores(y_true, y_pred, pa))
    return out
