import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB

from hbclf.calibration import GroupedCalibration, reliability


def _data(n, rng):
    """One signal copied 10 times plus noise: naive Bayes is overconfident on it."""
    signal = rng.normal(size=n)
    y = np.where(signal + rng.normal(scale=1.0, size=n) > 0, "abnormal", "normal")
    X = np.repeat(signal[:, None], 10, axis=1) + rng.normal(scale=0.3, size=(n, 10))
    return X, y


def test_calibration_folds_keep_groups_whole_and_fix_overconfidence():
    rng = np.random.default_rng(0)
    X, y = _data(600, rng)
    groups = np.arange(600) // 4  # four recordings per patient
    cal = GroupedCalibration(GaussianNB(), n_splits=5, random_state=0).fit(X, y, groups=groups)
    splits = cal.calibrated_.cv
    assert len(splits) == 5
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    X_new, y_new = _data(2000, rng)
    _, _, raw = reliability(y_new, GaussianNB().fit(X, y).predict_proba(X_new), ["abnormal",
                                                                                "normal"])
    _, _, calibrated = reliability(y_new, cal.predict_proba(X_new), cal.classes_)
    assert raw > 0.15 and calibrated < 0.05, (raw, calibrated)
    assert set(cal.predict(X_new)) <= set(cal.classes_)
    # one pass for both: the decision from probabilities already computed is predict's
    np.testing.assert_array_equal(cal.predict_from_proba(cal.predict_proba(X_new)),
                                  cal.predict(X_new))


def test_calibration_refuses_what_it_cannot_calibrate():
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = np.array(["a"] * 9 + ["b"])
    with pytest.raises(ValueError, match="one class has 1 sample"):
        GroupedCalibration().fit(X, y)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        GroupedCalibration().fit(X, ["a", "b"] * 5, groups=[1, 2, 3])
    with pytest.raises(ValueError, match="method must be"):
        GroupedCalibration(method="beta").fit(X, ["a", "b"] * 5)


def _skewed(n, rng):
    """Two classes, one nine times rarer: an unweighted regression's 0.5 misses most of it."""
    y = np.where(rng.random(n) < 0.1, "abnormal", "normal")
    X = rng.normal(size=(n, 2)) + np.where(y == "abnormal", 1.0, 0.0)[:, None]
    return X, y


def test_threshold_is_learned_on_grouped_out_of_fold_predictions():
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold

    from hbclf.calibration import GroupedThreshold, best_threshold

    rng = np.random.default_rng(0)
    X, y = _skewed(800, rng)
    groups = np.arange(800) // 4
    clf = GroupedThreshold(LogisticRegression(), n_splits=3, random_state=0)
    clf.fit(X, y, groups=groups)
    # the same threshold from the grouped folds by hand: no fold ever predicts a group it saw
    oof = np.empty(len(y))
    for train, test in StratifiedGroupKFold(3, shuffle=True, random_state=0).split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])
        oof[test] = clone(clf.estimator).fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    assert clf.threshold_ == best_threshold(y == "normal", oof)
    assert 0.5 < clf.threshold_ < 1  # "normal" must be far likelier before it is called
    # the probabilities are the estimator's; only the decision moves, and it pays on new data
    plain = LogisticRegression().fit(X, y)
    X_new, y_new = _skewed(4000, rng)
    np.testing.assert_allclose(clf.predict_proba(X_new), plain.predict_proba(X_new))
    ours = balanced_accuracy_score(y_new, clf.predict(X_new))
    theirs = balanced_accuracy_score(y_new, plain.predict(X_new))
    assert ours > theirs + 0.1, (ours, theirs)
    np.testing.assert_array_equal(clf.predict(X_new),
                                  np.where(clf.predict_proba(X_new)[:, 1] > clf.threshold_,
                                           "normal", "abnormal"))


def test_best_threshold_is_the_balanced_accuracy_maximum():
    from sklearn.metrics import balanced_accuracy_score

    from hbclf.calibration import best_threshold

    rng = np.random.default_rng(1)
    positive = rng.random(300) < 0.3
    score = np.round(rng.random(300) * 0.6 + 0.3 * positive, 2)  # ties, as a booster's have
    t = best_threshold(positive, score)
    best = max(balanced_accuracy_score(positive, score > c) for c in np.unique(score))
    assert balanced_accuracy_score(positive, score > t) == pytest.approx(best)
    with pytest.raises(ValueError, match="both classes"):
        best_threshold([True, True], [0.2, 0.4])


def test_threshold_passes_domains_to_each_fold_and_leaves_many_classes_alone():
    from hbclf.calibration import GroupedThreshold, UngroupedCalibrationWarning
    from hbclf.domains import DomainBalancedClassifier

    rng = np.random.default_rng(2)
    X, y = _skewed(400, rng)
    domains = np.where(np.arange(400) % 2, "site 1", "site 2")
    clf = GroupedThreshold(DomainBalancedClassifier(), random_state=0)
    clf.fit(X, y, groups=np.arange(400) // 2, domains=domains)
    assert clf.estimator_.domains_.tolist() == ["site 1", "site 2"]
    with pytest.warns(UngroupedCalibrationWarning, match="GroupedThreshold.fit without groups"):
        GroupedThreshold(random_state=0).fit(X, y)
    three = np.array(["a", "b", "c"])[np.arange(400) % 3]
    many = GroupedThreshold(GaussianNB()).fit(X, three, groups=np.arange(400))
    assert many.threshold_ is None
    np.testing.assert_array_equal(many.predict(X), GaussianNB().fit(X, three).predict(X))


def test_calibration_hands_each_fold_its_groups_when_the_estimator_takes_them():
    import warnings

    from hbclf.calibration import GroupedThreshold, UngroupedCalibrationWarning

    seen = []

    class Spy(GroupedThreshold):
        def fit(self, X, y, groups=None, domains=None):
            seen.append(None if groups is None else np.asarray(groups))
            return super().fit(X, y, groups=groups, domains=domains)

    rng = np.random.default_rng(3)
    X, y = _skewed(400, rng)
    groups = np.arange(400) // 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", UngroupedCalibrationWarning)  # no fold without its groups
        cal = GroupedCalibration(Spy(n_splits=2, random_state=0), n_splits=3, random_state=0)
        cal.fit(X, y, groups=groups)
    # three calibration folds, then the final fit: each with its own rows' groups
    assert len(seen) == 4 and len(seen[-1]) == 400
    for (train, _), got in zip(cal.calibrated_.cv, seen[:3]):
        np.testing.assert_array_equal(got, groups[train])
