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

__all__ = ["DomainBalancedClassifier", "domain_balanced_weights"]


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
    domains = np.zeros(len(y), dtype=int) if domains is None else np.asarray(domains)
    if len(domains) != len(y):
        raise ValueError(f"domains has {len(domains)} entries for {len(y)} recordings")
    _, cell = np.unique(np.c_[domains.astype(str), y.astype(str)], axis=0, return_inverse=True)
    cell = cell.ravel()
    w = 1.0 / np.bincount(cell)[cell]
    return w * (len(w) / w.sum())


def _estimator_has(attr):
    def check(self):
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self._base(), attr)
    return check


class DomainBalancedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
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

    def __init__(self, estimator=None):
        self.estimator = estimator

    def _base(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000) if self.estimator is None else self.estimator

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

    def _fitted_input(self, X):
        check_is_fitted(self, "estimator_")
        return validate_data(self, X, reset=False, ensure_all_finite=not self._allow_nan())

    def _allow_nan(self):
        from sklearn.utils import get_tags

        return get_tags(self._base()).input_tags.allow_nan

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan()
        return tags
