"""AdaBoost on decision stumps, each feature sorted once per fit.

Potes et al. (2016) boost one-split trees over their 124 state features.
scikit-learn's :class:`~sklearn.ensemble.AdaBoostClassifier` on
``DecisionTreeClassifier(max_depth=1)`` fits every stump as a new tree,
sorting every feature again each round: on 3,500 recordings of 124 features
that is 55 ms a stump, 17 s for 300 of them. :class:`StumpBoostClassifier`
is the same algorithm (discrete SAMME, Zhu et al. 2009, with scikit-learn's
weight clipping, stopping rules and probability formula) with the features
sorted once; a round is then a weighted cumulative sum along that order.

>>> import numpy as np
>>> from hbclf.boosting import StumpBoostClassifier
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> StumpBoostClassifier(n_estimators=5).fit(X, ["n", "n", "ab", "ab"]).predict([[0.5], [2.5]])
array(['n', 'ab'], dtype='<U2')

References
----------
Potes C, Parvaneh S, Rahman A, Conroy B. "Ensemble of feature-based and deep
learning-based classifiers for detection of abnormal heart sounds." Computing
in Cardiology 43 (2016).
Zhu J, Zou H, Rosset S, Hastie T. "Multi-class AdaBoost." Statistics and its
Interface 2 (2009).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

__all__ = ["StumpBoostClassifier"]

_TIE = 1e-7  # scikit-learn's trees: values closer than this are not split apart


def _majority(weights):
    """The leaf's class: the first of those whose weight ties the largest.

    Class-balanced weights make exact ties common on small sets (26 = 26); summed in
    another order than scikit-learn's tree sums them, one side of a tie can come out an
    ulp larger and the stump predicts the other class, so ties are read within rounding.
    """
    return int(np.flatnonzero(weights >= weights.max() * (1.0 - 1e-9))[0])


class _Stumps:
    """Best one-split trees of one training set under changing weights: the features sorted
    once, work arrays allocated once (a fresh 3 MB array per step cost more than the sums).

    The Gini criterion as scikit-learn's trees compute it: the split maximises
    ``sum_k L_k**2 / L + sum_k R_k**2 / R`` over the weighted class totals of
    the two sides; the threshold is the midpoint of the two values it falls
    between and ``x <= threshold`` goes left.
    """

    def __init__(self, X, yi, n_classes):
        order = np.argsort(X, axis=0, kind="stable").T  # (n_features, n): each row sorted
        self.order = np.ascontiguousarray(order)
        xs = np.take_along_axis(X.T, self.order, axis=1)
        self.xs = xs
        self.invalid = ~(xs[:, 1:] > xs[:, :-1] + _TIE)  # no split between (near-)equal values
        self.head = np.ascontiguousarray(self.order[:, :-1])  # left side ends at each position
        self.onehot = np.eye(n_classes)[yi]
        self.work = [np.empty(self.head.shape) for _ in range(6)]

    def best(self, w):
        """(feature, threshold, left class, right class) of the best stump under ``w``."""
        wy = self.onehot * w[:, None]
        total = wy.sum(axis=0)
        if np.count_nonzero(total) < 2 or self.invalid.all():  # pure, or no split: a leaf
            k = int(np.argmax(total))
            return 0, np.inf, k, k
        g, wl, wr, lc, others, proxy = self.work
        np.cumsum(np.take(w, self.head, out=g), axis=1, out=wl)  # weight left of each split
        np.subtract(total.sum(), wl, out=wr)
        proxy.fill(0.0)
        others.fill(0.0)
        for c in range(len(total)):
            if c < len(total) - 1:
                np.cumsum(np.take(wy[:, c], self.head, out=g), axis=1, out=lc)
                others += lc
            else:  # the last class: what the others leave of wl (one cumsum fewer)
                np.subtract(wl, others, out=lc)
            proxy += np.divide(np.square(lc, out=g), wl, out=g)
            np.subtract(total[c], lc, out=lc)
            proxy += np.divide(np.square(lc, out=g), wr, out=g)
        np.copyto(proxy, -np.inf, where=self.invalid)
        feature, pos = np.unravel_index(np.argmax(proxy), proxy.shape)
        lo, hi = self.xs[feature, pos], self.xs[feature, pos + 1]
        threshold = lo / 2.0 + hi / 2.0
        if threshold == hi or not np.isfinite(threshold):
            threshold = lo
        left = wy[self.order[feature, :pos + 1]].sum(axis=0)
        return int(feature), float(threshold), _majority(left), _majority(total - left)


class StumpBoostClassifier(ClassifierMixin, BaseEstimator):
    """Discrete AdaBoost (SAMME) on decision stumps.

    What scikit-learn's ``AdaBoostClassifier(DecisionTreeClassifier(max_depth=1))``
    computes, an order of magnitude faster on many features: the features are
    sorted once per fit, not once per stump. Ties go to the first: between
    equally good splits the first feature (scikit-learn draws the order at
    random), between classes of equal weight in a leaf the first class
    (scikit-learn's sums round one of them up), so on small, class-balanced
    sets the two can pick different, equally good stumps. Thresholds are
    midpoints in float64 (scikit-learn's trees work in float32).

    Parameters
    ----------
    n_estimators : int, default=50
        Most stumps; boosting stops early when a stump is perfect or no
        better than chance.
    learning_rate : float, default=1.0
        Shrinks each stump's weight.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    n_features_in_ : int
    feature_ : ndarray of shape (n_stumps,)
        Feature each stump splits.
    threshold_ : ndarray of shape (n_stumps,)
        Its threshold; ``x <= threshold`` goes left.
    left_, right_ : ndarray of shape (n_stumps,)
        Index into ``classes_`` of each side's vote.
    estimator_weights_, estimator_errors_ : ndarray of shape (n_stumps,)
        Each stump's weight in the vote and its weighted training error.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = np.where(X[:, 1] > 0.2, "abnormal", "normal")
    >>> clf = StumpBoostClassifier(n_estimators=10).fit(X, y)
    >>> int(clf.feature_[0]), clf.score(X, y)
    (1, 1.0)
    """

    def __init__(self, *, n_estimators=50, learning_rate=1.0):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate

    def fit(self, X, y, sample_weight=None):
        """Boost stumps on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
        y : array-like of shape (n,)
        sample_weight : array-like of shape (n,), optional
            Initial weights (normalised to sum 1); rows of weight 0 are left out.

        Returns
        -------
        self
        """
        from sklearn.utils.multiclass import check_classification_targets

        if not (isinstance(self.n_estimators, (int, np.integer)) and self.n_estimators >= 1):
            raise ValueError(f"n_estimators must be a positive integer, got {self.n_estimators!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, copy=True,
                                 ensure_non_negative=True)
        self.classes_, yi = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        if self.n_classes_ < 2:
            raise ValueError("needs at least 2 classes to boost; got one class, "
                             f"{self.classes_[0]!r}")
        keep = w > 0  # weight 0 stays 0 in AdaBoost: such rows never count
        if not keep.any():
            raise ValueError("every sample weight is zero")
        X, yi, w = X[keep], yi[keep], w[keep] / w[keep].sum()
        stumps_of = _Stumps(X, yi, self.n_classes_)
        k, eps = self.n_classes_, np.finfo(np.float64).eps
        stumps, weights, errors = [], [], []
        for it in range(self.n_estimators):
            w = np.clip(w, eps, None)
            stump = stumps_of.best(w)
            feature, threshold, left, right = stump
            wrong = np.where(X[:, feature] <= threshold, left, right) != yi
            error = np.average(wrong, weights=w)
            if error <= 0:  # perfect: it alone decides
                stumps.append(stump), weights.append(1.0), errors.append(0.0)
                break
            if error >= 1.0 - 1.0 / k:  # no better than chance: stop without it
                if not stumps:
                    raise ValueError("the first stump is no better than chance; nothing to boost")
                break
            alpha = self.learning_rate * (np.log((1.0 - error) / error) + np.log(k - 1.0))
            stumps.append(stump), weights.append(alpha), errors.append(error)
            if it == self.n_estimators - 1:
                break
            w = np.exp(np.log(w) + alpha * wrong)
            total = w.sum()
            if not np.isfinite(total):
                warnings.warn(f"sample weights overflowed at round {it}; boosting stopped "
                              "(lower the learning rate)", RuntimeWarning, stacklevel=2)
                break
            w /= total
        feature, threshold, left, right = (np.array(c) for c in zip(*stumps))
        self.feature_, self.threshold_ = feature.astype(np.intp), threshold.astype(np.float64)
        self.left_, self.right_ = left.astype(np.intp), right.astype(np.intp)
        self.estimator_weights_ = np.array(weights, dtype=np.float64)
        self.estimator_errors_ = np.array(errors, dtype=np.float64)
        return self

    def decision_function(self, X):
        """The stumps' weighted vote, as scikit-learn's AdaBoost computes it.

        Returns
        -------
        ndarray of shape (n,) for two classes (positive: ``classes_[1]``), else (n, n_classes)
        """
        check_is_fitted(self, "feature_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        votes = np.where(X[:, self.feature_] <= self.threshold_, self.left_, self.right_)
        k = self.n_classes_
        onehot = votes[:, :, None] == np.arange(k)  # (n, n_stumps, n_classes)
        score = np.where(onehot, 1.0, -1.0 / (k - 1)) * self.estimator_weights_[:, None]
        score = score.sum(axis=1) / self.estimator_weights_.sum()
        return score[:, 1] - score[:, 0] if k == 2 else score

    def predict_proba(self, X):
        """Class probabilities: the softmax of the vote divided by ``n_classes - 1``.

        Returns
        -------
        ndarray of shape (n, n_classes), columns in ``classes_`` order
        """
        from scipy.special import softmax

        d = self.decision_function(X)
        d = np.column_stack([-d, d]) / 2 if self.n_classes_ == 2 else d / (self.n_classes_ - 1)
        return softmax(d, axis=1)

    def predict(self, X):
        """The class with the largest vote."""
        d = self.decision_function(X)
        return self.classes_[(d > 0).astype(int) if self.n_classes_ == 2 else np.argmax(d, axis=1)]
