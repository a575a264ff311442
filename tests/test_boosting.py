import numpy as np
import pytest
from sklearn.ensemble import AdaBoostClassifier
from sklearn.tree import DecisionTreeClassifier

from hbclf.boosting import StumpBoostClassifier


def _data(n_classes, seed, n=300, d=8):
    """Continuous features (no two stumps split the rows alike), float32-exact: scikit-learn's
    trees compare in float32, so the same thresholds decide the same rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32).astype(np.float64)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=n) > 0).astype(int)
    if n_classes == 3:
        y = y + (X[:, 3] > 1)
    return X, np.array(["ab", "n", "u"])[y], rng.uniform(0.5, 2.0, n), rng.normal(size=(200, d))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_same_stumps_votes_and_probabilities_as_scikit_learns_adaboost(n_classes):
    X, y, w, X_new = _data(n_classes, seed=n_classes)
    ref = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=60,
                             learning_rate=0.5, random_state=0).fit(X, y, sample_weight=w)
    fast = StumpBoostClassifier(n_estimators=60, learning_rate=0.5).fit(X, y, sample_weight=w)
    assert [e.tree_.feature[0] for e in ref.estimators_] == fast.feature_.tolist()
    np.testing.assert_allclose(fast.estimator_weights_, ref.estimator_weights_, rtol=1e-9)
    np.testing.assert_allclose(fast.decision_function(X_new), ref.decision_function(X_new),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.predict_proba(X_new), ref.predict_proba(X_new), rtol=1e-9)
    np.testing.assert_array_equal(fast.predict(X_new), ref.predict(X_new))


def test_a_perfect_first_stump_decides_alone():
    X = np.array([[0.0, 5.0], [1.0, 3.0], [2.0, 4.0], [3.0, 3.5]])
    clf = StumpBoostClassifier(n_estimators=10).fit(X, ["n", "n", "ab", "ab"])
    assert clf.feature_.tolist() == [0] and clf.estimator_weights_.tolist() == [1.0]
    assert clf.threshold_[0] == 1.5
    assert clf.predict([[1.4, 0.0], [1.6, 0.0]]).tolist() == ["n", "ab"]


def test_rows_of_weight_zero_are_left_out():
    X, y, w, X_new = _data(2, seed=5)
    w[::3] = 0.0
    keep = w > 0
    a = StumpBoostClassifier(n_estimators=20).fit(X, y, sample_weight=w)
    b = StumpBoostClassifier(n_estimators=20).fit(X[keep], y[keep], sample_weight=w[keep])
    np.testing.assert_array_equal(a.threshold_, b.threshold_)
    np.testing.assert_array_equal(a.predict_proba(X_new), b.predict_proba(X_new))


@pytest.mark.parametrize("params, message", [
    ({"n_estimators": 0}, "n_estimators must be a positive integer"),
    ({"learning_rate": 0.0}, "learning_rate must be positive"),
])
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        StumpBoostClassifier(**params).fit([[0.0], [1.0]], [0, 1])


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes"):
        StumpBoostClassifier().fit([[0.0], [1.0]], ["n", "n"])


def test_a_tie_between_classes_in_a_leaf_goes_to_the_first_class():
    # left of 0.5: "ab" weighs 0.3, "n" 0.1 + 0.2, which sums to an ulp more than 0.3
    X = np.array([[0.0], [0.0], [0.0], [1.0]])
    y = np.array(["ab", "n", "n", "u"])
    clf = StumpBoostClassifier(n_estimators=1).fit(X, y, sample_weight=[0.3, 0.1, 0.2, 0.6])
    assert clf.predict([[0.0], [1.0]]).tolist() == ["ab", "u"]
