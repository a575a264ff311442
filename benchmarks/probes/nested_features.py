"""Probe, not part of the main job: does adding the sample entry's interval features help
``et_cycles_db`` on a database it has never seen, when the choice is made without that database?

Two feature sets for the shipped kind of model (``et_cycles_db``'s database-balanced
ExtraTrees): its own cycle and rhythm features, and the same with the Challenge 2016
sample entry's 20 interval and amplitude features (``IntervalFeatures``). Under
leave-one-database-out on ``heart``, for each held-out database the set is chosen by
an inner leave-one-database-out over the *training* databases only (the README's
ranking: the mean of the inner mean MAcc and the inner worst database's), refitted on
every training database and scored on the held-out one. Both sets are also scored
without the choice, for comparison. An earlier look at the outer folds alone (mean
0.616, worst 0.514, against 0.618 and 0.471) chose nothing: this is that check, nested.

With ``--compare subsets`` the sets are instead every column of the cycle and rhythm table
(``et_cycles_db`` before 2026-12-04), the same without ``n_cycles`` and the two ``quality``
columns (counts that follow a recording's length and noise, which differ by database:
``et_cycles_db`` since, :data:`hbclf.pipelines.RECORDING_COLUMNS`), and the cycles' medians
alone (no spread across cycles, no rhythm). The first is listed first, so it wins ties.

Run from the repository root after the main job (its feature cache is reused; about
three minutes on 2 cores)::

    python -m benchmarks.probes.nested_features --physionet-home ../shared/data/physionet2016
    python -m benchmarks.probes.nested_features --compare subsets \
        --physionet-home ../shared/data/physionet2016

docs/findings.md quotes it.
"""

from __future__ import annotations

import numpy as np


def macc_per_database(head, X, data, train, *, seed=0):
    """MAcc of ``head`` on each database of ``train`` held out from the others (lodo)."""
    from sklearn.base import clone

    from hbclf import tasks

    out = {}
    for db in np.unique(data.origin[train]):
        inner_test = train[data.origin[train] == db]
        inner_train = train[data.origin[train] != db]
        _, rec = tasks.evaluate_fold("heart", clone(head), X, data.y, data.groups,
                                     inner_train, inner_test, seed=seed, domains=data.origin)
        out[str(db)] = rec["scores"]["macc"]
    return out


def outer_fold(db, tables, head, data, seed=0):
    """For held-out database ``db``: each set's inner scores, the choice, and every set's
    MAcc on ``db``."""
    from sklearn.base import clone

    from benchmarks.readme import ranking_score
    from hbclf import tasks

    train = np.flatnonzero(data.origin != db)
    test = np.flatnonzero(data.origin == db)
    inner, outer = {}, {}
    for name, X in tables.items():
        per = macc_per_database(head, X, data, train, seed=seed)
        inner[name] = ranking_score(list(per.values()))
        _, rec = tasks.evaluate_fold("heart", clone(head), X, data.y, data.groups, train, test,
                                     seed=seed, domains=data.origin)
        outer[name] = rec["scores"]["macc"]
    chosen = max(inner, key=inner.get)  # ties: the first set, the model's own
    return {"database": str(db), "chosen": chosen, "macc": outer[chosen],
            **{f"inner {k}": v for k, v in inner.items()}, **outer}


def subsets(X, featurizer):
    """The cycle + rhythm table ``X`` whole, without the columns that follow a recording's
    length and quality (``n_cycles``, ``quality``: ``et_cycles_db``'s), and the cycles'
    medians alone (no spread across cycles, no rhythm)."""
    from hbclf.pipelines import RECORDING_COLUMNS

    names = featurizer.get_feature_names_out()
    keep = {"every column": [True] * len(names),
            "- n_cycles, quality": [n.split("__")[-1] not in RECORDING_COLUMNS for n in names],
            "cycle medians": [n.startswith("cycles__") and n.endswith("_median") for n in names]}
    return {k: X[:, np.array(v)] for k, v in keep.items()}


def main(argv=None):
    from joblib import Parallel, delayed

    from benchmarks.probes import cache_parser, cached_features
    from benchmarks.readme import ranking_score
    from hbclf import tasks

    ap = cache_parser(__doc__)
    ap.add_argument("--compare", choices=["intervals", "subsets"], default="intervals",
                    help="the feature sets: the model's own and with the interval features "
                         "(default), or the model's own and two subsets of it")
    args = ap.parse_args(argv)
    data = tasks.get("heart").load(physionet_home=args.physionet_home)
    cycles, head, table = cached_features("et_cycles_db", data.filenames, args)
    tables = subsets(table, cycles)
    head.set_params(heart="passthrough")  # its columns are chosen here, in the tables
    if args.compare == "intervals":
        _, _, more = cached_features("sample_entry", data.filenames, args)
        own = tables["- n_cycles, quality"]
        tables = {"cycles + rhythm": own, "+ intervals": np.hstack([own, more])}
    rows = Parallel(n_jobs=args.n_jobs)(delayed(outer_fold)(db, tables, head, data)
                                        for db in np.unique(data.origin))
    names = list(tables)
    print("| held-out database | inner score: " + " | inner score: ".join(names) + " | chosen | "
          + " | ".join(f"MAcc {n}" for n in names) + " | MAcc chosen |")
    print("|---" * (2 * len(names) + 3) + "|")
    for r in rows:
        print(f"| {r['database']} | " + " | ".join(f"{r['inner ' + n]:.3f}" for n in names)
              + f" | {r['chosen']} | " + " | ".join(f"{r[n]:.3f}" for n in names)
              + f" | {r['macc']:.3f} |")
    for label, key in [(n, n) for n in names] + [("nested choice", "macc")]:
        v = np.array([r[key] for r in rows])
        print(f"{label}: mean {v.mean():.3f}, worst {v.min():.3f}, ranking score "
              f"{ranking_score(v):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
