"""Training that cannot profit from where a recording came from.

In pooled heart-sound data the share of abnormal recordings differs from one
database to the next (PhysioNet 2016: 71 % in training-a, 9 % in
training-e), so a classifier can score well by recognising the database
(its device, room, filtering) instead of the heart; on a database it has not
seen, that knowledge is worthless or worse (without it, leave-one-database-out
MAcc on training-e fell below chance). :class:`DomainBalancedClassifier` weights the training
recordings so that every (database, class) cell carries the same total
weight: in the weighted data every database is half normal, half abnormal,
and every database counts the same, so the database says nothing about the
label and the largest database does not set the decision alone.
:class:`DomainExpertsClassifier` goes one step further: one class-balanced
model per database, their probabilities averaged, so a recording is called
abnormal where the experts of several devices agree.

>>> import numpy as np
>>> from hbclf.domains import domain_balanced_weights
>>> domain_balanced_weights(["ab", "n", "n", "n"], ["a", "a", "a", "b"]).round(2).tolist()
[1.33, 0.67, 0.67, 1.33]
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["DomainBalancedClassifier", "DomainExpertsClassifier", "domain_balanced_weights"]


def domain_balanced_weights(y, domains=None):
    """Sample weights under which every (domain, class) cell weighs the same; mean 1.

    Parameters
    ----------
    y : array-like of shape (n,)
        Class of each recording.
    domains : array-like of shape (n,), optional
        Database (or device, site) of each recording; ``None``: one domain,
        and the weights only balance the classes.

    Returns
    -------
    ndarray of shape (n,)
        ``1 / count(domain, class)`` of each recording's cell, scaled to mean 1.
    """
    y = np.asarray(y)
    domains = np.zeros(len(y), dtype=int) if domains is None else _check_domains(domains, len(y))
    _, cell = np.unique(np.c_[domains.astype(str), y.astype(str)], axis=0, return_inverse=True)
    cell = cell.ravel()
    w = 1.0 / np.bincount(cell)[cell]
    return w * (len(w) / w.sum())


def _check_domains(domains, n):
    """``domains`` as an array, after checking it has one entry per recording."""
    domains = np.asarray(domains)
    if len(domains) != n:
        raise ValueError(f"domains has {len(domains)} entries for {n} recordings")
    return domains


def _estimator_has(attr):
    def check(self):
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self._base(), attr)
    return check


class _DomainMeta(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """What the two domain-aware classifiers share: the default estimator, input checks, tags."""

    _fitted_attr = "estimator_"

    def __init__(self, estimator=None):
        self.estimator = estimator

    def _base(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000) if self.estimator is None else self.estimator

    def _fitted_input(self, X):
        check_is_fitted(self, self._fitted_attr)
        return validate_data(self, X, reset=False, ensure_all_finite=not self._allow_nan())

    def _allow_nan(self):
        from sklearn.utils import get_tags

        return get_tags(self._base()).input_tags.allow_nan

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan()
        return tags


class DomainBalancedClassifier(_DomainMeta):
    """A classifier fitted with every (database, class) cell weighing the same.

    ``fit(X, y, domains=...)`` passes :func:`domain_balanced_weights` as
    ``sample_weight`` to a copy of ``estimator``; prediction is the
    estimator's own. The benchmark harness and ``hbclf train`` pass each
    recording's origin (PASCAL set, PhysioNet database) as ``domains``.
    Without ``domains`` it is class balancing (``class_weight="balanced"``).

    Parameters
    ----------
    estimator : classifier, default=None
        Takes ``sample_weight`` in ``fit``; give it no class weighting of its
        own (the cells already balance the classes). ``None``: logistic
        regression.

    Attributes
    ----------
    estimator_ : classifier
        The fitted copy.
    classes_ : ndarray
    domains_ : ndarray
        The domains seen in training.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 2)), np.repeat(["abnormal", "normal"], 30)
    >>> domains = np.repeat(["site 1", "site 2", "site 1"], 20)
    >>> clf = DomainBalancedClassifier(LogisticRegression()).fit(X, y, domains=domains)
    >>> clf.domains_.tolist(), clf.predict(X[:2]).shape
    (['site 1', 'site 2'], (2,))
    """

    def fit(self, X, y, domains=None):
        """Fit a copy of the estimator with domain-balanced sample weights.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
        y : array-like of shape (n,)
        domains : array-like of shape (n,), optional
            Database (or device, site) of each recording.

        Returns
        -------
        self
        """
        from sklearn.utils.multiclass import check_classification_targets

        X, y = validate_data(self, X, y, ensure_all_finite=not self._allow_nan())
        check_classification_targets(y)
        weights = domain_balanced_weights(y, domains)
        self.domains_ = np.unique(np.asarray(domains).astype(str)) if domains is not None \
            else np.array([], dtype=str)
        self.estimator_ = clone(self._base()).fit(X, y, sample_weight=weights)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        """The estimator's prediction."""
        X = self._fitted_input(X)  # first: it checks that estimator_ exists
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """The estimator's class probabilities, columns in ``classes_`` order."""
        X = self._fitted_input(X)  # first: it checks that estimator_ exists
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """The estimator's decision function."""
        X = self._fitted_input(X)  # first: it checks that estimator_ exists
        return self.estimator_.decision_function(X)


class DomainExpertsClassifier(_DomainMeta):
    """One classifier per database, their class probabilities averaged.

    ``fit(X, y, domains=...)`` fits a copy of ``estimator`` on each domain's
    recordings alone, its classes balanced (:func:`domain_balanced_weights`
    within the domain, as ``sample_weight``); ``predict_proba`` is the mean of
    the copies' probabilities, so every database has one equal vote and a
    recording is called abnormal where the experts of several devices agree,
    not where one device's colouring says so. A domain with a single class
    teaches no contrast and gets no expert (if no domain has two classes, one
    copy is fitted on everything, as without ``domains``). A class is averaged
    over the experts whose domain has it (an expert that never saw a class has
    no say on it), and where some expert lacks a class the averages are
    rescaled to sum to one. This is the uniform average of
    Mancini et al. (2018), "Best sources forward: domain generalization through
    source-specific nets", ICIP, who weight each source's model by the test
    sample's likeness to that source instead.

    Parameters
    ----------
    estimator : classifier, default=None
        Takes ``sample_weight`` in ``fit`` and has ``predict_proba``; give it
        no class weighting of its own. ``None``: logistic regression.

    Attributes
    ----------
    estimators_ : list of classifiers
        The fitted experts, in ``domains_`` order.
    domains_ : ndarray
        The domain of each expert (empty when one copy was fitted on everything).
    classes_ : ndarray
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 2)), np.tile(["abnormal", "normal"], 30)
    >>> domains = np.repeat(["site 1", "site 2", "site 3"], 20)
    >>> clf = DomainExpertsClassifier(LogisticRegression()).fit(X, y, domains=domains)
    >>> clf.domains_.tolist(), clf.predict_proba(X[:2]).shape
    (['site 1', 'site 2', 'site 3'], (2, 2))
    """

    _fitted_attr = "estimators_"

    def fit(self, X, y, domains=None):
        """Fit one class-balanced copy of the estimator per domain.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
        y : array-like of shape (n,)
        domains : array-like of shape (n,), optional
            Database (or device, site) of each recording; ``None``: one copy,
            class-balanced.

        Returns
        -------
        self
        """
        from sklearn.utils.multiclass import check_classification_targets

        if not hasattr(self._base(), "predict_proba"):
            raise TypeError(f"{type(self).__name__} averages probabilities: "
                            f"{type(self._base()).__name__} has no predict_proba")
        X, y = validate_data(self, X, y, ensure_all_finite=not self._allow_nan())
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        names = (np.array([], dtype=str) if domains is None
                 else _check_domains(domains, len(y)).astype(str))
        self.domains_ = np.array([d for d in np.unique(names)
                                  if len(np.unique(y[names == d])) > 1], dtype=str)
        parts = ([names == d for d in self.domains_] if len(self.domains_)
                 else [np.ones(len(y), dtype=bool)])
        self.estimators_ = [clone(self._base()).fit(X[s], y[s],
                                                    sample_weight=domain_balanced_weights(y[s]))
                            for s in parts]
        return self

    def predict_proba(self, X):
        """The experts' mean class probabilities, columns in ``classes_`` order.

        Each class's mean is over the experts that know it; where some expert
        lacks a class, the rows are rescaled to sum to one.
        """
        X = self._fitted_input(X)  # first: it checks that estimators_ exist
        proba = np.zeros((X.shape[0], len(self.classes_)))
        known = np.zeros(len(self.classes_))  # how many experts know each class
        for est in self.estimators_:
            cols = np.searchsorted(self.classes_, est.classes_)
            proba[:, cols] += est.predict_proba(X)
            known[cols] += 1
        proba = np.divide(proba, known, out=proba, where=known > 0)  # a class no expert knows: 0
        if (known == len(self.estimators_)).all():  # every expert knows every class
            return proba
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The class of highest mean probability."""
        proba = self.predict_proba(X)  # first: it checks that estimators_ exist
        return self.classes_[np.argmax(proba, axis=1)]
