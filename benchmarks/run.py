"""The harness: every model on the same patient-grouped folds, tables and figures in results/.

Usage::

    python -m benchmarks.run --cv 5                  # all tasks, all models
    python -m benchmarks.run --task b --models svm,cnn --search
    python -m benchmarks.run --quick --out /tmp/r    # smoke run (what the tests use)
    python -m benchmarks.run --scheduler tcp://host:8786   # folds on a Dask cluster

Leak-free by construction: folds are ``StratifiedGroupKFold`` on patients;
feature extraction learns nothing and is computed once per recording; every
step that learns (scaler, model, and the inner grid search of ``--search``)
is fitted on the training fold only. Each finished (task, model, fold) is
written at once, atomically, under ``<out>/runs/``; a second run resumes from
those files (``--force`` recomputes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hbclf import __version__, pipelines
from hbclf.datasets import load_pascal, load_pascal_timing
from hbclf.heartbeat import detect, score_detection
from hbclf.io import AudioError, load_audio
from hbclf.metrics import score_task

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any worker imports TensorFlow

TASKS = ("a", "b", "binary", "segmentation")
QUICK_MODELS = ("dummy", "logreg", "svm", "cnn")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results"
COLUMNS = {
    "a": ["total_precision", "heart_problem_f", "artifact_youden"],
    "b": ["total_precision", "youden", "discriminant_power", "recall_extrastole"],
    "binary": ["sensitivity", "specificity", "macc", "roc_auc"],
}
COMMON = ["balanced_accuracy", "macro_f1", "accuracy"]


# -- data and folds ---------------------------------------------------------------------------

def task_data(task, data_home=None):
    """Files, string labels and patient groups of a task."""
    if task in ("a", "b"):
        d = load_pascal(task, data_home=data_home)
        return d.filenames, d.label.astype(str), d.groups
    d = load_pascal("all", data_home=data_home)
    keep = d.label != "artifact"
    y = np.where(d.label[keep] == "normal", "normal", "abnormal")
    return d.filenames[keep], y, d.groups[keep]


def make_folds(y, groups, n_splits, seed):
    from sklearn.model_selection import StratifiedGroupKFold

    fold = np.empty(len(y), dtype=int)
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
        fold[test] = k
    return fold


def extract(featurizer, files, cache_dir):
    """Features of every recording, cached on disk (keyed on the steps and the paths)."""
    from joblib import Memory

    def compute(featurizer, files):
        return featurizer.fit_transform(files)

    return Memory(cache_dir, verbose=0).cache(compute)(featurizer, list(files))


# -- one fold ---------------------------------------------------------------------------------

def run_fold(task, model, k, X, y, groups, fold, *, seed, quick, search, n_threads):
    """Fit on all folds but ``k``, predict fold ``k``; a JSON-ready record."""
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    _, est = pipelines.split_stateless(
        pipelines.make(model, random_state=seed, quick=quick, n_threads=n_threads)
    )
    train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
    chosen = {}
    grid = pipelines.param_grid(model) if search else {}
    t0 = time.perf_counter()
    if grid:
        inner = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed)
        est = GridSearchCV(est, grid, cv=list(inner.split(train, y[train], groups[train])),
                           scoring="balanced_accuracy", refit=True)
        est.fit(X[train], y[train])
        chosen = {key: repr(v) for key, v in est.best_params_.items()}
    else:
        est.fit(X[train], y[train])
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = est.predict(X[test])
    classes = [str(c) for c in est.classes_]
    if hasattr(est, "predict_proba"):
        class_scores = est.predict_proba(X[test])
    else:  # SVC: decision values rank as well as probabilities (ROC AUC)
        dec = est.decision_function(X[test])
        class_scores = np.c_[-dec, dec] if dec.ndim == 1 else dec
    predict_s = time.perf_counter() - t0
    scores = score_task(task, y[test], pred, class_scores, classes)
    return {
        "task": task, "model": model, "fold": int(k),
        "fit_seconds": fit_s, "predict_seconds": predict_s, "params": chosen,
        "scores": {m: float(v) for m, v in scores.items()},
        "index": test.tolist(), "pred": [str(p) for p in pred],
        "classes": classes,
        # class probabilities, or decision values for a model without them (SVC)
        "class_scores": np.round(class_scores, 6).tolist(),
    }


def atomic_write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


# -- tables and figures -----------------------------------------------------------------------

def _fmt(mean, std):
    return "–" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}"


def summarise(task, records, y, files, out):
    rows = []
    for r in records:
        rows.append({"task": task, "model": r["model"], "fold": r["fold"],
                     "fit_seconds": r["fit_seconds"], "predict_seconds": r["predict_seconds"],
                     "params": json.dumps(r["params"], sort_keys=True), **r["scores"]})
    per_fold = pd.DataFrame(rows).sort_values(["model", "fold"])
    tdir = out / task
    atomic_write(tdir / "folds_scores.csv", per_fold.to_csv(index=False))

    cols = COMMON + COLUMNS[task] + ["fit_seconds"]
    order = [m for m in pipelines.names() if m in set(per_fold["model"])]
    agg = per_fold.groupby("model")[cols].agg(["mean", "std"]).reindex(order)
    flat = pd.DataFrame({f"{c}_{s}": agg[(c, s)] for c in cols for s in ("mean", "std")})
    atomic_write(tdir / "summary.csv", flat.to_csv(float_format="%.4f"))

    lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    best = {c: (agg[(c, "mean")].min() if c == "fit_seconds" else agg[(c, "mean")].max())
            for c in cols}
    for m in order:
        cells = []
        for c in cols:
            mean, std = agg.loc[m, (c, "mean")], agg.loc[m, (c, "std")]
            cell = f"{mean:.1f} s" if c == "fit_seconds" else _fmt(mean, std)
            cells.append(f"**{cell}**" if mean == best[c] and c != "fit_seconds" else cell)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    atomic_write(tdir / "summary.md", table + "\n")

    oof = pd.DataFrame({"file": [Path(f).name for f in files], "label": y})
    cols = {}
    for r in records:  # the predicted label, then the class scores, of every model
        m = r["model"]
        cols.setdefault(m, np.empty(len(y), dtype=object))[r["index"]] = r["pred"]
        scores = np.asarray(r["class_scores"])
        for j, c in enumerate(r["classes"]):
            cols.setdefault(f"{m}_score_{c}", np.full(len(y), np.nan))[r["index"]] = scores[:, j]
    oof = pd.concat([oof, pd.DataFrame(cols)], axis=1)
    atomic_write(tdir / "oof_predictions.csv", oof.to_csv(index_label="index"))
    _figures(task, records, y, order, agg, tdir)
    return table


def _figures(task, records, y, order, agg, tdir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = sorted(set(y))
    for m in order:
        idx = np.concatenate([r["index"] for r in records if r["model"] == m])
        pred = np.concatenate([r["pred"] for r in records if r["model"] == m])
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ConfusionMatrixDisplay.from_predictions(y[idx], pred, labels=labels, ax=ax,
                                                colorbar=False, xticks_rotation=30)
        ax.set_title(f"task {task}: {m} (out-of-fold)")
        fig.tight_layout()
        fig.savefig(tdir / f"confusion_{m}.png", dpi=100)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    means = agg[("balanced_accuracy", "mean")].to_numpy()
    stds = agg[("balanced_accuracy", "std")].fillna(0).to_numpy()
    ax.bar(order, means, yerr=stds, capsize=3, color="tab:blue")
    ax.set_ylabel("balanced accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"task {task}: models on the same grouped folds (mean ± std)")
    fig.tight_layout()
    fig.savefig(tdir / "comparison.png", dpi=100)
    plt.close(fig)


# -- segmentation ------------------------------------------------------------------------------

TOLERANCES = (0.1, 0.06)
SOUNDS = ("s1", "s2")


def _pooled(counts):
    """Precision, recall, F1 and mean timing error from summed counts."""
    tp, fp, fn, err = (counts[k] for k in ("tp", "fp", "fn", "err_ms"))
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "f1": 2 * tp / max(2 * tp + fp + fn, 1), "mae_ms": err / max(tp, 1),
            "tp": tp, "fp": fp, "fn": fn}


def _add(total, part):
    for key, value in part.items():
        total[key] = total.get(key, 0) + value
    return total


def run_segmentation(out, data_home=None):
    """Score :func:`hbclf.heartbeat.detect` on the set A S1/S2 annotations.

    Two readings: as shipped (``systole="physiology"``), and with that choice
    made leave-one-recording-out (for each recording, the systole prior that
    scored better on the other 20), since it was made looking at these
    recordings.
    """
    from hbclf.display import plot_heartbeats
    from hbclf.heartbeat import SYSTOLE_PRIORS

    timing = load_pascal_timing(data_home=data_home)
    tdir = out / "segmentation"
    (tdir / "plots").mkdir(parents=True, exist_ok=True)
    rows, counts = [], []  # counts[i][variant][(sound, tol)] -> tp/fp/fn/err_ms
    for f, g in timing.groupby("filename", sort=False):
        y, sr = load_audio(f)
        truth = {k: g.loc[g["sound"] == k.upper(), "time"].to_numpy() for k in SOUNDS}
        hr_true = 60.0 / np.median(np.diff(truth["s1"]))
        per_variant = {}
        for variant in SYSTOLE_PRIORS:
            beats = detect(y, sr, systole=variant)
            c = {}
            for tol in TOLERANCES:
                span = (g["time"].min() - tol, g["time"].max() + tol)
                for sound in SOUNDS:
                    r = score_detection(getattr(beats, sound), truth[sound], tol=tol, span=span)
                    c[(sound, tol)] = {"tp": r["tp"], "fp": r["fp"], "fn": r["fn"],
                                       "err_ms": r["mae_ms"] * r["tp"] if r["tp"] else 0.0}
            per_variant[variant] = c
            if variant == SYSTOLE_PRIORS[0]:
                shipped = beats
        counts.append(per_variant)
        row = {"id": g["id"].iloc[0], "file": Path(f).name, "annotated_sounds": len(g),
               "heart_rate_annotated": hr_true, "heart_rate": shipped.heart_rate,
               "heart_rate_error": (abs(shipped.heart_rate - hr_true)
                                    if shipped.heart_rate is not None else np.nan),
               "quality": shipped.quality, "reason": shipped.reason or ""}
        for (sound, tol), c in per_variant[SYSTOLE_PRIORS[0]].items():
            row[f"{sound}_{int(tol * 1000)}ms_f1"] = _pooled(c)["f1"]
        rows.append(row)
        plot_heartbeats(y, sr, shipped, annotations=truth, title=row["id"],
                        path=tdir / "plots" / f"{row['id']}.png")

    def f1_of(i_list, variant):
        total = {}
        for i in i_list:
            for sound in SOUNDS:
                _add(total, counts[i][variant][(sound, TOLERANCES[0])])
        return _pooled(total)["f1"]

    n = len(counts)
    chosen = [max(SYSTOLE_PRIORS, key=lambda v: f1_of([j for j in range(n) if j != i], v))
              for i in range(n)]
    per = pd.DataFrame(rows).assign(loro_systole_prior=chosen)
    atomic_write(tdir / "per_recording.csv", per.to_csv(index=False, float_format="%.4f"))

    summary, lines = [], ["| evaluation | sound | tolerance | precision | recall | F1 | "
                          "mean abs. error (ms) |", "|---|---|---|---|---|---|---|"]
    for evaluation, pick in (("as shipped", [SYSTOLE_PRIORS[0]] * n),
                             ("leave-one-recording-out", chosen)):
        for tol in TOLERANCES:
            for sound in SOUNDS:
                total = {}
                for i in range(n):
                    _add(total, counts[i][pick[i]][(sound, tol)])
                m = _pooled(total)
                summary.append({"evaluation": evaluation, "sound": sound.upper(),
                                "tolerance": f"{int(tol * 1000)}ms", **m})
                lines.append(f"| {evaluation} | {sound.upper()} | ±{int(tol * 1000)} ms | "
                             f"{m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                             f"{m['mae_ms']:.1f} |")
    detected = per["heart_rate"].notna()
    lines += ["", f"{n} recordings, {int(per['annotated_sounds'].sum())} annotated sounds; no "
              f"rhythm detected in {int((~detected).sum())} (their sounds count as misses). "
              f"Heart-rate error on the others: {per.loc[detected, 'heart_rate_error'].mean():.1f}"
              f" bpm mean, {per.loc[detected, 'heart_rate_error'].median():.1f} bpm median. "
              "Only detections within the annotated stretch (± the tolerance) are scored."]
    atomic_write(tdir / "summary.csv", pd.DataFrame(summary).to_csv(index=False,
                                                                     float_format="%.4f"))
    table = "\n".join(lines)
    atomic_write(tdir / "summary.md", table + "\n")
    return table


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def update_readme(readme, tables, config):
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    names = {"a": "Set A (4 classes)", "b": "Set B (3 classes)",
             "binary": "Binary: normal vs abnormal (A + B, no artifact)",
             "segmentation": "Heartbeat detection on the 21 annotated set A recordings"}
    body = [README_START,
            f"Generated by `python -m benchmarks.run` ({config}); from `results/*/summary.md`.", ""]
    for task, table in tables.items():
        body += [f"**{names[task]}**", "", table, ""]
    body.append(README_END)
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    atomic_write(readme, head + "\n".join(body) + tail)
    return True


# -- command line -----------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--task", default="all", help="a, b, binary or all (comma-separated)")
    p.add_argument("--models", default="all", help=f"comma-separated of {pipelines.names()}")
    p.add_argument("--cv", type=int, default=5, help="number of grouped folds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--search", action="store_true", help="nested grid search per model")
    p.add_argument("--quick", action="store_true", help="few models, 2 folds, few epochs")
    p.add_argument("--force", action="store_true", help="recompute finished folds")
    p.add_argument("--n-jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="folds run in parallel (default: 2, or 1 on one core)")
    p.add_argument("--scheduler", help="address of a Dask scheduler to run the folds on")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="results folder")
    p.add_argument("--data-home", help="a full PASCAL copy instead of the embedded one")
    p.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")
    args = p.parse_args(argv)
    tasks = TASKS if args.task == "all" else tuple(args.task.split(","))
    models = (QUICK_MODELS if args.quick else tuple(pipelines.names())) \
        if args.models == "all" else tuple(args.models.split(","))
    for t in tasks:
        if t not in TASKS:
            p.error(f"unknown task {t!r}; choose from {', '.join(TASKS)} or all")
    for m in models:
        if m not in pipelines.names():
            p.error(f"unknown model {m!r}; choose from {', '.join(pipelines.names())}")
    if args.quick and "--cv" not in " ".join(argv or []):
        args.cv = 2
    if args.cv < 2:
        p.error("--cv must be at least 2")
    return args, tasks, models


def _backend(args):
    from contextlib import nullcontext

    import joblib

    if args.scheduler:
        from dask.distributed import Client

        client = Client(args.scheduler)
        return client, joblib.parallel_config(backend="dask")
    return None, nullcontext()


def main(argv=None):
    args, tasks, models = parse_args(argv)
    out = Path(args.out)
    config = {"cv": args.cv, "seed": args.seed, "quick": args.quick, "search": args.search,
              "version": __version__}
    fingerprint = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
    cache = out / ".cache"
    from joblib import Parallel, delayed

    client, backend = _backend(args)
    n_jobs = -1 if args.scheduler else args.n_jobs
    n_threads = 1  # one TensorFlow thread per fold: the same numbers whatever --n-jobs is
    tables = {}
    started = time.perf_counter()
    try:
        for task in tasks:
            if task == "segmentation":
                tables[task] = run_segmentation(out, args.data_home)
                if not args.quiet:
                    print(f"\n== task segmentation\n\n{tables[task]}")
                continue
            files, y, groups = task_data(task, args.data_home)
            fold = make_folds(y, groups, args.cv, args.seed)
            tdir = out / task
            atomic_write(tdir / "folds.csv", pd.DataFrame({
                "file": [Path(f).name for f in files], "label": y, "group": groups,
                "fold": fold}).to_csv(index=False))
            done, todo = [], []
            for m in models:
                for k in range(args.cv):
                    path = out / "runs" / task / m / f"fold{k}.json"
                    rec = json.loads(path.read_text()) if path.is_file() else None
                    if rec and rec.get("fingerprint") == fingerprint and not args.force:
                        done.append(rec)
                    else:
                        todo.append((m, k, path))
            feats, X_of = {}, {}  # features only for models with folds left to run
            for m in dict.fromkeys(m for m, _, _ in todo):
                featurizer, _ = pipelines.split_stateless(pipelines.make(m, quick=args.quick))
                key = repr(featurizer)  # models with the same steps share one extraction
                if key not in feats:
                    feats[key] = extract(featurizer, files, cache)
                X_of[m] = feats[key]
            jobs = (
                delayed(run_fold)(task, m, k, X_of[m], y, groups, fold, seed=args.seed,
                                  quick=args.quick, search=args.search, n_threads=n_threads)
                for m, k, _ in todo
            )
            paths = {(m, k): path for m, k, path in todo}
            bar = _progress(len(todo), task, args.quiet)
            with backend:
                results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
                for rec in results:
                    rec["fingerprint"] = fingerprint
                    atomic_write(paths[(rec["model"], rec["fold"])], json.dumps(rec))
                    done.append(rec)
                    bar(f"{task}/{rec['model']}/fold{rec['fold']} "
                        f"bacc={rec['scores']['balanced_accuracy']:.3f}")
            records = sorted((r for r in done if r["model"] in models),
                             key=lambda r: (r["model"], r["fold"]))
            tables[task] = summarise(task, records, y, files, out)
            if not args.quiet:
                print(f"\n== task {task} ({len(files)} recordings, {args.cv} grouped folds)\n")
                print(tables[task])
    except AudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
    if out.resolve() == DEFAULT_OUT.resolve() and not args.quick and set(tasks) == set(TASKS):
        desc = f"--cv {args.cv} --seed {args.seed}" + (" --search" if args.search else "")
        update_readme(DEFAULT_OUT.parent / "README.md", tables, desc)
    print(f"\nresults in {out} ({time.perf_counter() - started:.0f} s)")
    return 0


def _progress(total, task, quiet):
    if quiet or total == 0:  # one log line per finished fold
        return lambda msg: print(msg, flush=True)
    from tqdm import tqdm

    bar = tqdm(total=total, desc=f"task {task}", unit="fold", file=sys.stderr)

    def step(msg):
        bar.set_postfix_str(msg)
        bar.update(1)
        if bar.n == bar.total:
            bar.close()
    return step


if __name__ == "__main__":
    sys.exit(main())
