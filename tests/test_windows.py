import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline

from hbclf.features import MFCC, Sequences
from hbclf.windows import WindowClassifier


class Spy(ClassifierMixin, BaseEstimator):
    """Records what it was trained on; P(class 1) of a window = its first row's mean, clipped."""

    def fit(self, X, y, groups=None):
        self.X_, self.y_, self.groups_ = X, np.asarray(y), groups
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        p = np.clip(X[:, 0].mean(axis=1), 0.01, 0.99)
        return np.c_[1 - p, p]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def _recording(n_frames, value):
    return np.full((3, n_frames), value, dtype=float)


def test_windows_cover_each_recording_and_keep_its_label_and_group():
    X = Sequences([_recording(25, 0.2), _recording(7, 0.9)])
    clf = WindowClassifier(Spy(), frames=10, hop=5).fit(X, ["a", "b"], groups=["p1", "p2"])
    spy = clf.estimator_
    # 25 frames: windows at 0, 5, 10 and one ending at the last frame (15); 7 frames: one,
    # the recording repeated to 10 frames
    assert spy.X_.shape == (5, 3, 10) and clf.n_windows_ == 5
    assert spy.y_.tolist() == ["a"] * 4 + ["b"]
    assert list(spy.groups_) == ["p1"] * 4 + ["p2"]
    np.testing.assert_allclose(spy.X_[4], 0.9, rtol=1e-6)  # float32: a network's input
    without_groups = WindowClassifier(Spy(), frames=10, hop=5).fit(X, ["a", "b"])
    assert list(without_groups.estimator_.groups_) == [0, 0, 0, 0, 1]  # the recording itself


def test_a_recording_scores_the_geometric_mean_of_its_windows():
    M = np.concatenate([_recording(10, 0.2), _recording(10, 0.8)], axis=1)
    clf = WindowClassifier(Spy(), frames=10, hop=10).fit(Sequences([M, M]), ["a", "b"])
    p = clf.predict_proba(Sequences([M]))[0]
    geo = np.sqrt([0.8 * 0.2, 0.2 * 0.8])
    np.testing.assert_allclose(p, geo / geo.sum())


def test_window_draws_and_augmentation_touch_training_windows_only():
    rng = np.random.default_rng(0)
    X = Sequences([rng.normal(size=(6, 200)) for _ in range(4)])
    y = ["a", "b", "a", "b"]
    few = WindowClassifier(Spy(), frames=20, hop=10, per_recording=2, random_state=0).fit(X, y)
    assert few.n_windows_ == 8
    plain = WindowClassifier(Spy(), frames=20, hop=10, random_state=0).fit(X, y)
    eq = WindowClassifier(Spy(), frames=20, hop=10, eq=1.0, eq_order=2, random_state=0).fit(X, y)
    shift = eq.estimator_.X_ - plain.estimator_.X_
    assert np.all(shift[:, 2:] == 0)  # rows past eq_order untouched
    assert np.allclose(shift[:, :2], shift[:, :2, :1])  # one constant per window and row
    assert shift[:, :2].std() > 0.5
    np.testing.assert_array_equal(eq.predict_proba(X), plain.predict_proba(X))


def test_in_a_pipeline_with_groups_and_a_nested_search():
    from hbclf.datasets import load_pascal

    d = load_pascal("b")
    keep = np.flatnonzero(d.label == "normal")[:30].tolist() + \
        np.flatnonzero(d.label == "murmur")[:30].tolist()
    files, y, groups = d.filenames[keep], d.label[keep], d.groups[keep]
    pipe = make_pipeline(MFCC(n_mfcc=13), WindowClassifier(frames=20, hop=10))
    cv = StratifiedGroupKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, {"windowclassifier__frames": [10, 20]},
                          cv=list(cv.split(files, y, groups))).fit(files, y)
    assert search.predict(files[:5]).shape == (5,)
    with pytest.raises(ValueError, match="frames must be a positive integer"):
        WindowClassifier(frames=0).fit(Sequences([_recording(5, 0.1)] * 2), ["a", "b"])


class WeightSpy(Spy):
    def fit(self, X, y, groups=None, sample_weight=None):
        self.sample_weight_ = sample_weight
        return super().fit(X, y, groups)


def test_every_recording_weighs_the_same_however_many_windows_it_has():
    X = Sequences([_recording(25, 0.2), _recording(7, 0.9), _recording(45, 0.5)])
    clf = WindowClassifier(WeightSpy(), frames=10, hop=5).fit(X, ["a", "b", "a"])
    w = clf.estimator_.sample_weight_
    # 4, 1 and 8 windows: each recording's windows sum to one
    np.testing.assert_allclose(w, [0.25] * 4 + [1.0] + [0.125] * 8)
    own = WindowClassifier(WeightSpy(), frames=10, hop=5).fit(X, ["a", "b", "a"],
                                                            sample_weight=[2.0, 1.0, 0.0])
    np.testing.assert_allclose(own.estimator_.sample_weight_, [0.5] * 4 + [1.0] + [0.0] * 8)
    with pytest.raises(ValueError, match="does not take sample_weight"):
        WindowClassifier(Spy(), frames=10, hop=5).fit(X, ["a", "b", "a"], sample_weight=[1, 1, 1])


def test_noise_augmentation_raises_the_floor_of_training_windows_only():
    import scipy.fft

    from hbclf.features import MFCC

    t = np.arange(8000) / 4000
    tone = [np.sin(2 * np.pi * 100 * t + k).astype(np.float32) for k in range(4)]
    X = MFCC(n_mfcc=40).fit_transform(tone)  # every coefficient: the DCT can be undone
    y = ["a", "b", "a", "b"]
    plain = WindowClassifier(Spy(), frames=20, hop=20, random_state=0).fit(X, y)
    noisy = WindowClassifier(Spy(), frames=20, hop=20, noise_snr=(0, 0),
                             random_state=0).fit(X, y)
    db_plain = scipy.fft.idct(plain.estimator_.X_, axis=1, type=2, norm="ortho")
    db_noisy = scipy.fft.idct(noisy.estimator_.X_, axis=1, type=2, norm="ortho")
    power = 10 ** (db_plain / 10)
    added = 10 ** (db_noisy / 10) - power
    # 0 dB: the noise added to each window has the window's own mean power, and is never
    # negative; bands far from the 100 Hz tone, empty before, now hold the noise
    np.testing.assert_allclose(added.mean(axis=(1, 2)), power.mean(axis=(1, 2)), rtol=1e-3)
    assert added.min() > -1e-3 * power.max()
    rise = db_noisy[:, 30:] - db_plain[:, 30:]
    assert rise.min() > 3 and np.median(rise) > 20
    np.testing.assert_array_equal(noisy.predict_proba(X), plain.predict_proba(X))
    with pytest.raises(ValueError, match="noise_snr"):
        WindowClassifier(noise_snr=(30, 10)).fit(X, y)
