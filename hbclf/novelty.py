"""How unlike its training recordings a recording is: the gate behind an "uncertain" answer.

A model answers "uncertain" when a recording's features lie farther from its
training recordings than recordings of a *source it never saw* usually do.
The threshold is set by holding out, in turn, each source of the training
data (each PASCAL set or PhysioNet database; grouped folds when there is a
single source), so a new stethoscope's clean recordings are answered while
what no heart recording resembles is not.

>>> import numpy as np
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> X, y = rng.standard_normal((120, 3)), np.repeat(["a", "b"], 60)
>>> pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
>>> nov = fit_novelty(pipe, X, y, domains=np.repeat(["one", "two", "three"], 40))
>>> nov.held_out_, nov.is_novel(pipe[:-1].transform([[0.1, 0.0, -0.2], [30.0, 0.0, 0.0]])).tolist()
('source', [False, True])
"""

from __future__ import annotations

import numpy as np

__all__ = ["QUANTILE", "READS", "Novelty", "fit_novelty", "gate_end", "reads_features"]

#: The share of every held-out source's recordings the threshold leaves answered.
QUANTILE = 0.95

#: The name of a pipeline step that picks, among the features the gate measures, the
#: columns the classifier reads: "uncertain" is about the recording, whichever of its
#: features a classifier happens to read.
READS = "reads"


class Novelty:
    """How unlike the training recordings a recording is: a squared Mahalanobis distance.

    Measured in the space of the features after every step before the
    classifier (imputed and standardised), or before a step named
    :data:`READS` (:func:`gate_end`), with the Ledoit-Wolf
    covariance of the training recordings. Beyond ``threshold_`` a recording
    is novel; :func:`fit_novelty` sets it from held-out sources.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> nov = Novelty().fit(rng.standard_normal((200, 3)), threshold=20.0)
    >>> nov.is_novel(np.array([[0.1, 0.0, -0.2], [30.0, 0.0, 0.0]])).tolist()
    [False, True]
    """

    def fit(self, Z, *, threshold=None):
        """Estimate the location and covariance of ``Z`` (rows: training recordings)."""
        from sklearn.covariance import LedoitWolf

        cov = LedoitWolf().fit(np.asarray(Z, dtype=float))
        self.location_, self.precision_ = cov.location_, cov.precision_
        self.threshold_ = np.inf if threshold is None else float(threshold)
        return self

    def distance(self, Z):
        """Squared Mahalanobis distance of each row of ``Z``."""
        d = np.asarray(Z, dtype=float) - self.location_
        return np.einsum("ij,jk,ik->i", d, self.precision_, d)

    def is_novel(self, Z):
        """Rows farther than the threshold."""
        return self.distance(Z) > self.threshold_

    def save(self, path):
        """Write as ``.npz`` (arrays only)."""
        np.savez(path, location=self.location_, precision=self.precision_,
                 threshold=np.array(self.threshold_))

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save` (never unpickles)."""
        with np.load(path, allow_pickle=False) as f:
            nov = cls()
            nov.location_, nov.precision_ = f["location"], f["precision"]
            nov.threshold_ = float(f["threshold"])
        return nov


def reads_features(pipe, X):
    """True when ``pipe`` has steps before its classifier and ``X`` is a numeric table
    (the models a novelty gate fits: not networks reading files, not the origin baseline)."""
    X = np.asarray(X) if not hasattr(X, "dtype") else X
    return (hasattr(pipe, "steps") and len(pipe.steps) > 1 and X.ndim == 2
            and X.dtype.kind in "fiu")


def gate_end(pipe):
    """The position of the step before which a novelty gate measures ``pipe``'s features:
    a step named :data:`READS`, else the classifier (the last step).

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.compose import ColumnTransformer
    >>> from sklearn.linear_model import LogisticRegression
    >>> keep = ColumnTransformer([("one", "passthrough", [0])])
    >>> gate_end(Pipeline([("scale", StandardScaler()), ("reads", keep),
    ...                    ("clf", LogisticRegression())]))
    1
    >>> gate_end(Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]))
    1
    """
    names = [name for name, _ in pipe.steps]
    return names.index(READS) if READS in names[:-1] else len(names) - 1


def fit_novelty(pipe, X, y, *, domains=None, groups=None, quantile=QUANTILE, n_splits=5,
                seed=0):
    """The novelty gate of a fitted pipeline, calibrated on held-out sources.

    Each source of ``domains`` (at least two) is held out in turn: the steps
    before :func:`gate_end` (before the classifier, or before the step
    choosing its columns) and a :class:`Novelty` are fitted on the other
    sources, and the ``quantile`` of the held-out source's distances is
    taken; the threshold is the largest of them, so at most ``1 - quantile``
    of any training source would have been "uncertain" had it been new. With
    a single source, grouped folds (``StratifiedGroupKFold`` on ``groups``)
    stand in for the sources. The returned gate's location and covariance
    are those of every training recording, through ``pipe``'s own fitted
    steps.

    Parameters
    ----------
    pipe : Pipeline
        Fitted on ``X, y``; its steps before :func:`gate_end` are refitted on parts.
    X, y : array-like
        The training features and labels.
    domains, groups : array-like, optional
        Source and group (patient, sitting) of every training recording.
    quantile : float, default=QUANTILE
    n_splits : int, default=5
        Grouped folds when there is a single source.
    seed : int, default=0

    Returns
    -------
    Novelty
        With ``held_out_`` (``"source"`` or ``"grouped folds"``) and ``quantile_``.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedGroupKFold

    X, y = np.asarray(X), np.asarray(y)
    steps = pipe[:gate_end(pipe)]
    if domains is not None and len(set(domains)) > 1:
        parts, held_out = np.asarray(domains), "source"
    else:
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        parts, held_out = np.zeros(len(y), dtype=int), "grouped folds"
        split = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        for k, (_, test) in enumerate(split.split(X, y, groups)):
            parts[test] = k
    levels = []
    for part in np.unique(parts):
        fit, test = parts != part, parts == part
        prep = clone(steps).fit(X[fit], y[fit])
        nov = Novelty().fit(prep.transform(X[fit]))
        # "higher": a distance of the part itself, so at most 1 - quantile of it lies beyond
        levels.append(np.quantile(nov.distance(prep.transform(X[test])), quantile,
                                  method="higher"))
    gate = Novelty().fit(steps.transform(X), threshold=max(levels))
    gate.held_out_, gate.quantile_ = held_out, quantile
    return gate
