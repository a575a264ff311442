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
