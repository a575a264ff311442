import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hbclf import pipelines
from hbclf.calibration import GroupedCalibration
from hbclf.domains import (
    DomainBalancedClassifier,
    DomainExpertsClassifier,
    domain_balanced_weights,
)
from hbclf.tasks import evaluate_fold


def _two_sites(n=2000, seed=0):
    """Site 1 is 90 % abnormal, site 2 10 %; column 0 says the site (a device's colouring),
    column 1 is a weak sign of the heart itself, the same at both sites."""
    rng = np.random.default_rng(seed)
    site = np.repeat(["site 1", "site 2"], n // 2)
    abnormal = np.where(site == "site 1", rng.random(n) < 0.9, rng.random(n) < 0.1)
    X = np.c_[(site == "site 1") + 0.1 * rng.standard_normal(n),
              abnormal + rng.standard_normal(n)]
    return X, np.where(abnormal, "abnormal", "normal"), site


def test_every_domain_class_cell_weighs_the_same():
    y = np.array(["a", "a", "a", "n", "a", "n", "n", "n", "n"])
    d = np.array(["x", "x", "x", "x", "y", "y", "y", "y", "y"])
    w = domain_balanced_weights(y, d)
    assert w.mean() == pytest.approx(1.0)
    totals = [w[(d == a) & (y == c)].sum() for a in "xy" for c in "an"]
    np.testing.assert_allclose(totals, totals[0])
    # one domain: plain class balance
    w1 = domain_balanced_weights(y)
    assert w1[y == "a"].sum() == pytest.approx(w1[y == "n"].sum())
    with pytest.raises(ValueError, match="domains has 2 entries for 9"):
        domain_balanced_weights(y, ["x", "y"])


def test_the_site_stops_being_a_shortcut():
    X, y, site = _two_sites()
    plain = LogisticRegression(class_weight="balanced").fit(X, y)
    fair = DomainBalancedClassifier(LogisticRegression()).fit(X, y, domains=site)
    # class balance alone leans on the site column; balancing each site's classes removes
    # what the site says about the label, and the heart's column is what is left
    assert abs(plain.coef_[0, 0]) > 2 * abs(plain.coef_[0, 1])
    assert abs(fair.estimator_.coef_[0, 0]) < 0.5 * abs(fair.estimator_.coef_[0, 1])
    assert fair.domains_.tolist() == ["site 1", "site 2"]
    assert fair.predict_proba(X).shape == (len(y), 2)
    # on a third site whose recordings look like site 1's, the site-led model calls everyone
    # abnormal; the balanced one still follows the heart's column
    rng = np.random.default_rng(1)
    truth = rng.random(300) < 0.5
    X3 = np.c_[np.ones(300), truth + rng.standard_normal(300)]
    from sklearn.metrics import balanced_accuracy_score

    y3 = np.where(truth, "abnormal", "normal")
    assert balanced_accuracy_score(y3, fair.predict(X3)) > balanced_accuracy_score(
        y3, plain.predict(X3)) + 0.05


def test_domains_reach_the_classifier_through_folds_and_calibration(monkeypatch):
    X, y, site = _two_sites(n=200)
    seen = []
    real_fit = DomainBalancedClassifier.fit

    def spy(self, X, y, domains=None):
        seen.append(None if domains is None else sorted(set(domains)) + [len(domains)])
        return real_fit(self, X, y, domains=domains)

    monkeypatch.setattr(DomainBalancedClassifier, "fit", spy)
    groups = np.arange(len(y)) // 2
    train, test = np.arange(0, 200, 2), np.arange(1, 200, 2)
    pipe = make_pipeline(StandardScaler(), DomainBalancedClassifier())
    evaluate_fold("binary", pipe, X, y, groups, train, test, domains=site)
    assert seen == [["site 1", "site 2", len(train)]]
    seen.clear()
    calibrated = make_pipeline(StandardScaler(), GroupedCalibration(
        DomainBalancedClassifier(), n_splits=3, random_state=0))
    evaluate_fold("binary", calibrated, X, y, groups, train, test, domains=site)
    # three calibration folds and the final fit, each with its own rows' sites
    assert len(seen) == 4 and all(s[:2] == ["site 1", "site 2"] for s in seen)
    assert seen[-1][-1] == len(train) and all(s[-1] < len(train) for s in seen[:3])


def test_database_balanced_models_are_registered():
    for name in ("logreg_cycles_db", "et_cycles_db", "et_cycles_experts", "et_contrasts_experts"):
        clf = pipelines.make(name, quick=True).steps[-1][1]
        kind = DomainExpertsClassifier if name.endswith("_experts") else DomainBalancedClassifier
        assert type(clf) is kind
        assert clf.estimator.get_params()["class_weight"] is None
    experts, balanced, logreg = (pipelines.make(n) for n in ("et_cycles_experts", "et_cycles_db",
                                                             "logreg_cycles_db"))
    # the same features and columns: the heart's, without what measures the recording
    assert repr(experts[:-1]) == repr(balanced[:-1]) == repr(logreg[:-1])
    names = balanced[:1].get_feature_names_out()
    (_, how, dropped), = balanced.named_steps["heart"].transformers
    assert how == "drop" and sorted({names[i].split("__")[-1] for i in dropped}) == sorted(
        pipelines.RECORDING_COLUMNS) and len(dropped) == 3
    # the same trees, 100 per database instead of 500 in one forest (seven forests per fit)
    assert experts[-1].estimator.n_estimators == 100 < balanced[-1].estimator.n_estimators
    assert repr(experts[-1].estimator.set_params(n_estimators=500)) == repr(balanced[-1].estimator)


def test_the_contrasts_experts_read_what_a_murmur_raises_and_nothing_else():
    from hbclf.features import MURMUR_CONTRASTS

    from hbclf.novelty import READS, gate_end

    contrasts, experts = (pipelines.make(n) for n in ("et_contrasts_experts", "et_cycles_experts"))
    features = contrasts[:1].get_feature_names_out()
    # the heart and reads steps on a row of column numbers: which columns pass, in which order
    numbers = np.arange(len(features))[None] * 1.0
    heart = contrasts.named_steps["heart"].fit_transform(numbers)
    kept = contrasts.named_steps[READS].fit_transform(heart)
    assert [features[int(i)].split("__")[-1] for i in kept.ravel()] == list(MURMUR_CONTRASTS)
    assert len(MURMUR_CONTRASTS) == 18 and all(
        n.startswith(("sys_s1", "dia_s2", "sys_dia")) and n.endswith("_median")
        for n in MURMUR_CONTRASTS)
    # the same features, heart columns and experts as et_cycles_experts; the classifier reads
    # 18 of them, the novelty gate measures all (so "uncertain" is the same for both)
    assert [name for name, _ in contrasts.steps] == [
        "features", "heart", "impute", "scale", READS, "clf"]
    assert repr(contrasts[:4]) == repr(experts[:4]) and repr(contrasts[-1]) == repr(experts[-1])
    assert gate_end(contrasts) == 4 and gate_end(experts) == 4


def test_each_database_has_its_own_expert_and_an_equal_vote():
    rng = np.random.default_rng(0)
    site = np.repeat(["a", "b", "c", "d"], [40, 200, 60, 30])
    X = rng.standard_normal((len(site), 2)) + (site == "b")[:, None]
    y = np.where(X[:, 1] + 0.5 * rng.standard_normal(len(site)) > 0.5, "abnormal", "normal")
    y[site == "d"] = "normal"  # one class: no contrast to learn, no expert
    clf = DomainExpertsClassifier(LogisticRegression()).fit(X, y, domains=site)
    assert clf.domains_.tolist() == ["a", "b", "c"] and len(clf.estimators_) == 3
    for d, est in zip(clf.domains_, clf.estimators_):  # each fitted on its site alone, balanced
        own = LogisticRegression().fit(X[site == d], y[site == d],
                                       sample_weight=domain_balanced_weights(y[site == d]))
        np.testing.assert_allclose(est.coef_, own.coef_)
    votes = np.mean([est.predict_proba(X) for est in clf.estimators_], axis=0)
    np.testing.assert_allclose(clf.predict_proba(X), votes)  # site b's 200 rows: one vote
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[votes.argmax(1)])
    # without domains (or no domain with two classes): one class-balanced copy
    assert len(DomainExpertsClassifier().fit(X, y).estimators_) == 1
    one_class_each = np.where(y == "normal", "n-site", "ab-site")
    alone = DomainExpertsClassifier().fit(X, y, domains=one_class_each)
    assert alone.domains_.tolist() == [] and len(alone.estimators_) == 1


def test_a_class_one_database_lacks_is_voted_on_by_the_experts_that_know_it():
    rng = np.random.default_rng(1)
    site = np.repeat(["a", "b"], 90)
    y = np.r_[np.tile(["murmur", "normal", "artifact"], 30), np.tile(["murmur", "normal"], 45)]
    X = rng.standard_normal((180, 3)) + 2 * (y[:, None] == ["murmur", "normal", "artifact"])
    clf = DomainExpertsClassifier(LogisticRegression()).fit(X, y, domains=site)
    p = clf.predict_proba(X)
    assert clf.classes_.tolist() == ["artifact", "murmur", "normal"]
    pa, pb = (est.predict_proba(X) for est in clf.estimators_)  # a: all three, b: two
    raw = np.c_[pa[:, 0], (pa[:, 1] + pb[:, 0]) / 2, (pa[:, 2] + pb[:, 1]) / 2]
    np.testing.assert_allclose(p, raw / raw.sum(1, keepdims=True))
    # site b's expert, which never saw an artifact, does not halve the artifacts' probability
    assert p[y == "artifact", 0].mean() > 0.5
    assert (clf.predict(X[y == "artifact"]) == "artifact").mean() > 0.8
    # a class only a single-class domain holds has no expert: probability 0, never predicted
    y2, site2 = np.r_[y, ["extra"] * 5], np.r_[site, ["c"] * 5]
    clf2 = DomainExpertsClassifier(LogisticRegression()).fit(np.r_[X, X[:5]], y2, domains=site2)
    assert clf2.domains_.tolist() == ["a", "b"] and (clf2.predict_proba(X)[:, 1] == 0).all()


def test_experts_need_probabilities():
    from sklearn.svm import LinearSVC

    X, y, site = _two_sites(n=100)
    with pytest.raises(TypeError, match="LinearSVC has no predict_proba"):
        DomainExpertsClassifier(LinearSVC()).fit(X, y, domains=site)
    with pytest.raises(ValueError, match="domains has 3 entries for 100"):
        DomainExpertsClassifier().fit(X, y, domains=site[:3])


def test_unseen_device_model_leaves_out_the_columns_that_measure_the_recording():
    featurizer, head = pipelines.split_stateless(pipelines.make("et_cycles_db", quick=True))
    same, _ = pipelines.split_stateless(pipelines.make("et_cycles", quick=True))
    assert repr(featurizer) == repr(same)  # one feature table for both: computed once
    names = featurizer.get_feature_names_out()
    X = np.tile(np.arange(len(names), dtype=float), (3, 1))  # each column holds its position
    kept = names[head[:1].fit_transform(X)[0].astype(int)]
    assert set(names) - set(kept) == {"cycles__n_cycles", "cycles__quality", "rhythm__quality"}
    assert list(kept) == [n for n in names if n in set(kept)]  # the others, in their order
