"""Probe, not part of the main job: how much a decision threshold can do, within databases and
on a database never met.

Three readings of the same question, on the main job's own folds:

1. *Fixed thresholds on the test folds' own scores* (a diagnostic: an oracle no model can use).
   From the fold records in ``results/runs``: ``potes_features`` under PhysioNet grouped
   10-fold, and ``et_cycles_db`` / ``logreg_cycles_db`` under ``heart`` leave-one-database-out,
   each at thresholds on the probability of "abnormal" from 0.30 to 0.55. Recorded: the
   threshold curve was read before ``potes_features`` learned its own threshold.
2. *The learned threshold's inner split*: ``potes_features`` (its threshold learned on grouped
   3-fold out-of-fold predictions of each training fold,
   :class:`hbclf.calibration.GroupedThreshold`)
   refitted on PhysioNet's grouped 10-fold folds with the inner folds shuffled by other seeds
   (the main job's is 0): how much of its MAcc is the inner split's luck.
3. The same with the booster's own decision (no threshold), for reference.

Run from the repository root after the main job (its fold records and feature cache are read;
about four minutes on 2 cores)::

    python -m benchmarks.probes.thresholds --physionet-home ../shared/data/physionet2016

docs/findings.md quotes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

THRESHOLDS = (0.30, 0.35, 0.40, 0.45, 0.48, 0.50, 0.52, 0.55)


def fold_scores(results, task, protocol, model):
    """(index, probability of "abnormal") of every fold record of a model."""
    out = []
    for f in sorted(Path(results, "runs", task, protocol, model).glob("fold*.json")):
        rec = json.loads(f.read_text())
        column = rec["classes"].index("abnormal")
        out.append((np.array(rec["index"]), np.array(rec["class_scores"])[:, column]))
    return out


def fixed_thresholds(results, task, protocol, model, y):
    """Mean over the folds of MAcc (balanced accuracy, as :mod:`hbclf.metrics` computes it) at
    each of :data:`THRESHOLDS`."""
    from sklearn.metrics import balanced_accuracy_score

    folds = fold_scores(results, task, protocol, model)
    return {t: float(np.mean([balanced_accuracy_score(y[i] == "abnormal", p > t)
                              for i, p in folds])) for t in THRESHOLDS}


def refit(k, fold, head, X, data, seed):
    """MAcc, Se, Sp and the threshold of ``head`` (inner folds shuffled by ``seed``) on fold
    ``k``."""
    from sklearn.base import clone

    from hbclf import tasks

    train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
    est = clone(head)
    if seed is None:  # the booster's own decision
        est.steps[-1] = (est.steps[-1][0], est.steps[-1][1].estimator)
    else:
        est.set_params(clf__random_state=seed)
    est, rec = tasks.evaluate_fold("physionet", est, X, data.y, data.groups, train, test,
                                   domains=data.origin)
    s = rec["scores"]
    return s["macc"], s["sensitivity"], s["specificity"], getattr(est[-1], "threshold_", None)


def main(argv=None):
    from joblib import Parallel, delayed

    from benchmarks.probes import cache_parser, cached_features
    from hbclf import tasks

    ap = cache_parser(__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = ap.parse_args(argv)

    print("| task, protocol, model | " + " | ".join(f"{t:.2f}" for t in THRESHOLDS) + " |")
    print("|---" * (len(THRESHOLDS) + 1) + "|")
    for task, protocol, models in (("physionet", "grouped-10-fold", ["potes_features"]),
                                   ("heart", "lodo", ["et_cycles_db", "logreg_cycles_db"])):
        y = np.asarray(tasks.get(task).load(physionet_home=args.physionet_home).y)
        for model in models:
            row = fixed_thresholds(args.results, task, protocol, model, y)
            print(f"| {task}, {protocol}, {model} | "
                  + " | ".join(f"{v:.4f}" for v in row.values()) + " |")

    data = tasks.get("physionet").load(physionet_home=args.physionet_home)
    _, head, X = cached_features("potes_features", data.filenames, args)
    fold, _ = tasks.make_folds("grouped-10-fold", data.y, data.groups, data.origin, seed=0)
    print("\n| inner folds' seed | MAcc | Se | Sp | thresholds on P(normal) |")
    print("|---|---|---|---|---|")
    for seed in [None, *args.seeds]:
        rows = Parallel(n_jobs=args.n_jobs)(delayed(refit)(k, fold, head, X, data, seed)
                                            for k in range(10))
        m, se, sp, t = zip(*rows)
        span = "–" if seed is None else f"{min(t):.3f}–{max(t):.3f}"
        print(f"| {'none (the booster’s own decision)' if seed is None else seed} | "
              f"{np.mean(m):.4f} ± {np.std(m, ddof=1):.3f} | {np.mean(se):.3f} | "
              f"{np.mean(sp):.3f} | {span} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
