import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags

from hbclf.datasets import load_pascal
from hbclf.features import MFCC, FixedLength
from hbclf.neural import CNNClassifier, RNNClassifier

pytestmark = pytest.mark.slow

def toy(n=48, features=40, frames=130, seed=0):
    """Two classes that differ in the mean of the first coefficients."""
    rng = np.random.RandomState(seed)
    y = np.array(["murmur", "normal"] * (n // 2))
    X = rng.normal(size=(n, features, frames)).astype(np.float32)
    X[y == "murmur", :10] += 2.0
    return X, y


def test_seed_network_has_43570_parameters():
    X, y = toy(n=8)
    cnn = CNNClassifier(epochs=1, early_stopping=False, random_state=0).fit(X, y)
    assert cnn.model_.count_params() == 43570
    kinds = [type(layer).__name__ for layer in cnn.model_.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("MaxPooling2D") == 4
    assert kinds.count("Dropout") == 4 and "GlobalAveragePooling2D" in kinds
    assert [layer.filters for layer in cnn.model_.layers if hasattr(layer, "filters")] == [
        16, 32, 64, 128]


@pytest.mark.parametrize("Net", [CNNClassifier, RNNClassifier])
def test_is_a_classifier_to_sklearn(Net):
    est = Net()
    assert is_classifier(est) and get_tags(est).estimator_type == "classifier"
    assert set(clone(est).get_params()) == set(est.get_params())


def test_int_cv_uses_stratified_folds(monkeypatch):
    seen = []
    real_split = StratifiedKFold.split

    def spy(self, X, y, groups=None):
        seen.append(type(self).__name__)
        return real_split(self, X, y, groups)

    monkeypatch.setattr(StratifiedKFold, "split", spy)
    X, y = toy(n=24)
    cross_val_score(CNNClassifier(epochs=1, random_state=0), X, y, cv=2)
    assert seen == ["StratifiedKFold"]


def test_set_params_and_string_labels_and_probabilities():
    X, y = toy()
    cnn = CNNClassifier(epochs=2, random_state=0).set_params(filters=(8, 16), dropout=0.1)
    assert cnn.get_params()["filters"] == (8, 16)
    cnn.fit(X, y)
    assert list(cnn.classes_) == ["murmur", "normal"]
    proba = cnn.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(cnn.predict(X)) <= {"murmur", "normal"}
    assert cnn.model_.count_params() < 43570
    # one recording: still one row (scikeras squeezes it to 1-D)
    assert cnn.predict_proba(X[:1]).shape == (1, 2) and cnn.predict(X[:1]).shape == (1,)


def test_same_seed_same_predictions_and_pickling():
    X, y = toy()
    a = CNNClassifier(epochs=3, random_state=3).fit(X, y)
    b = CNNClassifier(epochs=3, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))


def test_it_learns_and_stops_early():
    X, y = toy(n=96)
    train, test = slice(0, 64), slice(64, None)  # both halves hold both classes
    cnn = CNNClassifier(epochs=200, patience=5, random_state=0).fit(X[train], y[train])
    val = np.asarray(cnn.history_["val_loss"])
    # it stopped: patience epochs after the best validation loss, long before the cap
    assert cnn.n_epochs_ == len(val) < 200
    assert cnn.n_epochs_ - 1 - int(np.argmin(val)) == 5
    assert (cnn.predict(X[test]) == y[test]).mean() > 0.8
    rnn = RNNClassifier(cell="gru", epochs=30, random_state=0).fit(X[train], y[train])
    assert (rnn.predict(X[test]) == y[test]).mean() > 0.8


def test_standardisation_is_learned_on_training_data_only():
    X, y = toy(n=20)
    cnn = CNNClassifier(epochs=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(cnn.feature_encoder_.mean_[:, 0], X.mean(axis=(0, 2)), atol=1e-5)
    shifted = X + 100.0
    # predicting never refits the scaler
    cnn.predict(shifted)
    np.testing.assert_allclose(cnn.feature_encoder_.mean_[:, 0], X.mean(axis=(0, 2)), atol=1e-5)


def test_class_weight_balanced_changes_training():
    X, y = toy(n=40)
    y = y.copy()
    y[:30] = "normal"
    plain = CNNClassifier(epochs=3, early_stopping=False, random_state=0).fit(X, y)
    weighted = CNNClassifier(epochs=3, early_stopping=False, random_state=0,
                             class_weight="balanced").fit(X, y)
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X))


def test_stacking_and_calibration_accept_it():
    X, y = toy(n=36)
    stack = StackingClassifier(
        [("cnn", CNNClassifier(epochs=2, random_state=0))],
        final_estimator=LogisticRegression(), cv=2,
    )
    stack.fit(X, y)
    assert stack.predict_proba(X).shape == (36, 2)
    cal = CalibratedClassifierCV(RNNClassifier(units=(8,), epochs=2, random_state=0), cv=3)
    cal.fit(X, y)
    np.testing.assert_allclose(cal.predict_proba(X).sum(axis=1), 1.0)


def test_issue_done_when_on_set_b():
    """The pipeline under grouped CV and a grid search on PASCAL set B (few epochs)."""
    data = load_pascal("b")
    pipe = make_pipeline(MFCC(), FixedLength(),
                         CNNClassifier(epochs=3, random_state=0, n_threads=2))
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    first = cross_validate(pipe, data.filenames, data.target, groups=data.groups, cv=cv,
                           scoring="balanced_accuracy")
    second = cross_validate(pipe, data.filenames, data.target, groups=data.groups, cv=cv,
                            scoring="balanced_accuracy")
    np.testing.assert_array_equal(first["test_score"], second["test_score"])
    assert np.all(np.isfinite(first["test_score"]))
    grid = GridSearchCV(pipe, {"cnnclassifier__dropout": [0.1, 0.3]}, cv=2,
                        scoring="balanced_accuracy", error_score="raise")
    grid.fit(data.filenames[::4], data.target[::4])
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and len(scores) == 2  # both candidates fitted and scored
    best = grid.cv_results_["params"][int(np.argmax(scores))]["cnnclassifier__dropout"]
    assert grid.best_estimator_[-1].dropout == best  # the refit model is the best candidate


def test_early_stopping_validation_keeps_groups_whole(monkeypatch):
    """The validation set of early stopping never shares a patient with training data."""
    from sklearn.pipeline import Pipeline

    from hbclf.tasks import evaluate_fold

    X, y = toy(n=60)
    groups = np.repeat(np.arange(15), 4)  # 15 patients, 4 recordings each
    seen = {}
    real_fit = CNNClassifier._fit_keras_model

    def spy(self, X_, y_, sample_weight, *args, **kw):
        seen["groups"] = self._split_groups
        real_fit(self, X_, y_, sample_weight, *args, **kw)

    monkeypatch.setattr(CNNClassifier, "_fit_keras_model", spy)
    split_seen = {}
    real_split = StratifiedGroupKFold.split

    def split_spy(self, X_, y_=None, groups_=None):
        for tr, va in real_split(self, X_, y_, groups_):
            split_seen.setdefault("parts", (groups_[tr], groups_[va]))
            yield tr, va

    monkeypatch.setattr(StratifiedGroupKFold, "split", split_spy)
    cnn = CNNClassifier(epochs=2, random_state=0)
    cnn.fit(X, y, groups=groups)
    tr_groups, va_groups = split_seen["parts"]
    assert len(va_groups) and not set(tr_groups) & set(va_groups)
    # evaluate_fold hands the training rows' groups to a network at the end of a pipeline
    pipe = Pipeline([("clf", CNNClassifier(epochs=1, random_state=0))])
    train, test = np.arange(40), np.arange(40, 60)
    evaluate_fold("binary", pipe, X, np.where(y == y[0], "normal", "abnormal"), groups,
                  train, test)
    np.testing.assert_array_equal(seen["groups"], groups[train])


def test_weighted_draws_leave_no_training_data_behind(monkeypatch):
    """TensorFlow's registry of Python generators keeps the dataset made of the draws alive after
    fit: the draws must not hold the training arrays then, or every fit in a long-lived process
    (a cross-validation worker) keeps its data (0.5 GB a PhysioNet fold)."""
    import gc
    import weakref

    import hbclf.neural as neural

    held = []
    real_init = neural._WeightedDraws.__init__

    def spy(self, X, y, weights, batch_size, rng):
        held.append(weakref.ref(X))
        real_init(self, X, y, weights, batch_size, rng)

    monkeypatch.setattr(neural._WeightedDraws, "__init__", spy)
    X, y = toy(n=40)
    cnn = CNNClassifier(epochs=2, early_stopping=False, weighted_draws=True, batch_size=8,
                        random_state=0).fit(X.copy(), y, sample_weight=np.ones(len(y)))
    gc.collect()
    assert len(held) == 1 and held[0]() is None
    assert cnn.predict_proba(X).shape == (40, 2)


def test_fits_leave_no_training_graph_in_tensorflows_gradient_registry():
    """Keras' all-reduce of the gradients registers a custom gradient, and with it the traced
    training graph, in TensorFlow's global registry on every fit (about 12 MB a fit kept for
    good): with one replica it is skipped, and the same seed trains the same network."""
    from tensorflow.python.framework import ops

    registry = getattr(ops, "_gradient_registry", None)  # private: a TensorFlow may drop it
    if registry is None:
        pytest.skip("this TensorFlow has no gradient registry to look into")
    X, y = toy(n=40)
    first = CNNClassifier(epochs=2, early_stopping=False, batch_size=8, random_state=0).fit(X, y)
    registered = len(registry.list())
    again = [CNNClassifier(epochs=2, early_stopping=False, batch_size=8, random_state=0).fit(X, y)
             for _ in range(2)]
    assert len(registry.list()) == registered
    for net in again:
        np.testing.assert_array_equal(net.predict_proba(X), first.predict_proba(X))


def test_the_optimizer_reduces_over_replicas_under_a_distribution_strategy(monkeypatch):
    import keras
    import tensorflow as tf

    from hbclf.neural import _adam

    if not hasattr(keras.optimizers.Adam, "_all_reduce_sum_gradients"):
        pytest.skip("this Keras has no all-reduce to step around (`_adam` returns its Adam)")
    calls = []

    def keras_all_reduce(self, grads_and_vars):
        calls.append(len(grads_and_vars))
        return grads_and_vars

    monkeypatch.setattr(keras.optimizers.Adam, "_all_reduce_sum_gradients", keras_all_reduce)
    optimizer = _adam(0.01)
    grads = [(tf.constant([1.0, 2.0]), tf.Variable([0.0, 0.0]))]
    assert optimizer._all_reduce_sum_gradients(grads) == grads and calls == []  # one replica
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        tf.distribute.get_strategy().run(lambda: optimizer._all_reduce_sum_gradients(grads))
    assert calls == [1]  # distributed: Keras' own all-reduce


def test_weighted_draws_sample_in_proportion_to_the_weights_each_epoch(monkeypatch):
    """Each epoch trains on a fresh draw, as many samples as the weights sum to, in proportion
    to them."""
    import hbclf.neural as neural

    X, y = toy(n=40)
    weights = np.tile([0.125, 0.125, 0.25, 0.5], 10)  # sums to 10
    served = []
    real_item = neural._WeightedDraws.__getitem__

    def spy(self, i):
        assert len(self) == 3  # ceil(10 draws / batch of 4): the weights' sum, not 40 samples
        served.append(self.index[i * self.batch_size:(i + 1) * self.batch_size])
        return real_item(self, i)

    monkeypatch.setattr(neural._WeightedDraws, "__getitem__", spy)
    cnn = CNNClassifier(epochs=3, early_stopping=False, weighted_draws=True, batch_size=4,
                        random_state=0).fit(X, y, sample_weight=weights)
    picks = np.concatenate(served)
    assert cnn.n_epochs_ == 3 and len(picks) >= 30
    assert len(set(picks)) > 10  # more than one draw's worth: a new draw each epoch
    counts = np.bincount(neural._weighted_draw(weights, np.random.default_rng(0)), minlength=40)
    assert counts.sum() == 10
    many = np.bincount(np.concatenate([neural._weighted_draw(weights * 100,
                                                             np.random.default_rng(1))]),
                       minlength=40)
    np.testing.assert_allclose(many.reshape(10, 4).sum(axis=0) / 1000,
                               [0.125, 0.125, 0.25, 0.5], atol=0.05)
    again = CNNClassifier(epochs=3, early_stopping=False, weighted_draws=True, batch_size=4,
                          random_state=0).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(cnn.predict_proba(X), again.predict_proba(X), rtol=1e-5)
    plain = CNNClassifier(epochs=1, early_stopping=False, weighted_draws=True,
                          random_state=0).fit(X, y)  # no weights: an ordinary pass
    assert plain.n_epochs_ == 1
