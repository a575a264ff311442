"""What a run keeps between runs: fold records, their fingerprints, the feature cache, timings.

A finished (task, protocol, model, fold) is one JSON file under ``<out>/runs/``,
written atomically; it is reused only while its fingerprint matches: the run's
settings, the model's parameters and a digest of the hbclf code that loads
data, computes features and fits and scores models.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def params_text(est):
    """Every parameter of an estimator, nested ones included, as stable text."""
    from sklearn.base import BaseEstimator

    items = []
    for key, value in sorted(est.get_params(deep=True).items()):
        if isinstance(value, BaseEstimator):
            value = type(value).__name__
        elif isinstance(value, list) and value and isinstance(value[0], tuple):
            value = [name for name, *_ in value]  # steps / transformer_list: names only
        items.append(f"{key}={value!r}")
    return f"{type(est).__name__}({', '.join(items)})"


#: hbclf modules that neither compute features nor fit models (presentation, files, CLI).
NOT_IN_DIGEST = ("cli.py", "display.py", "model_files.py", "__main__.py", "datasets/bundle.py",
                 "datasets/__main__.py")
#: Data files of hbclf that change what its code computes (the shipped segmenter's weights).
DIGEST_DATA = ("pretrained/segmenter.json",)


def code_digest():
    """SHA-256 of the code that loads data, computes features, fits and scores models.

    All of ``hbclf`` but :data:`NOT_IN_DIGEST`, and :data:`DIGEST_DATA`. This harness's own
    code only arranges folds and renders tables, which are re-rendered on every run.
    """
    import hbclf

    root = Path(hbclf.__file__).parent
    h = hashlib.sha256()
    for f in sorted([*root.rglob("*.py"), *(root / d for d in DIGEST_DATA)]):
        rel = f.relative_to(root).as_posix()
        if rel not in NOT_IN_DIGEST:
            h.update(rel.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def fingerprint(config, code, model_text):
    """What a finished fold must match to be reused."""
    blob = json.dumps({"config": config, "code": code, "model": model_text}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def extract(featurizer, files, cache_dir, code, *, n_jobs=1, memo=None):
    """Features of every recording, cached on disk: :func:`extract_many` of one featurizer."""
    return extract_many([featurizer], files, cache_dir, code, n_jobs=n_jobs,
                        memos=None if memo is None else [memo])[0]


def extract_many(featurizers, files, cache_dir, code, *, n_jobs=1, memos=None):
    """Each featurizer's features of every recording, cached on disk, computed together.

    The cache key is a featurizer's parameters, the paths and ``code`` (the
    digest of hbclf's code), so a code change never reuses stale features.
    The featurizers not in the cache read the recordings together through
    :func:`hbclf.pipelines.feature_tables` (``n_jobs`` processes, a few
    recordings at a time, each segmented once for all of them): each table is
    the same as one process's, in the same order.
    ``memos`` (one ``{path: row}`` per featurizer, its rows computed earlier
    in the run) spare computing a recording again for another task: only the
    recordings some featurizer lacks are computed, and the rows are added.
    """
    from joblib import Memory

    from hbclf import pipelines

    files = [str(f) for f in files]
    memos = [{} for _ in featurizers] if memos is None else memos
    ready = {}

    def compute(featurizer, files, code, n_jobs):
        if id(featurizer) not in ready:  # the cache held a stale entry after all
            return pipelines.feature_table(featurizer, files, n_jobs=n_jobs)
        return ready[id(featurizer)]

    cached = Memory(cache_dir, verbose=0).cache(compute, ignore=["n_jobs"])
    pending = [i for i, featurizer in enumerate(featurizers)
               if not cached.check_call_in_cache(featurizer, files, code, n_jobs)]
    todo = [f for f in files if any(f not in memos[i] for i in pending)]
    new = pipelines.feature_tables([featurizers[i] for i in pending], todo, n_jobs=n_jobs) \
        if todo else [None] * len(pending)
    for i, X in zip(pending, new):
        if isinstance(X, np.ndarray) and X.ndim == 2:
            memos[i].update(zip(todo, X))
        elif X is not None:  # not a table: the memo holds none of it, so todo is every file
            ready[id(featurizers[i])] = X
            continue
        ready[id(featurizers[i])] = X if len(todo) == len(files) else \
            np.stack([memos[i][f] for f in files])
    return [cached(featurizer, files, code, n_jobs) for featurizer in featurizers]


def augmented_copies(files, cache_dir, code, *, seed, n_jobs=1):
    """One device-augmented copy of every recording (:func:`hbclf.augment.augment_files`),
    written once under ``cache_dir`` in a folder named after the code digest, the seed and the
    recordings; their paths, in the order of ``files``."""
    from hbclf.augment import augment_files

    key = hashlib.sha256("\n".join([code, str(seed), *map(str, files)]).encode()).hexdigest()
    folder = Path(cache_dir) / "augmented" / key[:16]
    done = folder / "complete.txt"
    if done.is_file():
        return done.read_text().splitlines()
    paths = augment_files(files, folder, random_state=seed, n_jobs=n_jobs)
    atomic_write(done, "\n".join(paths))
    return paths


def atomic_write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_timings(path, timings):
    """Merge this run's seconds per fold (fit and predict) into ``timings.csv``."""
    keys = ["task", "protocol", "model", "fold"]
    new = pd.DataFrame(timings)
    if path.is_file():
        old = pd.read_csv(path)
        if list(old.columns) == list(new.columns):
            new = pd.concat([old, new]).drop_duplicates(keys, keep="last")
    atomic_write(path, new.sort_values(keys).to_csv(index=False, float_format="%.3f"))



def read_record(path, fingerprint, *, force=False):
    """The finished fold at ``path`` if its fingerprint matches (and not ``force``), else None."""
    path = Path(path)
    if force or not path.is_file():
        return None
    rec = json.loads(path.read_text())
    return rec if rec.get("fingerprint") == fingerprint else None


def write_record(path, rec):
    """Keep one finished fold (atomically: an interrupted run never leaves half a file)."""
    atomic_write(path, json.dumps(rec))


def pooled_predictions(records, model, n):
    """Pooled out-of-fold predictions and class scores of one model."""
    pred = np.empty(n, dtype=object)
    mine = [r for r in records if r["model"] == model]
    classes = mine[0]["classes"]
    scores = np.full((n, len(classes)), np.nan)
    for r in mine:
        pred[r["index"]] = r["pred"]
        scores[r["index"]] = np.asarray(r["class_scores"])
    return pred, scores, classes


def pooled_novel(records, model, n):
    """Whether each recording's fold put it beyond the model's novelty gate (1.0 or 0.0), NaN
    for a model without one (networks, the origin baseline)."""
    novel = np.full(n, np.nan)
    for r in records:
        if r["model"] == model and r.get("novel") is not None:
            novel[r["index"]] = r["novel"]
    return novel
