"""Every hbclf transformer under scikit-learn's output settings: ``set_config(transform_output=
...)`` and ``set_output(transform=...)``, alone and in pipelines.

scikit-learn's ``parametrize_with_checks`` does not run its ``set_output`` checks, so they are
run here explicitly on every transformer that returns a table. Waveforms, frame sequences and
3-D images have no table form (``hbclf.base.NoTableOutputMixin``): they must come out the same
under every setting, and the table made from them must follow the setting.
"""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import TransformerMixin, clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import (check_global_output_transform_pandas,
                                            check_set_output_transform,
                                            check_set_output_transform_pandas)

from hbclf.base import NoTableOutputMixin
from hbclf.datasets import load_pascal
from hbclf.discovery import all_estimators
from hbclf.features import MFCC, FixedLength, Origin, TimeSummary

TRANSFORMERS = [(name, cls) for name, cls in all_estimators()
                if issubclass(cls, TransformerMixin)]
TABLES = [(n, c) for n, c in TRANSFORMERS if not issubclass(c, NoTableOutputMixin)
          and c is not Origin]  # Origin reads paths: tested on its own below
NO_TABLE = [(n, c) for n, c in TRANSFORMERS if issubclass(c, NoTableOutputMixin)]
SET_OUTPUT_CHECKS = (check_set_output_transform, check_set_output_transform_pandas,
                     check_global_output_transform_pandas)


@pytest.fixture(scope="module")
def files():
    return load_pascal("a").filenames[:6]


def test_every_transformer_is_covered():
    names = {n for n, _ in TABLES + NO_TABLE} | {"Origin"}
    assert names == {n for n, _ in TRANSFORMERS}
    assert {"TimeSummary", "RhythmFeatures", "CycleFeatures"} <= {n for n, _ in TABLES}
    assert {"MFCC", "LogMel", "SpectralFeatures", "AudioReader", "FixedLength"} <= {
        n for n, _ in NO_TABLE}


@pytest.mark.parametrize("check", SET_OUTPUT_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name, cls", TABLES, ids=[n for n, _ in TABLES])
def test_sklearn_set_output_checks_on_tables(name, cls, check):
    check(name, cls())


@pytest.mark.parametrize("config", ["default", "pandas"])
@pytest.mark.parametrize("name, cls", NO_TABLE, ids=[n for n, _ in NO_TABLE])
def test_outputs_without_a_table_form_are_left_as_they_are(name, cls, config, files):
    est = cls(frames=20) if cls is FixedLength else cls()
    X = MFCC().fit_transform(files) if cls is FixedLength else files
    plain = clone(est).fit_transform(X)
    with sklearn.config_context(transform_output=config):
        glob = clone(est).fit_transform(X)
    local = clone(est).set_output(transform=config).fit(X).transform(X)
    for out in (glob, local):
        assert type(out) is type(plain) and len(out) == len(plain)
        for a, b in zip(out, plain):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("how", ["global", "set_output"])
def test_the_readme_pipeline_under_pandas_output(how, files):
    data = load_pascal("a")
    pipe = make_pipeline(MFCC(n_mfcc=40), TimeSummary(), StandardScaler(), SVC())
    features = make_pipeline(MFCC(n_mfcc=40), TimeSummary())
    if how == "global":
        with sklearn.config_context(transform_output="pandas"):
            table = features.fit_transform(files)
            pred = pipe.fit(data.filenames[::3], data.label[::3]).predict(files)
    else:
        table = features.set_output(transform="pandas").fit_transform(files)
        pred = pipe.set_output(transform="pandas").fit(data.filenames[::3],
                                                      data.label[::3]).predict(files)
    assert isinstance(table, pd.DataFrame) and table.shape == (6, 240)
    assert list(table.columns[:2]) == ["mfcc0_mean", "mfcc1_mean"]
    default = make_pipeline(MFCC(n_mfcc=40), TimeSummary(), StandardScaler(), SVC())
    np.testing.assert_array_equal(pred, default.fit(data.filenames[::3],
                                                    data.label[::3]).predict(files))


def test_origin_follows_set_output_and_the_global_setting(files):
    plain = Origin().fit_transform(files)
    assert isinstance(plain, np.ndarray)
    local = Origin().set_output(transform="pandas").fit_transform(files)
    with sklearn.config_context(transform_output="pandas"):
        glob = Origin().fit_transform(files)
        default = Origin().set_output(transform="default").fit_transform(files)
    for out in (local, glob):
        assert isinstance(out, pd.DataFrame) and list(out.columns) == ["origin"]
        assert out["origin"].tolist() == plain[:, 0].tolist()
    assert isinstance(default, np.ndarray)  # the estimator's own setting wins


def test_statistics_that_normalisation_fixes_are_not_emitted(files):
    """After cepstral mean normalisation each row's mean is zero by construction (and under
    mean-and-variance normalisation its deviation one): left out, not fed as rounding noise."""
    from hbclf.features import near_constant_columns

    stats = ("mean", "std", "delta_std")
    names = {}
    for norm in (None, "mean", "meanvar"):
        ts = make_pipeline(MFCC(normalize=norm), TimeSummary(stats=stats)).fit(files)
        X = ts.transform(files)
        names[norm] = ts.get_feature_names_out()
        assert X.shape[1] == len(names[norm]) and not len(near_constant_columns(X))
    assert len(names[None]) == 120 and len(names["mean"]) == 80 and len(names["meanvar"]) == 40
    assert not any(n.endswith("_mean") for n in names["mean"])
    assert all(n.endswith("_delta_std") for n in names["meanvar"])
    # the deltas of a normalised row are not fixed: their summaries stay
    with_deltas = make_pipeline(MFCC(n_mfcc=2, deltas=1, normalize="mean"),
                                TimeSummary(stats=("mean",))).fit(files)
    assert list(with_deltas.get_feature_names_out()) == ["mfcc0_d1_mean", "mfcc1_d1_mean"]


def test_no_registry_model_reads_a_column_of_rounding_noise():
    """Every registry model's features, on real recordings of both PASCAL sets: no column is
    constant up to rounding (what a scaler would blow up, and what moves between CPUs)."""
    from hbclf import pipelines
    from hbclf.features import near_constant_columns

    files = np.concatenate([load_pascal("a").filenames[::6], load_pascal("b").filenames[::20]])
    seen = {}
    for name in pipelines.names():
        features, _ = pipelines.split_stateless(pipelines.make(name, quick=True))
        key = repr(features)
        if features is None or name in pipelines.networks() or key in seen:
            continue
        X = features.fit_transform(files)
        if np.asarray(X).dtype.kind not in "fiu":
            continue  # the origin baseline's labels
        seen[key] = near_constant_columns(X)
        assert not len(seen[key]), (name, features.get_feature_names_out()[seen[key]])
    assert len(seen) >= 5  # MFCC summaries (plain, cmn, cmvn), rhythm, cycles
