"""Probe, not part of the main job: the shipped kind of model on short clips of a database it
has never seen, as an external murmur corpus of 1.2-4 s clips reached it.

Under leave-one-database-out on ``heart``, ``et_cycles_db`` (the shipped kind: cycle and
rhythm features, database-balanced ExtraTrees) is fitted on the other databases and scored
on the held-out one three times: on its whole recordings (the main job's ``lodo``), on one
clip of each, 1.2-4 s long (uniform) from a uniform start, drawn from a seed per recording,
and on the same clips played through a random other device
(:func:`hbclf.augment.simulate_device`). The novelty gate is fitted as the harness fits it
(:func:`hbclf.novelty.fit_novelty` on the training rows), so ``uncertain`` is the share a
model would refuse. Then the same with the training databases' own clips (one per training
recording, drawn the same way, in its recording's group and database) added to the training
rows: does a model and a gate that have seen short clips answer short clips of a new device
more, and better?

Run from the repository root after the main job (its feature cache is reused for the whole
recordings; about two minutes on 2 cores)::

    python -m benchmarks.probes.short_clips --physionet-home ../shared/data/physionet2016
    python -m benchmarks.probes.short_clips --model et_cycles_experts \
        --physionet-home ../shared/data/physionet2016

docs/findings.md quotes it.
"""

from __future__ import annotations

import numpy as np

SHORTEST, LONGEST = 1.2, 4.0  # s: the clips' lengths, as the external murmur corpus's


def clips_of(path, i, *, sr=4000, seed=0):
    """One clip of recording ``i`` (its length and start drawn from ``(seed, i)``) and the same
    clip played through a random other device (:func:`hbclf.augment.simulate_device`)."""
    from hbclf.augment import simulate_device
    from hbclf.io import load_audio

    y, _ = load_audio(path, sr=sr)
    rng = np.random.default_rng([seed, i])
    n = int(round(rng.uniform(SHORTEST, LONGEST) * sr))
    if len(y) > n:
        start = int(rng.integers(0, len(y) - n + 1))
        y = y[start:start + n]
    return y, simulate_device(y, sr, random_state=np.random.default_rng([seed, i, 1]))


def clip_tables(featurizer, files, *, seed=0, n_jobs=2):
    """``featurizer``'s table of one clip of each recording and of the same clips through
    another device (:func:`clips_of`)."""
    from joblib import Parallel, delayed

    from hbclf import pipelines

    # each recording read once for both of its clips; the tables shared among processes
    pairs = Parallel(n_jobs=n_jobs)(delayed(clips_of)(str(f), i, seed=seed)
                                    for i, f in enumerate(files))
    return tuple(pipelines.feature_table(featurizer, list(waves), n_jobs=n_jobs)
                 for waves in zip(*pairs))


def held_out(db, head, full, clips, devices, data, *, with_clips, gate_on_whole=False, seed=0):
    """Scores of ``head`` fitted without database ``db`` on its whole recordings and clips;
    with ``gate_on_whole`` the novelty gate is fitted on the training databases' whole
    recordings alone, whatever the classifier was fitted on."""
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    from hbclf import tasks
    from hbclf.novelty import fit_novelty, gate_end

    train = np.flatnonzero(data.origin != db)
    test = np.flatnonzero(data.origin == db)
    X, y, g, o = full[train], data.y[train], data.groups[train], data.origin[train]
    if with_clips:
        X, y, g, o = (np.vstack([X, clips[train]]), np.r_[y, y], np.r_[g, g], np.r_[o, o])
    est = clone(head).fit(X, y, **tasks.fit_params(head, g, o))
    n = len(train) if gate_on_whole else len(y)
    gate = fit_novelty(est, X[:n], y[:n], groups=g[:n], domains=o[:n], seed=seed)
    out = {"database": str(db), "n": len(test)}
    for name, Z in (("whole", full[test]), ("clips", clips[test]), ("device", devices[test])):
        pred = est.predict(Z)
        p = tasks.class_scores(est, Z)[:, list(est.classes_).index("abnormal")]
        s = tasks.score("heart", data.y[test], pred)
        out[f"{name} macc"] = s["macc"]
        out[f"{name} auc"] = roc_auc_score(data.y[test] == "abnormal", p)
        out[f"{name} uncertain"] = float(gate.is_novel(est[:gate_end(est)].transform(Z)).mean())
    return out


def main(argv=None):
    from joblib import Parallel, delayed

    from benchmarks.probes import cache_parser, cached_features
    from benchmarks.readme import ranking_score
    from hbclf import tasks

    ap = cache_parser(__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="et_cycles_db",
                    choices=["et_cycles_db", "et_cycles_experts", "et_contrasts_experts"],
                    help="the model on the cycle and rhythm features (default: et_cycles_db)")
    args = ap.parse_args(argv)
    data = tasks.get("heart").load(physionet_home=args.physionet_home)
    featurizer, head, full = cached_features(args.model, data.filenames, args)
    clips, devices = clip_tables(featurizer, data.filenames, seed=args.seed, n_jobs=args.n_jobs)
    names = list(featurizer.get_feature_names_out())
    for label, table in (("clips", clips), ("clips through another device", devices)):
        counted = table[:, names.index("cycles__n_cycles")]
        print(f"{len(table)} {label}: no whole cycle decoded in {np.mean(counted < 1):.1%} "
              f"(their cycle features are imputed), one in {np.mean(counted == 1):.1%} "
              "(its spreads are)")
    for with_clips, gate_on_whole in ((False, False), (True, False), (True, True)):
        rows = Parallel(n_jobs=args.n_jobs)(
            delayed(held_out)(db, head, full, clips, devices, data, with_clips=with_clips,
                              gate_on_whole=gate_on_whole, seed=args.seed)
            for db in np.unique(data.origin))
        print(f"\ntrained on whole recordings{' and their clips' if with_clips else ''}"
              f"{', the gate on whole recordings alone' if gate_on_whole else ''}:")
        cols = [f"{a} {b}" for a in ("whole", "clips", "device")
                for b in ("macc", "auc", "uncertain")]
        print("| held-out database | n | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 2) + "|")
        for r in rows:
            print(f"| {r['database']} | {r['n']} | "
                  + " | ".join(f"{r[c]:.3f}" for c in cols) + " |")
        for c in cols:
            v = np.array([r[c] for r in rows])
            extra = f", ranking score {ranking_score(v):.3f}" if c.endswith("macc") else ""
            worst = v.max() if c.endswith("uncertain") else v.min()
            print(f"{c}: mean {v.mean():.3f}, worst {worst:.3f}{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
