"""The novelty gate: calibrated on held-out sources, refitted in every evaluation fold."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from hbclf.novelty import Novelty, fit_novelty, reads_features
from hbclf.tasks import evaluate_fold


def _sources(rng, shifts, n=150, d=4):
    """Recordings of several sources, each a shifted cloud; labels from the first column."""
    X = np.concatenate([rng.standard_normal((n, d)) + s for s in shifts])
    return X, np.where(X[:, 0] > np.median(X[:, 0]), "abnormal", "normal"), \
        np.repeat([f"db{k}" for k in range(len(shifts))], n)


def test_the_threshold_answers_most_of_every_source_held_out():
    rng = np.random.default_rng(0)
    X, y, db = _sources(rng, [0.0, 0.7, -0.7, 1.2])
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    gate = fit_novelty(pipe, X, y, domains=db, quantile=0.95)
    assert gate.held_out_ == "source" and gate.quantile_ == 0.95
    # each source held out in turn: its share beyond the threshold of the others' fit
    for d in np.unique(db):
        rest = db != d
        part = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[rest], y[rest])
        nov = Novelty().fit(part[:-1].transform(X[rest]), threshold=gate.threshold_)
        assert nov.is_novel(part[:-1].transform(X[~rest])).mean() <= 0.05
    far = pipe[:-1].transform(np.full((1, 4), 25.0))
    assert gate.is_novel(far).all()


def test_one_source_is_held_out_by_grouped_folds():
    rng = np.random.default_rng(1)
    X, y, _ = _sources(rng, [0.0])
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    gate = fit_novelty(pipe, X, y, groups=np.arange(len(y)) // 3, quantile=0.9)
    assert gate.held_out_ == "grouped folds" and np.isfinite(gate.threshold_)
    assert 0.0 < gate.is_novel(pipe[:-1].transform(X)).mean() < 0.2


def test_a_new_source_far_from_the_others_is_uncertain_and_a_near_one_answered():
    rng = np.random.default_rng(2)
    X, y, db = _sources(rng, [0.0, 0.5, -0.5, 0.3, 8.0])
    groups = np.arange(len(y)) // 3
    est = make_pipeline(StandardScaler(), LogisticRegression())
    for held, expect in (("db4", 1.0), ("db3", 0.0)):
        train, test = np.flatnonzero(db != held), np.flatnonzero(db == held)
        _, rec = evaluate_fold("binary", est, X, y, groups, train, test, domains=db)
        assert len(rec["novel"]) == len(test)
        assert np.mean(rec["novel"]) == pytest.approx(expect, abs=0.1)


def test_only_models_reading_a_numeric_table_have_a_gate():
    X = np.zeros((4, 2))
    assert reads_features(make_pipeline(StandardScaler(), LogisticRegression()), X)
    assert not reads_features(LogisticRegression(), X)
    assert not reads_features(make_pipeline(StandardScaler(), LogisticRegression()),
                              np.array(["a.wav", "b.wav"]))
    origin = np.array([["set A"], ["set B"], ["set A"], ["set B"]], dtype=object)
    est = make_pipeline(OneHotEncoder(), LogisticRegression())
    _, rec = evaluate_fold("binary", est, origin, np.array(["normal", "abnormal"] * 2),
                           np.arange(4), np.arange(4), np.arange(4))
    assert rec["novel"] is None


def test_the_gate_measures_the_columns_before_the_step_choosing_the_classifier_columns():
    """A source far off only in a column the classifier does not read is "uncertain" still: the
    gate measures the features before a step named ``reads``, not just what the classifier reads."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from hbclf.novelty import READS, gate_end

    rng = np.random.default_rng(3)
    X, y, db = _sources(rng, [0.0, 0.5, -0.5, 0.3, 0.0])
    X[db == "db4", 3] += 8.0  # the new source differs in the column the classifier ignores
    groups = np.arange(len(y)) // 3
    train, test = np.flatnonzero(db != "db4"), np.flatnonzero(db == "db4")
    # the same columns chosen: named `reads`, the gate sees the fourth; otherwise it does not
    for reads, expect in ((True, 1.0), (False, 0.0)):
        est = Pipeline([("scale", StandardScaler()),
                        (READS if reads else "choose",
                         ColumnTransformer([("some", "passthrough", [0, 1, 2])])),
                        ("clf", LogisticRegression())])
        assert gate_end(est) == (1 if reads else 2)
        _, rec = evaluate_fold("binary", est, X, y, groups, train, test, domains=db)
        assert np.mean(rec["novel"]) == pytest.approx(expect, abs=0.1)
