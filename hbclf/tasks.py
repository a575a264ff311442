"""Benchmark tasks: data, labels, groups, origin, protocols and scores in one place.

A task says what is predicted from which recordings, how recordings are
grouped so that nothing leaks across a split, where each recording came from
(its *origin*: PASCAL set, PhysioNet database), under which protocols it is
evaluated and how a prediction is scored. The harness
(``python -m benchmarks.run``), :func:`hbclf.model_files.train`, ``hbclf info`` and
``hbclf train`` all read tasks from here.

>>> from hbclf import tasks
>>> tasks.names()
['a', 'b', 'binary', 'all', 'physionet', 'heart']
>>> t = tasks.get("b")
>>> d = t.load()
>>> len(d.filenames), sorted(map(str, set(d.y))), t.protocols(cv=5)
(461, ['extrastole', 'murmur', 'normal'], ['grouped-5-fold'])

Protocols:

* ``grouped-<k>-fold``: ``StratifiedGroupKFold`` (shuffled, seeded) on the
  task's groups: PASCAL set A sittings, set B patients, PhysioNet blocks of
  consecutive record numbers. No group is on both sides of a split.
* ``lodo`` (leave-one-database-out): train on the other databases, test on
  one; the only protocol that tells how a model does on a database (device,
  site, population) it has never seen. In ``heart`` PASCAL sets A and B are
  two more databases beside PhysioNet's five.
* ``lodo-augmented``: the same folds, each training recording joined by a
  device-augmented copy of itself (:mod:`hbclf.augment`) in its own group and
  database; test recordings are never augmented. Asked for with
  ``Task.protocols(augmented=True)`` on a task whose ``augment`` is set
  (``heart``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Task", "get", "names", "make_folds", "score", "score_by_origin", "evaluate_fold",
           "fit_params", "LODO", "LODO_AUGMENTED", "ABNORMAL_KIND", "abnormal_kind"]

LODO = "lodo"
LODO_AUGMENTED = "lodo-augmented"

#: What most abnormal recordings of each origin are (Liu et al. 2016 for PhysioNet 2016; the
#: PASCAL sets' abnormal classes are murmurs, extra sounds and extrasystoles). Valve disease
#: makes murmurs; coronary artery disease mostly does not.
ABNORMAL_KIND = {
    "set A": "valve disease",
    "set B": "valve disease",
    "training-a": "valve disease",
    "training-b": "coronary artery disease",
    "training-c": "valve disease",
    "training-d": "valve disease",
    "training-e": "coronary artery disease",
    "training-f": "not stated",
}


def abnormal_kind(origin):
    """What most abnormal recordings of an origin (PASCAL set, PhysioNet database) are.

    >>> abnormal_kind("training-e")
    'coronary artery disease'
    >>> abnormal_kind("somewhere else")
    'not stated'
    """
    return ABNORMAL_KIND.get(str(origin), "not stated")


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    Attributes
    ----------
    name : str
        Short name (``"a"``, ``"physionet"``, ...).
    title : str
        One line for tables.
    dataset : {"pascal", "physionet", "both"}
        ``"both"``: PASCAL sets A and B (normal vs abnormal, no artifact) and
        PhysioNet 2016.
    subset : str
        PASCAL subset (``"a"``, ``"b"``, ``"all"``); unused for PhysioNet.
    binary : bool
        Normal vs abnormal (artifact recordings left out).
    kfold : int or None
        Fixed number of grouped folds (PhysioNet: 10); None takes the
        harness's ``--cv``.
    lodo : bool
        Also evaluated leave-one-database-out.
    metrics : tuple of str
        Task-specific columns of the result tables, after the common ones.
    networks : bool, default=True
        Whether the harness runs the Keras networks on its grouped folds
        (``heart``: no, they would double the main job's time on 3671
        recordings and 17 folds). The harness never runs them under ``lodo``,
        where they were at or below chance on PhysioNet 2016.
    augment : bool, default=False
        Whether it is also evaluated under ``lodo-augmented`` (``heart``: every
        model with and without device augmentation on a database never seen).
    """

    name: str
    title: str
    dataset: str
    subset: str = "all"
    binary: bool = False
    kfold: int | None = None
    lodo: bool = False
    metrics: tuple = ()
    networks: bool = True
    augment: bool = False

    @property
    def needs_physionet(self):
        """Whether :meth:`load` reads the PhysioNet 2016 copy."""
        return self.dataset in ("physionet", "both")

    @property
    def origin_metrics(self):
        """The scores reported per PASCAL set or PhysioNet database."""
        return (("macc", "sensitivity", "specificity", "roc_auc") if self.binary
                else ("balanced_accuracy", "macro_f1"))

    def protocols(self, *, cv=None, augmented=False):
        """Protocol names, e.g. ``["grouped-10-fold", "lodo"]``.

        ``cv`` overrides the number of grouped folds (default: the task's
        ``kfold``, else 5); ``augmented`` adds ``"lodo-augmented"`` to a task
        that is evaluated under it (:attr:`augment`).
        """
        out = [f"grouped-{cv or self.kfold or 5}-fold"]
        out += [LODO] if self.lodo else []
        return out + [LODO_AUGMENTED] if augmented and self.augment else out

    def load(self, *, data_home=None, physionet_home=None):
        """The task's recordings.

        Parameters
        ----------
        data_home : path-like, optional
            A full PASCAL copy (default: the embedded one).
        physionet_home : path-like, optional
            The PhysioNet 2016 folder (required for ``physionet`` and ``heart``).

        Returns
        -------
        Bunch
            ``filenames``, ``y`` (string labels), ``groups``, ``origin``
            (PASCAL set or PhysioNet database of each recording), ``sr``.
        """
        from sklearn.utils import Bunch

        from .datasets import load_pascal, load_physionet2016

        if self.dataset == "both":  # PASCAL first, then PhysioNet; group names kept apart
            parts = [get("binary").load(data_home=data_home),
                     get("physionet").load(physionet_home=physionet_home)]
            return Bunch(**{key: np.concatenate([p[key] for p in parts])
                            for key in ("filenames", "y", "origin")},
                         groups=np.concatenate([[f"{tag}:{g}" for g in p.groups] for tag, p
                                                in zip(("pascal", "physionet"), parts)]),
                         sr=parts[0].sr)
        if self.dataset == "physionet":
            d = load_physionet2016(physionet_home)
            return Bunch(filenames=d.filenames, y=d.label.astype(str), groups=d.groups,
                         origin=d.database.astype(str), sr=d.sr)
        d = load_pascal(self.subset, data_home=data_home)
        files, y, groups = d.filenames, d.label.astype(str), d.groups
        origin = np.array([f"set {s.upper()}" for s in d.set])
        if self.binary:
            keep = y != "artifact"
            files, y, groups, origin = files[keep], y[keep], groups[keep], origin[keep]
            y = np.where(y == "normal", "normal", "abnormal")
        return Bunch(filenames=files, y=y, groups=groups, origin=origin, sr=d.sr)


_TASKS = {
    t.name: t for t in (
        Task("a", "PASCAL set A (4 classes), sittings grouped", "pascal", subset="a",
             metrics=("total_precision", "heart_problem_f", "artifact_youden")),
        Task("b", "PASCAL set B (3 classes), patients grouped", "pascal", subset="b",
             metrics=("total_precision", "youden", "recall_extrastole")),
        Task("binary", "PASCAL A + B pooled, normal vs abnormal (no artifact)", "pascal",
             binary=True, metrics=("sensitivity", "specificity", "macc", "roc_auc")),
        Task("all", "PASCAL A + B pooled, 5 classes", "pascal",
             metrics=("recall_artifact", "recall_extrahls", "recall_extrastole",
                      "recall_murmur", "recall_normal")),
        Task("physionet", "PhysioNet/CinC 2016, normal vs abnormal", "physionet", binary=True,
             kfold=10, lodo=True, metrics=("sensitivity", "specificity", "macc", "roc_auc")),
        Task("heart", "PASCAL A + B and PhysioNet 2016, normal vs abnormal (the shipped "
             "model's task)", "both", binary=True, kfold=10, lodo=True, networks=False,
             augment=True,
             metrics=("sensitivity", "specificity", "macc", "roc_auc")),
    )
}


def names():
    """Task names."""
    return list(_TASKS)


def get(name):
    """The :class:`Task` called ``name``."""
    try:
        return _TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose from {', '.join(_TASKS)}") from None


def make_folds(protocol, y, groups, origin, *, seed=0):
    """Test-fold index of every recording under a protocol.

    Parameters
    ----------
    protocol : str
        ``"grouped-<k>-fold"``, ``"lodo"`` or ``"lodo-augmented"`` (the folds of
        ``"lodo"``; the copies take their sources' folds).
    y, groups, origin : array-like
        Labels, groups and origins of the recordings.
    seed : int, default=0
        Shuffling of the grouped folds.

    Returns
    -------
    fold : ndarray of int
        Fold of each recording.
    fold_names : list of str
        ``"fold0"``, ... or, for ``lodo``, the held-out database of each fold.

    Examples
    --------
    >>> fold, names = make_folds("lodo", ["n", "a", "n"], [1, 2, 3], ["db1", "db2", "db1"])
    >>> fold.tolist(), names
    ([0, 1, 0], ['db1', 'db2'])
    """
    from sklearn.model_selection import StratifiedGroupKFold

    y, groups, origin = np.asarray(y), np.asarray(groups), np.asarray(origin)
    if protocol in (LODO, LODO_AUGMENTED):
        names = sorted({str(o) for o in origin})
        return np.array([names.index(str(o)) for o in origin]), names
    if not (protocol.startswith("grouped-") and protocol.endswith("-fold")):
        raise ValueError(f"unknown protocol {protocol!r}")
    k = int(protocol.split("-")[1])
    fold = np.empty(len(y), dtype=int)
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
        fold[test] = i
    return fold, [f"fold{i}" for i in range(k)]


def score(task, y_true, y_pred, class_scores=None, classes=None):
    """Every score of a task from string labels (see :func:`hbclf.metrics.score_task`)."""
    from .metrics import score_task

    kind = "binary" if get(task).binary else task
    return score_task(kind, y_true, y_pred, class_scores, classes)


def score_by_origin(task, y_true, y_pred, class_scores, classes, origin, *, novel=None):
    """Every score of each origin's recordings: ``{origin: {"n": count, **scores}}``, sorted.

    ``novel`` (1.0, 0.0 or NaN per recording: beyond the fold's novelty gate,
    within it, no gate) adds ``"uncertain"``, the share of an origin's
    recordings beyond the gate, to every origin that has a gate.

    Examples
    --------
    >>> out = score_by_origin("binary", ["normal", "abnormal", "normal"],
    ...                       ["normal", "normal", "normal"], None, None, ["A", "B", "B"])
    >>> [str(o) for o in out], out["B"]["n"], out["B"]["sensitivity"]
    (['A', 'B'], 2, 0.0)
    """
    y_true, y_pred = np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)
    origin = np.asarray(origin)
    out = {}
    for o in sorted(set(origin)):
        sel = origin == o
        part = None if class_scores is None else np.asarray(class_scores)[sel]
        out[o] = {"n": int(sel.sum()),
                  **score(task, y_true[sel], y_pred[sel], part, classes)}
        if novel is not None and not np.isnan(np.asarray(novel, dtype=float)[sel]).all():
            out[o]["uncertain"] = float(np.nanmean(np.asarray(novel, dtype=float)[sel]))
    return out


def class_scores(est, X):
    """Class probabilities, or decision values for a model without them (SVC).

    Decision values rank recordings as well as probabilities do (ROC AUC).
    """
    if hasattr(est, "predict_proba"):
        return np.asarray(est.predict_proba(X))
    dec = np.asarray(est.decision_function(X))
    return np.c_[-dec, dec] if dec.ndim == 1 else dec


def fit_params(est, groups, domains=None):
    """What the final estimator's ``fit`` takes besides ``X`` and ``y``, addressed to its step.

    ``groups`` when it splits its training data itself (a network's
    early-stopping validation set, which then keeps groups whole);
    ``domains`` when it weights or splits by origin
    (:class:`~hbclf.domains.DomainBalancedClassifier`, or
    :class:`~hbclf.calibration.GroupedCalibration` around one).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from hbclf.domains import DomainBalancedClassifier
    >>> sorted(fit_params(make_pipeline(StandardScaler(), DomainBalancedClassifier()),
    ...                   [1, 2], ["set A", "set B"]))
    ['domainbalancedclassifier__domains']
    """
    from sklearn.utils.validation import has_fit_parameter

    name, last = (est.steps[-1] if hasattr(est, "steps") else (None, est))
    prefix = f"{name}__" if name else ""
    out = {}
    if has_fit_parameter(last, "groups"):
        out[prefix + "groups"] = groups
    if domains is not None and has_fit_parameter(last, "domains"):
        out[prefix + "domains"] = domains
    return out


def evaluate_fold(task, est, X, y, groups, train, test, *, grid=None, seed=0, domains=None):
    """Fit ``est`` on ``train``, predict ``test``: one fold of a protocol.

    Parameters
    ----------
    task : str
        Task name (for its scorer).
    est : estimator
        Unfitted; fitted here on the training rows only.
    X, y, groups : array-like
        Features (or file paths), string labels, groups of all recordings.
    train, test : ndarray of int
        Row indices.
    grid : dict, optional
        Parameter grid for a nested search: ``GridSearchCV`` on an inner
        grouped 3-fold split of the training rows (balanced accuracy). A
        final estimator whose ``fit`` takes ``groups`` (the networks' early
        stopping) gets the training rows' groups.
    seed : int, default=0
    domains : array-like, optional
        Origin (PASCAL set, PhysioNet database) of every recording, for a
        final estimator whose ``fit`` takes ``domains`` (:func:`fit_params`).

    Returns
    -------
    fitted : estimator
    record : dict
        ``pred``, ``classes``, ``class_scores``, ``scores``, the chosen
        ``params`` (empty without a grid) and ``novel``: for a model that
        reads a feature table, whether each test recording lies beyond the
        novelty gate fitted on the training rows
        (:func:`hbclf.novelty.fit_novelty`: the model would answer
        "uncertain"), else None.
    """
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    from .novelty import fit_novelty, gate_end, reads_features

    y, groups = np.asarray(y), np.asarray(groups)
    chosen = {}
    params = fit_params(est, groups[train],
                        None if domains is None else np.asarray(domains)[train])
    if grid:
        inner = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed)
        est = GridSearchCV(est, grid, cv=list(inner.split(train, y[train], groups[train])),
                           scoring="balanced_accuracy", refit=True)
        est.fit(X[train], y[train], **params)
        chosen = {key: repr(v) for key, v in est.best_params_.items()}
    else:
        est.fit(X[train], y[train], **params)
    pred = est.predict(X[test])
    classes = [str(c) for c in est.classes_]
    scores_ = class_scores(est, X[test])
    fitted, novel = getattr(est, "best_estimator_", est), None
    if reads_features(fitted, X):
        gate = fit_novelty(fitted, X[train], y[train], groups=groups[train], seed=seed,
                           domains=None if domains is None else np.asarray(domains)[train])
        novel = [bool(v) for v in gate.is_novel(fitted[:gate_end(fitted)].transform(X[test]))]
    return est, {
        "params": chosen,
        "novel": novel,
        "scores": {m: float(v) for m, v in score(task, y[test], pred, scores_, classes).items()},
        "pred": [str(p) for p in pred],
        "classes": classes,
        "class_scores": scores_,
    }
