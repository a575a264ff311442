"""The model registry: every benchmarked model as a ready scikit-learn Pipeline.

>>> from hbclf import pipelines
>>> pipelines.names()  # doctest: +NORMALIZE_WHITESPACE
['origin', 'dummy', 'logreg', 'svm', 'rf', 'knn', 'gb', 'svm_cmn', 'svm_cmvn',
 'logreg_rhythm', 'svm_rhythm', 'logreg_cycles', 'et_cycles', 'logreg_cycles_db',
 'et_cycles_db', 'et_cycles_experts', 'et_contrasts_experts', 'sample_entry',
 'potes_features', 'cnn', 'rnn']
>>> pipe = pipelines.make("svm")
>>> [name for name, _ in pipe.steps]
['mfcc', 'summary', 'scale', 'clf']

``origin`` sees nothing but where a recording came from (PASCAL set or
PhysioNet database, :class:`~hbclf.features.Origin`): the score that the
origin alone explains. ``svm_cmn`` and ``svm_cmvn`` are ``svm`` on MFCCs
normalised per recording (``MFCC(normalize="mean")``, cepstral mean
normalisation, and ``"meanvar"``): the benchmark, not a hand, says whether
removing each recording's fixed spectral colouring helps on a database never
seen (``lodo``); they read 80 and 40 features, since the mean (and, under
``"meanvar"``, the deviation) that normalisation fixes is not summarised. The
``*_rhythm`` models add the heart rate and rhythm of
:class:`~hbclf.features.RhythmFeatures` to the same table. The ``*_cycles``
models read no whole-recording spectrum at all: only
:class:`~hbclf.features.CycleFeatures` (each state's energy relative to the
others', per heart cycle: ratios a device's response largely cancels) and the
rhythm. The ``*_cycles_db`` models are the same, trained with every
(database, class) cell weighing the same
(:class:`~hbclf.domains.DomainBalancedClassifier`; the harness hands each
recording's origin to ``fit``): the database's share of abnormal recordings
can no longer be learned in place of the heart, and they leave out the
columns that measure the recording rather than the heart
(:data:`RECORDING_COLUMNS`: how many cycles were found, and the detection
quality), which differ by database. ``et_cycles_experts`` reads the same
columns as ``et_cycles_db`` but fits one class-balanced ExtraTrees of 100
trees per database and averages their probabilities
(:class:`~hbclf.domains.DomainExpertsClassifier`): every database one equal
vote. ``et_contrasts_experts`` is the same experts on the 18 columns a
murmur can only raise (:data:`~hbclf.features.MURMUR_CONTRASTS`: the medians
of systole / S1, diastole / S2 and systole / diastole in every band), nothing
of the rhythm, the spreads or the S2 / S1 balance: the model of what a
murmur is, for a device never met. ``sample_entry`` reproduces
the PhysioNet/CinC Challenge 2016 sample entry (Liu et al. 2016): its 20
interval and amplitude features of the segmented cycles
(:class:`~hbclf.features.IntervalFeatures`) and a logistic regression, on
hbclf's segmenter instead of Springer's code. ``potes_features`` is the
feature-based half of the Challenge 2016 winner (Potes et al. 2016): 124
time-frequency features of the segmented cycles
(:class:`~hbclf.features.StateFeatures`) and AdaBoost on decision stumps
(:class:`~hbclf.boosting.StumpBoostClassifier`, discrete SAMME as
scikit-learn computes it, where the paper used its AdaBoost-abstain variant;
every (database, class) cell weighing the same, as in the ``*_db`` models,
where the paper weighted nothing), deciding with a threshold learned on
grouped folds of its training data
(:class:`~hbclf.calibration.GroupedThreshold`); its CNN half and their ensemble are not
here. Baselines read 40 MFCCs
summarised over time by their mean, standard
deviation and the standard deviation of their frame-to-frame change
(:class:`~hbclf.features.TimeSummary`), 120 features: the design the
project's reference numbers were measured with. The networks (the seed's CNN,
and an LSTM) read 40 x 130 MFCC windows, the seed's image, from anywhere in a
recording (:class:`~hbclf.windows.WindowClassifier`): trained on every window
of every recording, each recording weighing the same (an epoch draws about one
window per recording, a fresh one each epoch: the cost of the seed's single
image), with a random equaliser, gain and background noise (device and room
augmentation), they score a recording by the mean log-probability of all its
windows. Every pipeline
starts with steps that learn nothing (feature extraction), so their output
can be computed once per recording and shared by all folds and models
(:func:`split_stateless`, :func:`feature_table`) without leaking anything
from a test fold.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline

from .base import LearnsNothingMixin
from .features import (MFCC, MURMUR_CONTRASTS, CycleFeatures, IntervalFeatures, Origin,
                       RhythmFeatures, StateFeatures, TimeSummary)
from .novelty import READS

_ORIGIN = ("origin",)
_BASELINES = ("dummy", "logreg", "svm", "rf", "knn", "gb")
_NORMALISED = {"svm_cmn": "mean", "svm_cmvn": "meanvar"}
_RHYTHM = ("logreg_rhythm", "svm_rhythm")
_CYCLES = ("logreg_cycles", "et_cycles")
# the *_cycles models, database-balanced; one ExtraTrees per database, averaged, on the heart's
# columns or on the murmur contrasts alone
_DOMAIN = ("logreg_cycles_db", "et_cycles_db", "et_cycles_experts", "et_contrasts_experts")
_PUBLISHED = ("sample_entry", "potes_features")  # published methods, reimplemented
_NETWORKS = ("cnn", "rnn")


def names():
    """Names accepted by :func:`make`, baselines first."""
    return list(_ORIGIN + _BASELINES + tuple(_NORMALISED) + _RHYTHM + _CYCLES + _DOMAIN
                + _PUBLISHED + _NETWORKS)


def networks():
    """The registered models that are Keras networks (they need ``hbclf[neural]``)."""
    return list(_NETWORKS)


def _spectral_summary(normalize=None):
    return [("mfcc", MFCC(n_mfcc=40, normalize=normalize)),
            ("summary", TimeSummary(stats=("mean", "std", "delta_std")))]


def _classifier(name, random_state, quick):
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    if name == "dummy":
        return DummyClassifier(strategy="prior")
    if name == "logreg":
        return LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000)
    if name == "svm":  # no probabilities: hbclf.models.train calibrates it for a saved model
        return SVC(C=1.0, gamma="scale", class_weight="balanced", random_state=random_state)
    if name == "rf":
        return RandomForestClassifier(n_estimators=100 if quick else 300,
                                      class_weight="balanced_subsample", min_samples_leaf=2,
                                      random_state=random_state, n_jobs=1)
    if name == "et":
        return ExtraTreesClassifier(n_estimators=100 if quick else 500,
                                    class_weight="balanced_subsample", min_samples_leaf=2,
                                    random_state=random_state, n_jobs=1)
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=7, weights="distance")
    if name == "gb":
        return HistGradientBoostingClassifier(max_iter=50 if quick else 200, learning_rate=0.05,
                                              class_weight="balanced",
                                              random_state=random_state)
    raise ValueError(f"unknown model {name!r}; choose from {names()}")


#: Columns of the cycle and rhythm features that measure the recording rather than the
#: heart: how many cycles were found (a recording's length) and the detection quality
#: (its noise). Both differ by database and device.
RECORDING_COLUMNS = ("n_cycles", "quality")


def _without_recording_columns(union):
    """A step dropping :data:`RECORDING_COLUMNS` from ``union``'s table, the others kept in order.

    It learns nothing, but it sits after the features (it drops columns by position), so
    the features are those of the models that keep every column and are computed once for
    both."""
    from sklearn.compose import ColumnTransformer

    names = union.get_feature_names_out()
    drop = [i for i, n in enumerate(names) if n.split("__")[-1] in RECORDING_COLUMNS]
    return ColumnTransformer([("recording", "drop", drop)], remainder="passthrough",
                             verbose_feature_names_out=False)


def _murmur_contrasts(union):
    """A step keeping the :data:`~hbclf.features.MURMUR_CONTRASTS` among the columns
    :func:`_without_recording_columns` leaves of ``union``'s table, in their order.

    It sits after the imputing and scaling, named :data:`hbclf.novelty.READS`, so the
    novelty gate measures the heart's columns as for every other database-balanced model."""
    from sklearn.compose import ColumnTransformer

    heart = [n.split("__")[-1] for n in union.get_feature_names_out()
             if n.split("__")[-1] not in RECORDING_COLUMNS]
    keep = [i for i, n in enumerate(heart) if n in MURMUR_CONTRASTS]
    return ColumnTransformer([("murmur", "passthrough", keep)], verbose_feature_names_out=False)


def make(name, *, random_state=0, quick=False, n_threads=None):
    """A fresh Pipeline for a registered model.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    random_state : int, default=0
        Seed of every random part.
    quick : bool, default=False
        Smaller models and few epochs, for smoke tests (not for results).
    n_threads : int, optional
        TensorFlow threads for the networks (see :mod:`hbclf.neural`).

    Returns
    -------
    sklearn.pipeline.Pipeline
    """
    from sklearn.preprocessing import StandardScaler

    if name == "origin":  # sees only where a recording came from
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import OneHotEncoder

        return Pipeline([
            ("origin", Origin()),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
            ("clf", LogisticRegression(class_weight="balanced", max_iter=2000)),
        ])
    if name in _BASELINES or name in _NORMALISED:
        return Pipeline(_spectral_summary(_NORMALISED.get(name)) + [
            ("scale", StandardScaler()),
            ("clf", _classifier(name.split("_")[0], random_state, quick)),
        ])
    if name in _RHYTHM:
        from sklearn.impute import SimpleImputer

        union = FeatureUnion([("spectral", Pipeline(_spectral_summary())),
                              ("rhythm", RhythmFeatures())])
        return Pipeline([
            ("features", union),
            ("impute", SimpleImputer(strategy="median")),  # rhythm of undetected recordings
            ("scale", StandardScaler()),
            ("clf", _classifier(name.split("_")[0], random_state, quick)),
        ])
    if name in _CYCLES or name in _DOMAIN:
        from sklearn.impute import SimpleImputer

        union = FeatureUnion([("cycles", CycleFeatures()), ("rhythm", RhythmFeatures())])
        clf = _classifier(name.split("_")[0], random_state, quick)
        steps = [("features", union)]
        if name in _DOMAIN:  # the (database, class) cells balance the classes: no class weight
            from .domains import DomainBalancedClassifier, DomainExpertsClassifier

            clf.set_params(class_weight=None)
            if name.endswith("_experts"):  # 100 trees per database: seven forests per fit
                clf = DomainExpertsClassifier(clf.set_params(n_estimators=100))
            else:
                clf = DomainBalancedClassifier(clf)
            # for a device never met: the heart's columns only
            steps.append(("heart", _without_recording_columns(union)))
        steps += [("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                  ("scale", StandardScaler())]
        if "_contrasts_" in name:  # the classifier reads only what a murmur raises
            steps.append((READS, _murmur_contrasts(union)))
        return Pipeline(steps + [("clf", clf)])
    if name == "sample_entry":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression

        return Pipeline([
            ("intervals", IntervalFeatures()),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(class_weight="balanced", max_iter=2000)),
        ])
    if name == "potes_features":
        from sklearn.impute import SimpleImputer

        from .boosting import StumpBoostClassifier
        from .calibration import GroupedThreshold
        from .domains import DomainBalancedClassifier

        # balanced by sample weights the booster itself reweights (class weights inside the
        # stumps left SAMME's first stump "worse than random" on PASCAL's four or five classes)
        boost = StumpBoostClassifier(n_estimators=50 if quick else 300, learning_rate=0.5)
        # the decision threshold learned on the training data alone (grouped 3-fold
        # out-of-fold predictions): SAMME's probabilities crowd around one half
        return Pipeline([
            ("states", StateFeatures()),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),  # nothing to boosted stumps; the novelty gate reads it
            ("clf", GroupedThreshold(DomainBalancedClassifier(boost), n_splits=3,
                                     random_state=random_state)),
        ])
    if name in _NETWORKS:
        from . import neural  # imports TensorFlow: only when a network is asked for

        # 30 epochs at most: the cost that keeps the main job under 45 minutes on 2 cores
        common = dict(random_state=random_state, n_threads=n_threads,
                      epochs=2 if quick else 30, patience=8, class_weight="balanced",
                      weighted_draws=True)
        from .windows import WindowClassifier

        net = (neural.CNNClassifier(**common) if name == "cnn"
               else neural.RNNClassifier(units=(32,), **common))
        # every half-overlapping window of the training recordings, weighted so that each
        # recording counts once per epoch (weighted_draws: a fresh window each epoch); noise
        # from 40 dB (near silence) to 10 dB below the recording. Predictions average every window
        return Pipeline([("mfcc", MFCC(n_mfcc=40)),
                         ("clf", WindowClassifier(net, frames=130, hop=65, eq=0.5,
                                                  noise_snr=(10.0, 40.0),
                                                  random_state=random_state))])
    raise ValueError(f"unknown model {name!r}; choose from {names()}")


def param_grid(name):
    """A small grid for nested search over the final estimator (``clf__...``)."""
    grids = {
        "origin": {},
        "dummy": {},
        "logreg": {"clf__C": [0.01, 0.1, 1.0]},
        "svm": {"clf__C": [0.3, 1.0, 3.0]},
        "svm_cmn": {"clf__C": [0.3, 1.0, 3.0]},
        "svm_cmvn": {"clf__C": [0.3, 1.0, 3.0]},
        "logreg_rhythm": {"clf__C": [0.01, 0.1, 1.0]},
        "svm_rhythm": {"clf__C": [0.3, 1.0, 3.0]},
        "logreg_cycles": {"clf__C": [0.01, 0.1, 1.0]},
        "et_cycles": {"clf__min_samples_leaf": [1, 3]},
        "logreg_cycles_db": {"clf__estimator__C": [0.01, 0.1, 1.0]},
        "et_cycles_db": {"clf__estimator__min_samples_leaf": [1, 3]},
        "et_cycles_experts": {"clf__estimator__min_samples_leaf": [1, 3]},
        "et_contrasts_experts": {"clf__estimator__min_samples_leaf": [1, 3]},
        "sample_entry": {"clf__C": [0.1, 1.0, 10.0]},
        "potes_features": {"clf__estimator__estimator__n_estimators": [100, 300]},
        "rf": {"clf__min_samples_leaf": [1, 3]},
        "knn": {"clf__n_neighbors": [5, 9]},
        "gb": {"clf__learning_rate": [0.05, 0.1]},
        "cnn": {"clf__estimator__dropout": [0.1, 0.3]},
        "rnn": {"clf__estimator__units": [(32,), (64,)]},
    }
    return grids[name]


def split_stateless(pipe):
    """Split a Pipeline into its leading feature steps (which learn nothing) and the rest.

    Returns
    -------
    features : Pipeline or None
        The leading steps that are hbclf feature extractors.
    model : Pipeline
        The remaining steps, fitted per fold.
    """
    k = 0
    while k < len(pipe.steps) and learns_nothing(pipe.steps[k][1]):
        k += 1
    return (pipe[:k] if k else None), pipe[k:]


#: Recordings per ``fit_transform`` call in :func:`feature_table`: as many as
#: :func:`hbclf.heartbeat.detect` remembers.
FEATURE_BATCH = 4


def feature_table(featurizer, files, *, n_jobs=None):
    """``featurizer.fit_transform(files)`` for many recordings, in less time.

    The recordings are shared among ``n_jobs`` processes (every ``n_jobs``-th
    to each), and each process hands them to the featurizer four at a time,
    so that the transformers of a union that segment the same recording
    (:class:`~hbclf.features.CycleFeatures` and
    :class:`~hbclf.features.RhythmFeatures`) find it in
    :func:`hbclf.heartbeat.detect`'s memory of the last few: segmented once,
    not once per transformer (on 300 PhysioNet and PASCAL recordings, 10.1 s
    in one call, 6.8 s four at a time, one process). The featurizer must learn
    nothing (the first part of :func:`split_stateless`); its rows are then the
    same, in the same order, whatever ``n_jobs`` is. A featurizer whose output
    is not a 2-D table (MFCC sequences for a network) reads every file in one
    call. Several featurizers of the same recordings: :func:`feature_tables`.

    Parameters
    ----------
    featurizer : estimator
        Steps that learn nothing (:func:`learns_nothing`).
    files : sequence
        Paths (or waveforms) of the recordings.
    n_jobs : int, optional
        Processes (joblib's convention: None one, -1 every core).

    Returns
    -------
    ndarray of shape (len(files), n_features), or what the featurizer returns

    Examples
    --------
    >>> from hbclf.datasets import load_pascal
    >>> featurizer, _ = split_stateless(make("et_cycles"))
    >>> feature_table(featurizer, load_pascal("a").filenames[:6]).shape
    (6, 64)
    """
    return feature_tables([featurizer], files, n_jobs=n_jobs)[0]


def feature_tables(featurizers, files, *, n_jobs=None):
    """:func:`feature_table` of several featurizers over the same recordings, computed together.

    Each batch of four recordings goes through every featurizer in turn, so
    that featurizers which segment a recording (cycle, rhythm, interval and
    state features: ``et_cycles``, ``sample_entry``, ``potes_features``, the
    ``*_rhythm`` models) find it in :func:`hbclf.heartbeat.detect`'s memory
    and it is segmented once for all of them (on 150 PhysioNet and PASCAL
    recordings, those four featurizers took 9.5 s one after another and 5.0 s
    together, one process). Each table is the one :func:`feature_table` gives.

    Parameters
    ----------
    featurizers : sequence of estimators
        Each made of steps that learn nothing (:func:`learns_nothing`).
    files : sequence
        Paths (or waveforms) of the recordings.
    n_jobs : int, optional
        Processes (joblib's convention: None one, -1 every core).

    Returns
    -------
    list
        One entry per featurizer: ``feature_table(featurizer, files)``.

    Examples
    --------
    >>> from hbclf.datasets import load_pascal
    >>> steps = [split_stateless(make(name))[0] for name in ("et_cycles", "sample_entry")]
    >>> [table.shape for table in feature_tables(steps, load_pascal("a").filenames[:6])]
    [(6, 64), (6, 20)]
    """
    from joblib import Parallel, delayed, effective_n_jobs

    featurizers, files = list(featurizers), list(files)
    for featurizer in featurizers:
        if not learns_nothing(featurizer):
            raise ValueError(f"feature_table needs steps that learn nothing, got {featurizer!r}")
    firsts = [featurizer.fit_transform(files[:FEATURE_BATCH]) for featurizer in featurizers]
    out = [first if isinstance(first, np.ndarray) and first.ndim == 2
           else featurizer.fit_transform(files) for featurizer, first in zip(featurizers, firsts)]
    tables = [k for k, first in enumerate(firsts) if out[k] is first]
    if not tables:
        return out
    rest = files[FEATURE_BATCH:]
    workers = max(min(effective_n_jobs(n_jobs), len(rest) // (8 * FEATURE_BATCH)), 1)

    def share(part):  # one list of rows per table, each batch through every featurizer in turn
        rows = [[firsts[k][:0]] for k in tables]
        for i in range(0, len(part), FEATURE_BATCH):
            for k, table_rows in zip(tables, rows):
                table_rows.append(featurizers[k].fit_transform(part[i:i + FEATURE_BATCH]))
        return [np.vstack(table_rows) for table_rows in rows]

    parts = (Parallel(n_jobs=workers)(delayed(share)(rest[k::workers]) for k in range(workers))
             if workers > 1 else [share(rest)])
    for j, k in enumerate(tables):
        first = firsts[k]
        table = np.empty((len(files), first.shape[1]),
                         dtype=np.result_type(first, *[part[j] for part in parts]))
        table[:len(first)] = first
        for w, part in enumerate(parts):
            table[len(first) + w::workers] = part[j]
        out[k] = table
    return out


def learns_nothing(step):
    """Whether a step (or every step of a Pipeline / FeatureUnion) carries
    :class:`~hbclf.base.LearnsNothingMixin`, so its output depends on one recording."""
    if isinstance(step, LearnsNothingMixin):
        return True
    if isinstance(step, Pipeline):
        return all(learns_nothing(s) for _, s in step.steps)
    if isinstance(step, FeatureUnion):
        return all(learns_nothing(s) for _, s in step.transformer_list)
    return False
