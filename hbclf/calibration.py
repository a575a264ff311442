"""Probabilities calibrated on grouped folds, and how well calibrated they are.

scikit-learn's :class:`~sklearn.calibration.CalibratedClassifierCV` fits its
calibration maps on folds that split the training recordings at random: a
patient's or a sitting's recordings then sit on both sides, the classifier
has seen the calibration data's twins and the maps learn a confidence that
does not hold on a new patient. :class:`GroupedCalibration` takes the groups
in ``fit`` and calibrates on ``StratifiedGroupKFold`` folds instead; in a
Pipeline pass them as ``<step>__groups`` (the harness and
:func:`hbclf.model_files.train` do).

>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.RandomState(0)
>>> X, y = rng.normal(size=(60, 3)), np.array(["normal", "abnormal"] * 30)
>>> groups = np.repeat(np.arange(20), 3)  # three recordings per patient
>>> clf = GroupedCalibration(LogisticRegression(), n_splits=3).fit(X, y, groups=groups)
>>> clf.predict_proba(X).shape, [str(c) for c in clf.classes_]
((60, 2), ['abnormal', 'normal'])
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["GroupedCalibration", "GroupedThreshold", "UngroupedCalibrationWarning",
           "best_threshold", "is_probability", "reliability"]


class UngroupedCalibrationWarning(UserWarning):
    """:class:`GroupedCalibration` or :class:`GroupedThreshold` was fitted without groups: its
    folds may split a patient."""


class GroupedCalibration(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A classifier whose probabilities are calibrated on folds that keep groups whole.

    Parameters
    ----------
    estimator : classifier, default=None
        The classifier to calibrate (``None``: logistic regression).
    method : {"sigmoid", "isotonic"}, default="sigmoid"
        Platt scaling (few parameters: right for a few hundred recordings) or
        isotonic regression.
    n_splits : int, default=5
        Grouped folds: a copy of ``estimator`` fitted on the others predicts
        each fold, the calibration map is fitted on those out-of-fold
        predictions, and ``estimator`` itself is fitted on all the data
        (scikit-learn's ``ensemble=False``: one model to ship, not five).
    decision : {"balanced", "probable"}, default="balanced"
        How :meth:`predict` picks a class. Calibrated probabilities carry the
        training data's class frequencies, so their most probable class
        favours the frequent ones; ``"balanced"`` picks the largest
        probability divided by the class's training frequency, the rule that
        maximises balanced accuracy (the challenges' MAcc) when the
        probabilities are calibrated. ``"probable"``: the most probable
        class (maximises accuracy at the training frequencies).
    random_state : int, optional
        Shuffling of the folds.

    Attributes
    ----------
    calibrated_ : CalibratedClassifierCV
        Fitted on the grouped folds.
    class_prior_ : ndarray
        Frequency of each class in the training data (weighted, when the
        estimator balances databases: see ``fit``).
    classes_ : ndarray
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 3)) + np.repeat([[0.0], [1.0]], 40, axis=0)
    >>> y, groups = np.repeat(["normal", "abnormal"], 40), np.arange(80) // 2
    >>> clf = GroupedCalibration(random_state=0).fit(X, y, groups=groups)
    >>> clf.predict_proba(X[:2]).sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    """

    def __init__(self, estimator=None, *, method="sigmoid", n_splits=5, decision="balanced",
                 random_state=None):
        self.estimator = estimator
        self.method = method
        self.n_splits = n_splits
        self.decision = decision
        self.random_state = random_state

    def fit(self, X, y, groups=None, domains=None):
        """Learn the calibration map on grouped folds, then fit the estimator on all the data.

        Parameters
        ----------
        X : array-like of shape (n_recordings, n_features)
        y : array-like of shape (n_recordings,)
        groups : array-like of shape (n_recordings,), optional
            Patient, sitting or database of each recording; without it the
            folds are stratified only (as scikit-learn's), with an
            :class:`UngroupedCalibrationWarning`. Also handed to
            ``estimator.fit`` (sliced per fold) when it takes ``groups``
            (:class:`GroupedThreshold`, a nested :class:`GroupedCalibration`).
        domains : array-like of shape (n_recordings,), optional
            Origin of each recording, handed to ``estimator.fit`` (sliced per
            fold) when it takes ``domains``
            (:class:`~hbclf.domains.DomainBalancedClassifier`); the calibration
            map is then fitted with the same (database, class) weights, so the
            probabilities are those of a recording from a database as often
            abnormal as normal, and ``class_prior_`` is uniform. Unused otherwise.

        Returns
        -------
        self
        """
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import has_fit_parameter

        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if self.method not in ("sigmoid", "isotonic"):
            raise ValueError(f"method must be 'sigmoid' or 'isotonic', got {self.method!r}")
        if self.decision not in ("balanced", "probable"):
            raise ValueError(f"decision must be 'balanced' or 'probable', got {self.decision!r}")
        _, cls = np.unique(y, return_inverse=True)
        splits = _grouped_splits(X, y, groups, n_splits=self.n_splits,
                                 random_state=self.random_state, who="GroupedCalibration",
                                 what="calibrate")
        base = LogisticRegression() if self.estimator is None else clone(self.estimator)
        params, weight = {}, None
        if groups is not None and has_fit_parameter(base, "groups"):  # its own folds grouped too
            params["groups"] = np.asarray(groups)
        if domains is not None and has_fit_parameter(base, "domains"):
            from .domains import domain_balanced_weights

            params["domains"] = np.asarray(domains)
            # the calibration map learns under the estimator's own weighting: probabilities
            # of a recording from a database that is as often abnormal as normal
            weight = domain_balanced_weights(y, params["domains"])
        calibrated = CalibratedClassifierCV(base, method=self.method, cv=splits, ensemble=False)
        with warnings.catch_warnings():  # the weights are for the map: the estimator has its own
            warnings.filterwarnings("ignore", message=".*sample weights will only be used")
            self.calibrated_ = calibrated.fit(X, y, sample_weight=weight, **params)
        self.classes_ = self.calibrated_.classes_
        prior = np.bincount(cls, weights=weight)  # classes_ is np.unique(y)'s order
        self.class_prior_ = prior / prior.sum()
        return self

    def predict_proba(self, X):
        """Calibrated class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "calibrated_")
        X = validate_data(self, X, reset=False)
        return self.calibrated_.predict_proba(X)

    def predict(self, X):
        """The class chosen by ``decision`` from the calibrated probabilities."""
        return self.predict_from_proba(self.predict_proba(X))

    def predict_from_proba(self, proba):
        """The class :meth:`predict` chooses, from :meth:`predict_proba`'s output.

        For a caller that needs both: one pass through the estimator instead of two.
        """
        check_is_fitted(self, "calibrated_")
        proba = np.asarray(proba)
        if self.decision == "balanced":
            proba = proba / self.class_prior_
        return self.classes_[np.argmax(proba, axis=1)]


class GroupedThreshold(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A two-class classifier whose decision threshold is learned on folds that keep groups whole.

    A classifier's own decision (its most probable class) need not be the one
    that scores best on balanced accuracy, the challenges' MAcc: a boosted
    ensemble's probabilities, for one, crowd around one half. This meta-
    estimator fits copies of ``estimator`` on grouped folds of the training
    data, predicts each fold with the copy that did not see it, and keeps the
    threshold on the probability of ``classes_[1]`` at which those out-of-fold
    predictions have the highest balanced accuracy (among equals, the one
    nearest one half, the estimator's own). ``estimator`` itself is then
    fitted on all the data; its probabilities are passed on unchanged, only
    :meth:`predict` uses the threshold. The test data never set it: in a
    Pipeline pass the groups as ``<step>__groups`` (the harness does). With
    more than two classes there is no single threshold and :meth:`predict` is
    the estimator's most probable class.

    Parameters
    ----------
    estimator : classifier, default=None
        Has ``predict_proba``; ``None``: logistic regression.
    n_splits : int, default=3
        Grouped folds for the out-of-fold predictions.
    random_state : int, optional
        Shuffling of the folds.

    Attributes
    ----------
    estimator_ : classifier
        Fitted on all the training data.
    threshold_ : float or None
        Probability of ``classes_[1]`` above which it is predicted (None with
        more than two classes).
    classes_ : ndarray
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 3)) + np.repeat([[0.0], [1.0]], 40, axis=0)
    >>> y, groups = np.repeat(["abnormal", "normal"], 40), np.arange(80) // 2
    >>> clf = GroupedThreshold(random_state=0).fit(X, y, groups=groups)
    >>> bool(0 < clf.threshold_ < 1), clf.predict(X[:2]).shape
    (True, (2,))
    """

    def __init__(self, estimator=None, *, n_splits=3, random_state=None):
        self.estimator = estimator
        self.n_splits = n_splits
        self.random_state = random_state

    def fit(self, X, y, groups=None, domains=None):
        """Learn the threshold on grouped out-of-fold predictions, then fit the estimator.

        Parameters
        ----------
        X : array-like of shape (n_recordings, n_features)
        y : array-like of shape (n_recordings,)
        groups : array-like of shape (n_recordings,), optional
            Patient, sitting or database of each recording; without it the
            folds are stratified only, with an :class:`UngroupedCalibrationWarning`.
        domains : array-like of shape (n_recordings,), optional
            Origin of each recording, handed to ``estimator.fit`` (sliced per
            fold) when it takes ``domains``
            (:class:`~hbclf.domains.DomainBalancedClassifier`). Unused otherwise.

        Returns
        -------
        self
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import has_fit_parameter

        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        base = LogisticRegression() if self.estimator is None else self.estimator
        domains = (np.asarray(domains) if domains is not None
                   and has_fit_parameter(base, "domains") else None)

        def fitted(rows):
            params = {} if domains is None else {"domains": domains[rows]}
            return clone(base).fit(X[rows], y[rows], **params)

        classes = np.unique(y)
        self.threshold_ = None
        if len(classes) == 2:
            splits = _grouped_splits(X, y, groups, n_splits=self.n_splits,
                                     random_state=self.random_state, who="GroupedThreshold",
                                     what="learn a threshold")
            out_of_fold = np.empty(len(y))
            for train, test in splits:
                est = fitted(train)
                column = list(est.classes_).index(classes[1])
                out_of_fold[test] = est.predict_proba(X[test])[:, column]
            self.threshold_ = best_threshold(y == classes[1], out_of_fold)
        self.estimator_ = fitted(np.arange(len(y)))
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        """The estimator's class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """``classes_[1]`` where its probability exceeds ``threshold_``, else ``classes_[0]``."""
        proba = self.predict_proba(X)
        if self.threshold_ is None:
            return self.classes_[np.argmax(proba, axis=1)]
        return self.classes_[(proba[:, 1] > self.threshold_).astype(int)]


def best_threshold(positive, score):
    """The threshold on ``score`` with the highest balanced accuracy of ``score > threshold``.

    Candidates lie halfway between consecutive distinct scores (and beyond
    both ends); among equally good ones the nearest 0.5 is kept.

    Examples
    --------
    >>> best_threshold([False, False, True, True], [0.1, 0.4, 0.6, 0.9])
    0.5
    """
    positive, score = np.asarray(positive, dtype=bool), np.asarray(score, dtype=float)
    if positive.all() or not positive.any():
        raise ValueError("a threshold needs scores of both classes")
    values = np.unique(score)
    cuts = np.r_[values[0] - 1, (values[:-1] + values[1:]) / 2, values[-1] + 1]
    pos, neg = np.sort(score[positive]), np.sort(score[~positive])
    tpr = 1 - np.searchsorted(pos, cuts, side="right") / len(pos)
    tnr = np.searchsorted(neg, cuts, side="right") / len(neg)
    balanced = (tpr + tnr) / 2
    best = np.flatnonzero(balanced >= balanced.max() - 1e-12)
    return float(cuts[best[np.argmin(np.abs(cuts[best] - 0.5))]])


def _grouped_splits(X, y, groups, *, n_splits, random_state, who, what):
    """Stratified folds that keep ``groups`` whole (stratified only, with a warning, without)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    _, counts = np.unique(y, return_counts=True)
    n_splits = min(n_splits, int(counts.min()))
    if n_splits < 2:
        raise ValueError(f"every class needs at least 2 recordings to {what} on folds; "
                         f"one class has {int(counts.min())} sample(s)")
    if groups is None:
        warnings.warn(f"{who}.fit without groups: its folds are stratified only, so one "
                      "patient's or sitting's recordings can sit on both sides (pass groups=, "
                      "or <step>__groups= in a Pipeline)",
                      UngroupedCalibrationWarning, stacklevel=3)
        splits = StratifiedKFold(n_splits, shuffle=True, random_state=random_state).split(X, y)
    else:
        groups = np.asarray(groups)
        if len(groups) != len(y):
            raise ValueError(f"groups has {len(groups)} entries for {len(y)} recordings")
        n_splits = min(n_splits, len(set(groups)))
        cv = StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
        splits = cv.split(X, y, groups)
    splits = list(splits)
    if any(len(np.unique(y[tr])) < len(counts) for tr, _ in splits):
        raise ValueError(f"a grouped fold leaves a class out of its training part: too few "
                         f"groups of that class to {what} on folds")
    return splits


def is_probability(scores, *, atol=1e-3):
    """Whether every row of ``scores`` is a probability distribution (what :func:`reliability`
    needs): no negative entry, and each row sums to 1 within ``atol``.

    An SVM's decision values, or a network's unnormalised scores, are not.

    Examples
    --------
    >>> is_probability([[0.2, 0.8], [1.0, 0.0]]), is_probability([[-0.3, 0.3]])
    (True, False)
    """
    scores = np.asarray(scores, dtype=float)
    return bool(scores.size) and bool(scores.min() >= 0) and bool(
        np.allclose(scores.sum(axis=1), 1, atol=atol))


def reliability(y_true, proba, classes, *, bins=10):
    """Reliability of the top class: the curve of a reliability figure and its summary.

    The probabilities of the predicted (top) class are cut into ``bins``
    equal-width bins; in each, the mean confidence is set against the share of
    those predictions that are right. The expected calibration error (ECE) is
    the mean over recordings of ``|right - confidence|`` of their bin.

    Parameters
    ----------
    y_true : array-like of shape (n,)
    proba : array-like of shape (n, n_classes)
        Probabilities, columns in ``classes`` order.
    classes : sequence
    bins : int, default=10

    Returns
    -------
    confidence, right : ndarray
        Per non-empty bin.
    ece : float

    Examples
    --------
    >>> conf, right, ece = reliability(["a", "b"], [[0.9, 0.1], [0.4, 0.6]], ["a", "b"])
    >>> conf.tolist(), right.tolist(), round(ece, 2)
    ([0.6, 0.9], [1.0, 1.0], 0.25)
    """
    proba = np.asarray(proba, dtype=float)
    conf = proba.max(axis=1)
    right = (np.asarray(classes, dtype=str)[proba.argmax(axis=1)]
             == np.asarray(y_true, dtype=str))
    which = np.clip((conf * bins).astype(int), 0, bins - 1)
    used = np.unique(which)
    confidence = np.array([conf[which == b].mean() for b in used])
    share = np.array([right[which == b].mean() for b in used])
    weight = np.array([(which == b).mean() for b in used])
    return confidence, share, float(np.sum(weight * np.abs(confidence - share)))
