"""The rules that keep evaluation leak-free, each with a test that fails when the rule breaks.

* A transformer marked :class:`~hbclf.base.LearnsNothingMixin` is computed once over every
  recording, test folds included (``pipelines.split_stateless``), so its fitted state must not
  depend on the data it was fitted on, and a recording's output must not depend on the others.
* ``GroupedCalibration`` without groups cannot keep patients whole: it says so.
* The nested search's inner folds keep groups whole.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from hbclf import pipelines
from hbclf.base import LearnsNothingMixin, RecordingTransformerMixin
from hbclf.calibration import GroupedCalibration, UngroupedCalibrationWarning
from hbclf.datasets import load_pascal
from hbclf.discovery import all_estimators
from hbclf.features import MFCC, Sequences
from hbclf.tasks import evaluate_fold

STATELESS = [(n, c) for n, c in all_estimators() if issubclass(c, LearnsNothingMixin)]
PARAMS = {"FixedLength": {"frames": 20}}


@pytest.fixture(scope="module")
def recordings():
    a, b = load_pascal("a"), load_pascal("b")
    return np.concatenate([a.filenames[:5], b.filenames[:5]])


def _input(cls, files):
    """What the transformer reads: paths, or the frame sequences of an MFCC."""
    if issubclass(cls, RecordingTransformerMixin):
        return files
    return MFCC(n_mfcc=8).fit_transform(files)


def _same(a, b):
    """Equal, NaN where NaN: arrays, or ragged arrays of matrices element by element."""
    ragged = isinstance(a, (Sequences, list)) or (isinstance(a, np.ndarray) and a.dtype == object
                                                  and a.ndim == 1 and len(a) and
                                                  isinstance(a[0], np.ndarray))
    if not ragged:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        return
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def _rows(out, idx):
    return [out[i] for i in idx] if isinstance(out, (Sequences, list)) else out[idx]


def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}


def test_every_stateless_transformer_is_covered():
    names = {n for n, _ in STATELESS}
    assert {"AudioReader", "MFCC", "LogMel", "SpectralFeatures", "TimeSummary", "FixedLength",
            "RhythmFeatures", "CycleFeatures", "Origin"} <= names


@pytest.mark.parametrize("name, cls", STATELESS, ids=[n for n, _ in STATELESS])
def test_a_stateless_transformer_learns_nothing_from_its_data(name, cls, recordings):
    """Fitted on one half or the other, it holds the same state and gives the same output; a
    recording's output is the same alone, among others, in any order."""
    X = _input(cls, recordings)
    est = cls(**PARAMS.get(name, {}))
    first, second = clone(est).fit(X[:5]), clone(est).fit(X[5:])
    s1, s2 = _fitted_state(first), _fitted_state(second)
    assert s1.keys() == s2.keys()
    for key in s1:
        _same(s1[key], s2[key])
    whole = first.transform(X)
    _same(whole, second.transform(X))
    order = np.array([7, 2, 9, 0, 4, 1, 8, 3, 6, 5])
    _same(first.transform(X[order]), _rows(whole, order))
    _same(first.transform(X[3:4]), _rows(whole, [3]))
    _same(clone(est).fit(X).fit(X).transform(X), whole)  # fitting twice changes nothing


def test_every_registry_models_stateless_part_is_marked():
    """What the harness computes once over every recording is only ever marked steps."""
    for name in pipelines.names():
        features, model = pipelines.split_stateless(pipelines.make(name, quick=True))
        steps = [] if features is None else [s for _, s in features.steps]
        assert all(pipelines.learns_nothing(s) for s in steps), name
        assert model.steps, name  # something is left to learn per fold


def test_grouped_calibration_without_groups_warns():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), np.array(["a", "b"] * 20)
    with pytest.warns(UngroupedCalibrationWarning, match="without groups"):
        GroupedCalibration(LogisticRegression()).fit(X, y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UngroupedCalibrationWarning)
        GroupedCalibration(LogisticRegression()).fit(X, y, groups=np.arange(40) // 2)


class _Spy(ClassifierMixin, BaseEstimator):
    """Records the rows of every fit (a row carries its index in its only column)."""

    fits = []

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y):
        type(self).fits.append(np.asarray(X)[:, 0].astype(int))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


def test_the_nested_search_keeps_groups_whole_in_its_inner_folds():
    n = 60
    X = np.arange(n, dtype=float)[:, None]
    y = np.array(["normal", "abnormal"] * (n // 2))
    groups = np.arange(n) // 3  # three recordings per patient
    train, test = np.arange(45), np.arange(45, n)
    _Spy.fits = []
    evaluate_fold("binary", _Spy(), X, y, groups, train, test, grid={"c": [1.0, 2.0]})
    inner = _Spy.fits[:-1]  # the last fit is the refit on every training row
    assert len(inner) == 2 * 3
    for fitted in inner:
        held_out = np.setdiff1d(train, fitted)
        assert len(held_out) and not set(groups[fitted]) & set(groups[held_out])
        assert not set(fitted) & set(test)
    np.testing.assert_array_equal(np.sort(_Spy.fits[-1]), train)
