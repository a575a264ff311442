"""Probe, not part of the main job: what of the heart's quiet states (systole, diastole) carries
to a device never met: a murmur's *fill* of them, how alike their shape is from beat to beat,
or the louder of the two?

The cycle contrasts (:class:`hbclf.features.CycleFeatures`) compare the mean power of
systole, diastole, S1 and S2. Three kinds of columns in which a device's gain and frequency
response largely cancel (each compares powers in one band of one recording), per band (all of
25-800 Hz and the five of :data:`hbclf.features.CYCLE_BANDS`), from the same segmentation and
20 ms band powers:

- ``fill_sys_<band>``: the median over the cycles of the share of systole's frames louder
  than the cycle's median diastole frame (a holosystolic murmur fills systole: near 1; a
  quiet systole: near the share a noise floor gives); ``fill_dia_<band>`` the converse;
- ``rep_sys_<band>`` and ``rep_dia_<band>``: the median correlation of each cycle's systolic
  (diastolic) log-power course, resampled to eight points, with the recording's median
  course (a murmur repeats its shape every beat; noise does not). Three cycles at least;
- ``louder_<band>``: the larger of the contrasts systole / S1 and diastole / S2
  (``sys_s1_<band>_median``, ``dia_s2_<band>_median``), a murmur in either quiet state.
  Unlike systole / diastole, it does not change sign between databases whose abnormal
  recordings are loud in systole (the valve-disease ones) and in diastole (``training-e``).

1. With nothing learned: each column's ROC AUC as the "abnormal" score within each database.
2. Under leave-one-database-out on ``heart``, the registry's ``et_contrasts_experts`` head
   (impute, scale, one class-balanced ExtraTrees of 100 trees per training database, their
   probabilities averaged) on seven sets of columns, every tree seeded with each ``--seeds``:
   the 61 heart columns (``et_cycles_experts``' own), the 18 murmur contrasts
   (``et_contrasts_experts``' own), the 18 with the fill columns, the 18 with the fill and
   shape columns, and the 61 with both: these five were fixed before any was scored. Then
   two sets devised after reading them and the per-database ROC AUCs above (so chosen
   knowing the held-out databases): the six ``louder`` columns alone, and with the 18.
3. With ``--nested``, the honest figure for a choice among the seven: for each held-out
   database, the set with the best ranking score (:func:`benchmarks.readme.ranking_score`)
   under leave-one-database-out among the six training databases alone, scored on the
   held-out one (the first seed; :func:`benchmarks.probes.nested_features.outer_fold`).

Run from the repository root after the main job (its feature cache gives the 61 and 18
columns; the new columns take about two minutes in two processes; eight minutes in all)::

    python -m benchmarks.probes.quiet_states --physionet-home ../shared/data/physionet2016
    python -m benchmarks.probes.quiet_states --seeds 0 --nested \
        --physionet-home ../shared/data/physionet2016

docs/findings.md quotes it. It reads the private ``_band_power`` and ``_cycles`` of
``hbclf.features._cycles``, so that its frames are the contrasts' own.
"""

from __future__ import annotations

import numpy as np

BANDS = ("all", "25_50", "50_100", "100_200", "200_400", "400_800")
COLUMNS = tuple(f"{kind}_{band}" for kind in ("fill_sys", "fill_dia", "rep_sys", "rep_dia")
                for band in BANDS)
POINTS = 8  # a state's course, resampled


def fill_and_shape(path, *, sr=4000):
    """The probe's 24 columns (:data:`COLUMNS`) of one recording; NaN where it has no cycle
    (and the shape columns under three cycles)."""
    from hbclf.features._cycles import _band_power, _cycles
    from hbclf.heartbeat import detect
    from hbclf.io import load_audio

    n = len(BANDS)
    out = np.full(len(COLUMNS), np.nan)
    y, sr = load_audio(path, sr=sr)
    beats = detect(y, sr)
    cycles = _cycles(beats.states) if beats.detected else []
    if not cycles:
        return out
    level = np.log(_band_power(y, sr, len(beats.states)) + 1e-12)
    fills, courses = [], []
    grid = np.linspace(0, 1, POINTS)
    for _, (s0, s1), _, (d0, d1) in cycles:
        sys, dia = level[s0:s1], level[d0:d1]
        if len(sys) < 3 or len(dia) < 3:
            continue
        fills.append(np.r_[(sys > np.median(dia, axis=0)).mean(axis=0),
                           (dia > np.median(sys, axis=0)).mean(axis=0)])
        courses.append([np.column_stack([np.interp(grid, np.linspace(0, 1, len(part)), part[:, j])
                                         for j in range(n)]) for part in (sys, dia)])
    if not fills:
        return out
    with np.errstate(invalid="ignore"):  # bands above the Nyquist rate are NaN
        out[:2 * n] = np.median(fills, axis=0)
    if len(courses) >= 3:
        courses = np.array(courses)  # (cycles, 2 states, POINTS, bands)
        median = np.median(courses, axis=0)
        r = np.full(courses.shape[:2] + (n,), np.nan)
        for c in range(len(courses)):
            for s in range(2):
                for j in range(n):
                    a, b = courses[c, s, :, j], median[s, :, j]
                    if a.std() > 0 and b.std() > 0:
                        r[c, s, j] = np.corrcoef(a, b)[0, 1]
        with np.errstate(invalid="ignore"):
            out[2 * n:] = np.nanmedian(r, axis=0).ravel()
    return out


def main(argv=None):
    import warnings

    from joblib import Parallel, delayed
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from benchmarks.probes import cache_parser, cached_features
    from benchmarks.probes.murmur_contrasts import murmur_columns, per_database_auc
    from benchmarks.probes.nested_features import outer_fold
    from benchmarks.readme import ranking_score
    from hbclf import pipelines, tasks

    ap = cache_parser(__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--nested", action="store_true",
                    help="also choose among the sets without the held-out database (first seed)")
    args = ap.parse_args(argv)
    data = tasks.get("heart").load(physionet_home=args.physionet_home)
    featurizer, _, full = cached_features("et_contrasts_experts", data.filenames, args)
    _, head = pipelines.split_stateless(pipelines.make("et_contrasts_experts"))
    new = np.array(Parallel(n_jobs=args.n_jobs, batch_size=16)(
        delayed(fill_and_shape)(f) for f in data.filenames))
    names = [n.split("__")[-1] for n in featurizer.get_feature_names_out()]
    dbs = [str(d) for d in np.unique(data.origin)]
    valve = [k for k, d in enumerate(dbs) if tasks.ABNORMAL_KIND.get(d) == "valve disease"]

    print("ROC AUC of each column as the abnormal score, within each database "
          "(nothing learned):\n")
    print("| column | " + " | ".join(dbs) + " |")
    print("|---" * (len(dbs) + 1) + "|")
    louder = np.column_stack([np.fmax(full[:, names.index(f"sys_s1_{b}_median")],
                                      full[:, names.index(f"dia_s2_{b}_median")])
                              for b in BANDS])
    new = np.hstack([new, louder])
    new_names = COLUMNS + tuple(f"louder_{b}" for b in BANDS)
    aucs = per_database_auc(new, range(len(new_names)), new_names, data.y, data.origin)
    for name, per in aucs.items():
        print(f"| `{name}` | " + " | ".join(f"{per[d]:.2f}" for d in dbs) + " |")

    table = np.hstack([full, new])
    heart = [j for j, n in enumerate(names) if n not in pipelines.RECORDING_COLUMNS]
    contrasts = murmur_columns(names)
    fill = list(range(len(names), len(names) + 2 * len(BANDS)))
    shape = list(range(len(names) + 2 * len(BANDS), len(names) + len(COLUMNS)))
    loud = list(range(len(names) + len(COLUMNS), table.shape[1]))
    sets = {"61 heart columns (`et_cycles_experts`')": heart,
            "18 murmur contrasts (`et_contrasts_experts`')": contrasts,
            "18 contrasts + 12 fill": contrasts + fill,
            "18 contrasts + 12 fill + 12 shape": contrasts + fill + shape,
            "61 heart columns + 12 fill + 12 shape": heart + fill + shape,
            "6 louder (devised after the above)": loud,
            "18 contrasts + 6 louder (likewise)": contrasts + loud}
    tables = {label: table[:, columns] for label, columns in sets.items()}

    def seeded(seed):  # the registry head without its column steps, every tree seeded
        est = Pipeline([(n, clone(s)) for n, s in head.steps if n not in ("heart", "reads")])
        return est.set_params(**{k: seed for k in est.get_params() if k.endswith("random_state")})

    def held_out(db, X, seed):
        """MAcc and ROC AUC on database ``db`` of the head fitted on the others."""
        with warnings.catch_warnings():  # columns of bands above a rate's Nyquist are NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            _, rec = tasks.evaluate_fold("heart", seeded(seed), X, data.y, data.groups,
                                         np.flatnonzero(data.origin != db),
                                         np.flatnonzero(data.origin == db), seed=seed,
                                         domains=data.origin)
        return rec["scores"]["macc"], rec["scores"]["roc_auc"]

    print("\nLeave-one-database-out on heart, the experts' head: mean MAcc over the held-out "
          "databases / worst (ranking score; mean ROC AUC; valve-disease mean); each database's "
          "MAcc:\n")
    print("| seed | columns | mean / worst (ranking; ROC AUC; valve disease) | "
          + " | ".join(dbs) + " |")
    print("|---" * (len(dbs) + 3) + "|")
    for seed in args.seeds:
        for label, X in tables.items():
            r = np.array(Parallel(n_jobs=args.n_jobs)(delayed(held_out)(d, X, seed) for d in dbs))
            macc = r[:, 0]
            print(f"| {seed} | {label} | {macc.mean():.3f} / {macc.min():.3f} "
                  f"({ranking_score(macc):.3f}; {r[:, 1].mean():.3f}; {macc[valve].mean():.3f}) | "
                  + " | ".join(f"{m:.3f}" for m in macc) + " |", flush=True)
    if not args.nested:
        return 0

    seed = args.seeds[0]
    print(f"\nThe set chosen without the held-out database (seed {seed}): for each held-out "
          "database, the set of the best ranking score under leave-one-database-out among the "
          "six training databases alone, then fitted on all six and scored on the held-out one:\n")
    print("| held-out database | chosen set | its inner ranking score | MAcc |")
    print("|---|---|---|---|")
    rows = Parallel(n_jobs=args.n_jobs)(delayed(outer_fold)(d, tables, seeded(seed), data, seed)
                                        for d in dbs)
    for row in rows:
        print(f"| {row['database']} | {row['chosen']} | {row['inner ' + row['chosen']]:.3f} | "
              f"{row['macc']:.3f} |")
    outer = np.array([row["macc"] for row in rows])
    print(f"\nnested: mean {outer.mean():.3f} / worst {outer.min():.3f} (ranking "
          f"{ranking_score(outer):.3f}; valve disease {outer[valve].mean():.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
