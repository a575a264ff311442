"""The harness: every model on the same grouped folds, tables and figures in results/.

Usage::

    python -m benchmarks.run --cv 5                  # every task, model and protocol
    python -m benchmarks.run --task b --models svm,cnn --search
    python -m benchmarks.run --quick --out /tmp/r    # smoke run (what the tests use)
    python -m benchmarks.run --scheduler tcp://host:8786   # folds on a Dask cluster

Leak-free by construction: tasks and protocols come from :mod:`hbclf.tasks`
(``StratifiedGroupKFold`` on sittings, patients or record blocks, and
leave-one-database-out); feature extraction learns nothing and is computed once per recording; every
step that learns (scaler, model, and the inner grid search of ``--search``)
is fitted on the training fold only. Each finished (task, model, fold) is
written at once, atomically, under ``<out>/runs/``; a second run resumes from
those files (``--force`` recomputes). A fold is reused only when its
fingerprint matches: the run's settings, the model's parameters and a digest
of the hbclf code that loads data, computes features and fits and scores
models, so a table never mixes folds computed by different code.

Only the documented command (all tasks, all models, default settings) writes
into the committed ``results/``; a quick, partial or differently configured
run writes into ``results-partial/`` unless ``--out`` is given. Timings are
kept out of the compared tables, in ``<out>/timings.csv`` (not committed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from hbclf import __version__, pipelines, tasks
from hbclf.datasets import LayoutError, find_physionet2016
from hbclf.features import near_constant_columns
from hbclf.io import AudioError
from hbclf.tasks import evaluate_fold, make_folds

from .readme import update_readme, write_results_readme
from .records import (atomic_write, augmented_copies, code_digest, extract_many,
                      fingerprint, params_text, read_record, write_record, write_timings)
from .segmentation import run_physionet_rhythm, run_segmentation
from .tables import summarise

TASKS = (*tasks.names(), "segmentation")
QUICK_MODELS = ("origin", "dummy", "logreg", "svm", "cnn")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "results"  # the documented command's output, committed
PARTIAL_OUT = ROOT / "results-partial"  # any other run's, ignored by git


class RoundingNoiseError(ValueError):
    """A model's features hold a column that is constant up to rounding."""


def refuse_rounding_noise(model, featurizer, X):
    """Stop before fitting a model on a feature column that is constant up to rounding (its
    values differ from one CPU to the next, and a scaler would blow them up)."""
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "fiu":  # sequences, images, origin labels
        return
    bad = near_constant_columns(X)
    if len(bad):
        names = featurizer.get_feature_names_out()
        raise RoundingNoiseError(
            f"model {model}: {len(bad)} feature column(s) constant up to rounding "
            f"({', '.join(map(str, names[bad[:3]]))}{', ...' if len(bad) > 3 else ''}); "
            "leave out statistics that the features fix by construction")


def models_for(task, data, models, protocol):
    """The models that make sense on a task's protocol: the origin baseline only where origins
    differ, networks only on grouped folds of a task that says so
    (:attr:`hbclf.tasks.Task.networks`)."""
    single_origin = len(set(data.origin)) < 2
    nets = tasks.get(task).networks and not protocol.startswith(tasks.LODO)
    skip = set() if nets else set(pipelines.networks())
    return [m for m in models if not (m == "origin" and single_origin) and m not in skip]


# -- one fold ---------------------------------------------------------------------------------

def run_fold(task, protocol, model, k, X, y, groups, origin, fold, *, seed, quick, search,
             n_threads, n_recordings=None):
    """Fit on all folds but ``k``, predict fold ``k``.

    Rows past the first ``n_recordings`` (default: none) are augmented copies
    (``lodo-augmented``): they join the training rows of every fold but their
    source's and are never tested. Returns ``(timing, record)``: the seconds
    taken, kept apart, and a JSON-ready record that is the same on every run
    of the same code.
    """
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # no retracing warnings in the log
    _, est = pipelines.split_stateless(
        pipelines.make(model, random_state=seed, quick=quick, n_threads=n_threads)
    )
    n = len(fold) if n_recordings is None else n_recordings
    train, test = np.flatnonzero(fold != k), np.flatnonzero(fold[:n] == k)
    grid = pipelines.param_grid(model) if search else None
    t0 = time.perf_counter()
    _, rec = evaluate_fold(task, est, X, y, groups, train, test, grid=grid, seed=seed,
                           domains=origin)
    timing = {"task": task, "protocol": protocol, "model": model, "fold": int(k),
              "seconds": time.perf_counter() - t0}
    rec.update(task=task, protocol=protocol, model=model, fold=int(k), index=test.tolist(),
               class_scores=np.round(rec["class_scores"], 6).tolist())
    return timing, rec




# -- command line -----------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--task", help=f"comma-separated of {', '.join(TASKS)} (default: every task)")
    p.add_argument("--models", default="all", help=f"comma-separated of {pipelines.names()}")
    p.add_argument("--cv", type=int, default=5, help="grouped folds of the PASCAL tasks "
                   "(PhysioNet: grouped 10-fold and leave-one-database-out)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--search", action="store_true", help="nested grid search per model")
    p.add_argument("--quick", action="store_true", help="few models, 2 folds, few epochs")
    p.add_argument("--force", action="store_true", help="recompute finished folds")
    p.add_argument("--n-jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="folds run in parallel (default: 2, or 1 on one core)")
    p.add_argument("--scheduler", help="address of a Dask scheduler to run the folds on")
    p.add_argument("--out", help="results folder (default: results/ for the documented "
                   "command, results-partial/ for any other run)")
    p.add_argument("--data-home", help="a full PASCAL copy instead of the embedded one")
    p.add_argument("--physionet-home", help="the PhysioNet 2016 folder (default: "
                   "$HBCLF_PHYSIONET, else the data home's physionet2016/ where "
                   "hbclf.datasets.fetch_physionet2016 puts it, else ../shared/data beside "
                   "the clone)")
    p.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")
    args = p.parse_args(argv)
    tasks_ = TASKS if args.task is None else tuple(args.task.split(","))
    models = (QUICK_MODELS if args.quick else tuple(pipelines.names())) \
        if args.models == "all" else tuple(args.models.split(","))
    for t in tasks_:
        if t not in TASKS:
            p.error(f"unknown task {t!r}; choose from {', '.join(TASKS)}")
    for m in models:
        if m not in pipelines.names():
            p.error(f"unknown model {m!r}; choose from {', '.join(pipelines.names())}")
    if args.quick and "--cv" not in " ".join(argv or []):
        args.cv = 2
    if args.cv < 2:
        p.error("--cv must be at least 2")
    documented = (set(tasks_) == set(TASKS) and set(models) == set(pipelines.names())
                  and not args.quick and not args.search and args.cv == 5 and args.seed == 0
                  and args.data_home is None and args.physionet_home is None)
    if args.out is None:  # only the documented command writes the committed results/
        args.out = str(DEFAULT_OUT if documented else PARTIAL_OUT)
    args.documented = documented
    args.physionet_missing = None
    try:  # the library's one lookup: argument, $HBCLF_PHYSIONET, data home, ../shared
        args.physionet_home = str(find_physionet2016(args.physionet_home))
    except LayoutError as exc:
        if args.physionet_home is not None:
            p.error(str(exc))
        args.physionet_missing = str(exc)
    return args, tasks_, models


def _backend(args):
    from contextlib import nullcontext

    import joblib

    if args.scheduler:
        from dask.distributed import Client

        client = Client(args.scheduler)
        return client, joblib.parallel_config(backend="dask")
    return None, nullcontext()


def run_task(task, args, models, out, config, code, backend, timings, memos):
    """Every protocol of one task; ``{(task, protocol): table}``.

    ``memos`` holds each featurizer's rows computed earlier in the run (the
    PASCAL and PhysioNet recordings of ``heart`` were computed for
    ``binary`` and ``physionet``)."""
    t = tasks.get(task)
    data = t.load(data_home=args.data_home, physionet_home=args.physionet_home)
    protocols = t.protocols(cv=args.cv if (args.quick or t.kfold is None) else None,
                            augmented=True)
    runs = {protocol: models_for(task, data, models, protocol) for protocol in protocols}
    models = [m for m in models if any(m in chosen for chosen in runs.values())]
    n_jobs = -1 if args.scheduler else args.n_jobs
    n_threads = 1  # one TensorFlow thread per fold: the same numbers whatever --n-jobs is
    prints = {m: fingerprint(config, code, params_text(pipelines.make(
        m, random_state=args.seed, quick=args.quick, n_threads=n_threads))) for m in models}
    feats, tables, origin_rows = {}, {}, []
    n_jobs_extract = 1 if args.scheduler else args.n_jobs
    copies = []  # the augmented copies' paths, written when a protocol first needs them
    for protocol in protocols:
        fold, fold_names = make_folds(protocol, data.y, data.groups, data.origin, seed=args.seed)
        tdir = out / task / protocol
        atomic_write(tdir / "folds.csv", pd.DataFrame({
            "file": [Path(f).name for f in data.filenames], "origin": data.origin,
            "label": data.y, "group": data.groups,
            "fold": [fold_names[k] for k in fold]}).to_csv(index=False))
        done, todo = [], []
        for m in runs[protocol]:
            for k in range(len(fold_names)):
                path = out / "runs" / task / protocol / m / f"fold{k}.json"
                rec = read_record(path, prints[m], force=args.force)
                if rec is not None:
                    done.append(rec)
                else:
                    todo.append((m, k, path))
        # the networks' folds, the longest, first: the short ones then fill the other worker
        # instead of one network fold running alone at the end (same records in any order)
        todo.sort(key=lambda job: job[0] not in pipelines.networks())
        augmented = protocol == tasks.LODO_AUGMENTED
        if augmented and todo and not copies:
            copies = augmented_copies(data.filenames, out / ".cache", code, seed=args.seed,
                                      n_jobs=n_jobs_extract)
        # features only for models with folds left to run, shared by protocols; models with the
        # same steps share one extraction
        key_of, steps = {}, {}  # model -> key, key -> (first model, featurizer)
        for m in dict.fromkeys(m for m, _, _ in todo):
            featurizer, _ = pipelines.split_stateless(pipelines.make(m, quick=args.quick))
            key_of[m] = repr(featurizer)
            steps.setdefault(key_of[m], (m, featurizer))
        for name, files in [("", data.filenames)] + ([("+", copies)] if augmented else []):
            keys = [k for k in steps if name + k not in feats]
            for k in [k for k in keys if steps[k][1] is None]:  # the model reads the files itself
                feats[name + k] = np.asarray(files)
            keys = [k for k in keys if steps[k][1] is not None]
            # computed together: each recording segmented once for every featurizer that needs it
            extracted = extract_many([steps[k][1] for k in keys], files, out / ".cache", code,
                                     n_jobs=n_jobs_extract,
                                     memos=[memos.setdefault(k, {}) for k in keys])
            for k, X in zip(keys, extracted):
                refuse_rounding_noise(*steps[k], X)
                feats[name + k] = X
        X_of = {m: np.concatenate([feats[key], feats["+" + key]]) if augmented else feats[key]
                for m, key in key_of.items()}
        n = len(data.y)
        rows = np.r_[np.arange(n), np.arange(n)] if augmented else np.arange(n)  # copies last
        jobs = (
            delayed(run_fold)(task, protocol, m, k, X_of[m], data.y[rows], data.groups[rows],
                              data.origin[rows], fold[rows],
                              seed=args.seed, quick=args.quick, search=args.search,
                              n_threads=n_threads, n_recordings=n)
            for m, k, _ in todo
        )
        paths = {(m, k): path for m, k, path in todo}
        bar = _progress(len(todo), f"{task} {protocol}", args.quiet)
        with backend:
            for timing, rec in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
                rec["fingerprint"] = prints[rec["model"]]
                write_record(paths[(rec["model"], rec["fold"])], rec)
                timings.append(timing)
                done.append(rec)
                bar(f"{rec['model']}/fold{rec['fold']} "
                    f"bacc={rec['scores']['balanced_accuracy']:.3f}")
        records = sorted(done, key=lambda r: (r["model"], r["fold"]))
        tables[(task, protocol)], per_origin = summarise(task, protocol, records, data, out)
        origin_rows.append(per_origin)
        if not args.quiet:
            print(f"\n== {task}, {protocol} ({len(data.y)} recordings)\n\n"
                  f"{tables[(task, protocol)]}")
    per_origin = pd.concat(origin_rows, ignore_index=True)
    if len(per_origin):
        name = "set" if t.dataset == "pascal" else "database"
        keep = ["protocol", "model", "origin", *t.origin_metrics,
                *(["uncertain"] if "uncertain" in per_origin else []), "n"]
        atomic_write(out / task / f"per_{name}.csv", per_origin[keep].rename(
            columns={"origin": name}).to_csv(index=False, float_format="%.4f"))
    return tables


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any worker imports TensorFlow
    args, tasks_, models = parse_args(argv)
    out = Path(args.out)
    config = {"cv": args.cv, "seed": args.seed, "quick": args.quick, "search": args.search,
              "version": __version__}
    code = code_digest()
    client, backend = _backend(args)
    tables, timings, memos = {}, [], {}
    started = time.perf_counter()
    try:
        for task in tasks_:
            if task == "segmentation":
                tables[(task, "")] = run_segmentation(
                    out, args.data_home, code=code, n_jobs=1 if args.scheduler else args.n_jobs)
                if args.physionet_home is not None:
                    tables[(task, "physionet")] = run_physionet_rhythm(
                        out, args.physionet_home, code, 1 if args.scheduler else args.n_jobs)
                if not args.quiet:
                    for key in [k for k in tables if k[0] == "segmentation"]:
                        print(f"\n== task segmentation {key[1]}\n\n{tables[key]}")
                continue
            if tasks.get(task).needs_physionet and args.physionet_home is None:
                print(f"note: task {task} skipped: {args.physionet_missing}", file=sys.stderr)
                continue
            tables.update(run_task(task, args, models, out, config, code, backend, timings,
                                   memos))
    except (AudioError, LayoutError, RoundingNoiseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
        if timings:
            write_timings(out / "timings.csv", timings)
    settings = f"--cv {args.cv} --seed {args.seed}"
    write_results_readme(out, tables, settings)
    if args.documented and out.resolve() == DEFAULT_OUT.resolve():
        update_readme(ROOT / "README.md", out, tables, settings)
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
