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
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from hbclf import __version__, pipelines, tasks
from hbclf.calibration import is_probability, reliability
from hbclf.datasets import LayoutError, load_pascal_timing
from hbclf.heartbeat import detect, score_detection
from hbclf.io import AudioError, load_audio
from hbclf.tasks import evaluate_fold, make_folds

TASKS = (*tasks.names(), "segmentation")
QUICK_MODELS = ("origin", "dummy", "logreg", "svm", "cnn")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "results"  # the documented command's output, committed
PARTIAL_OUT = ROOT / "results-partial"  # any other run's, ignored by git
SHARED_PHYSIONET = ROOT.parent / "shared" / "data" / "physionet2016"
COMMON = ["balanced_accuracy", "macro_f1", "accuracy"]
#: Scores computed once on the pooled out-of-fold predictions, not averaged over folds
#: (discriminant power is infinite on a fold where Se or Sp is 0 or 1).
POOLED = {"b": ("discriminant_power",)}


# -- data, features and folds ----------------------------------------------------------------

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


def extract(featurizer, files, cache_dir, code):
    """Features of every recording, cached on disk.

    The cache key is the featurizer's parameters, the paths and ``code`` (the
    digest of hbclf's code), so a code change never reuses stale features.
    """
    from joblib import Memory

    def compute(featurizer, files, code):
        return featurizer.fit_transform(files)

    return Memory(cache_dir, verbose=0).cache(compute)(featurizer, list(files), code)


def models_for(task, data, models):
    """The models that make sense on a task: the origin baseline only where origins differ,
    networks only where the task says so (:attr:`hbclf.tasks.Task.networks`)."""
    single_origin = len(set(data.origin)) < 2
    skip = set() if tasks.get(task).networks else set(pipelines.networks())
    return [m for m in models if not (m == "origin" and single_origin) and m not in skip]


# -- one fold ---------------------------------------------------------------------------------

def run_fold(task, protocol, model, k, X, y, groups, origin, fold, *, seed, quick, search,
             n_threads):
    """Fit on all folds but ``k``, predict fold ``k``.

    Returns ``(timing, record)``: the seconds taken, kept apart, and a
    JSON-ready record that is the same on every run of the same code.
    """
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # no retracing warnings in the log
    _, est = pipelines.split_stateless(
        pipelines.make(model, random_state=seed, quick=quick, n_threads=n_threads)
    )
    train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
    grid = pipelines.param_grid(model) if search else None
    t0 = time.perf_counter()
    _, rec = evaluate_fold(task, est, X, y, groups, train, test, grid=grid, seed=seed,
                           domains=origin)
    timing = {"task": task, "protocol": protocol, "model": model, "fold": int(k),
              "seconds": time.perf_counter() - t0}
    rec.update(task=task, protocol=protocol, model=model, fold=int(k), index=test.tolist(),
               class_scores=np.round(rec["class_scores"], 6).tolist())
    return timing, rec


def atomic_write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


# -- tables and figures -----------------------------------------------------------------------

def _fmt(mean, std=None):
    if np.isnan(mean):
        return "undefined"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {0.0 if np.isnan(std) else std:.3f}"


def _oof(records, model, n):
    """Pooled out-of-fold predictions and class scores of one model."""
    pred = np.empty(n, dtype=object)
    mine = [r for r in records if r["model"] == model]
    classes = mine[0]["classes"]
    scores = np.full((n, len(classes)), np.nan)
    for r in mine:
        pred[r["index"]] = r["pred"]
        scores[r["index"]] = np.asarray(r["class_scores"])
    return pred, scores, classes


def pooled_scores(task, records, data, order):
    """Scores of the pooled out-of-fold predictions: overall and per origin.

    Returns ``(overall, per_origin)``: ``{model: scores}`` and a DataFrame with
    one row per (model, origin) plus a ``mean`` row per model (the mean over
    origins).
    """
    n, rows, overall = len(data.y), [], {}
    several = len(set(data.origin)) > 1
    for m in order:
        pred, scores, classes = _oof(records, m, n)
        overall[m] = tasks.score(task, data.y, pred.astype(str), scores, classes)
        if not several:
            continue
        per = [{"model": m, "origin": o, **s} for o, s in tasks.score_by_origin(
            task, data.y, pred, scores, classes, data.origin).items()]
        mean = pd.DataFrame(per).drop(columns=["model", "origin", "n"]).mean(numeric_only=True)
        rows += per + [{"model": m, "origin": "mean", "n": int(n), **mean.to_dict()}]
    return overall, pd.DataFrame(rows)


def summarise(task, protocol, records, data, out):
    """Write a (task, protocol)'s tables, predictions and figures; return its Markdown table."""
    t = tasks.get(task)
    tdir = out / task / protocol
    rows = [{"task": task, "protocol": protocol, "model": r["model"], "fold": r["fold"],
             "params": json.dumps(r["params"], sort_keys=True), **r["scores"]} for r in records]
    per_fold = pd.DataFrame(rows).sort_values(["model", "fold"])
    atomic_write(tdir / "folds_scores.csv", per_fold.to_csv(index=False, float_format="%.6f"))

    order = [m for m in pipelines.names() if m in set(per_fold["model"])]
    cols = [c for c in COMMON + list(t.metrics) if c in per_fold]
    agg = per_fold.groupby("model")[cols].agg(["mean", "std"]).reindex(order)
    overall, per_origin = pooled_scores(task, records, data, order)
    flat = pd.DataFrame({f"{c}_{s}": agg[(c, s)] for c in cols for s in ("mean", "std")})
    pooled_cols = list(POOLED.get(task, ()))
    for c in pooled_cols:
        flat[f"{c}_pooled"] = [overall[m].get(c, np.nan) for m in order]
    key = "macc" if t.binary else "balanced_accuracy"  # per-origin score
    origin_cols = []
    if len(per_origin):
        wide = per_origin.pivot(index="model", columns="origin", values=key).reindex(order)
        origin_cols = [o for o in wide.columns if o != "mean"] + ["mean"]
        for o in origin_cols:
            flat[f"{key}[{o}]"] = wide[o]
    atomic_write(tdir / "summary.csv", flat.to_csv(float_format="%.4f"))

    # (header, column of flat) of the columns computed once, without a spread
    single = ([(f"{c} (pooled)", f"{c}_pooled") for c in pooled_cols]
              + [(f"{'MAcc' if t.binary else 'bacc'} {o}", f"{key}[{o}]") for o in origin_cols])
    headers = cols + [header for header, _ in single]
    values = {m: [(agg.loc[m, (c, "mean")], agg.loc[m, (c, "std")]) for c in cols]
              + [(flat.loc[m, col], None) for _, col in single] for m in order}
    means = np.array([[mean for mean, _ in values[m]] for m in order], dtype=float)
    best = [np.nan if np.isnan(col).all() else np.nanmax(col) for col in means.T]
    lines = ["| model | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
    for m in order:
        cells = []
        for j, (mean, std) in enumerate(values[m]):
            cell = _fmt(mean, std)
            cells.append(f"**{cell}**" if not np.isnan(mean) and mean == best[j] else cell)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    atomic_write(tdir / "summary.md", table + "\n")

    oof = pd.DataFrame({"file": [Path(f).name for f in data.filenames], "origin": data.origin,
                        "label": data.y})
    extra = {}
    for m in order:  # the predicted label, then the class scores, of every model
        pred, scores, classes = _oof(records, m, len(data.y))
        extra[m] = pred
        for j, c in enumerate(classes):
            extra[f"{m}_score_{c}"] = scores[:, j]
    oof = pd.concat([oof, pd.DataFrame(extra)], axis=1)
    atomic_write(tdir / "oof_predictions.csv", oof.to_csv(index_label="index",
                                                          float_format="%.6f"))
    _figures(task, protocol, records, data.y, order, agg, tdir)
    _reliability(task, protocol, records, data.y, order, tdir)
    if len(per_origin):
        per_origin.insert(0, "protocol", protocol)
    return table, per_origin


def _figures(task, protocol, records, y, order, agg, tdir):
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = sorted(set(y))
    for m in order:
        idx = np.concatenate([r["index"] for r in records if r["model"] == m])
        pred = np.concatenate([r["pred"] for r in records if r["model"] == m])
        fig = Figure(figsize=(4.5, 4))
        ax = fig.subplots()
        ConfusionMatrixDisplay.from_predictions(y[idx], pred, labels=labels, ax=ax,
                                                colorbar=False, xticks_rotation=30)
        ax.set_title(f"{task}, {protocol}: {m} (out-of-fold)", fontsize=9)
        fig.tight_layout()
        fig.savefig(tdir / f"confusion_{m}.png", dpi=100)
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    means = agg[("balanced_accuracy", "mean")].to_numpy()
    stds = agg[("balanced_accuracy", "std")].fillna(0).to_numpy()
    ax.bar(order, means, yerr=stds, capsize=3, color="tab:blue")
    ax.axhline(1 / len(labels), color="grey", lw=0.8, ls="--")
    ax.set_ylabel("balanced accuracy")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_title(f"{task}, {protocol}: models on the same folds (mean ± std; dashed: chance)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(tdir / "comparison.png", dpi=100)


def _reliability(task, protocol, records, y, order, tdir, bins=10):
    """Reliability diagram of the out-of-fold probabilities: confidence of the top class
    against how often it is right, one line per model that gives probabilities (the SVMs
    give decision values and are left out); the legend carries the expected calibration error."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    colours = colormaps["tab20"]  # more models than the default cycle's ten colours
    for i, m in enumerate(order):
        pred, scores, classes = _oof(records, m, len(y))
        done = ~np.isnan(scores).any(axis=1)
        if not is_probability(scores[done]):
            continue
        xs, ys, ece = reliability(y[done], scores[done], classes, bins=bins)
        ax.plot(xs, ys, marker="o", ms=3, lw=1, color=colours(i % 20),
                label=f"{m} (ECE {ece:.2f})")
    ax.set_xlabel("confidence of the predicted class (out of fold)")
    ax.set_ylabel("share of those predictions that are right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"{task}, {protocol}: reliability (dashed: perfectly calibrated)", fontsize=9)
    fig.tight_layout()
    fig.savefig(tdir / "reliability.png", dpi=100)


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


def _counts(beats, truth, span_of):
    """tp/fp/fn/err_ms of S1 and S2 at each tolerance, inside the annotated stretch."""
    c = {}
    for tol in TOLERANCES:
        for sound in SOUNDS:
            r = score_detection(getattr(beats, sound), truth[sound], tol=tol, span=span_of(tol))
            c[(sound, tol)] = {"tp": r["tp"], "fp": r["fp"], "fn": r["fn"],
                               "err_ms": r["mae_ms"] * r["tp"] if r["tp"] else 0.0}
    return c


CUE_WINDOW = 0.06  # s each side of an annotated sound: its width is measured in there
CUE_RATE = 2000  # Hz: the rate the annotation check reads a recording at


def _annotation_cues(y, sr, truth):
    """What a recording's own signal says about its annotated S1 and S2 (an annotation check).

    The median S1-to-S2 and S2-to-next-S1 intervals (ms; cycles with one S2
    between two S1s), and per kind of sound the median width at half maximum
    (ms) of its 25-400 Hz Hilbert envelope within 60 ms of each annotated time
    and the median spectral centroid (Hz, 25-600 Hz) of those same 120 ms.
    In most hearts S1 is the broader, lower-pitched sound, and systole the
    shorter interval below about 100 bpm.
    """
    from scipy.signal import butter, hilbert, resample_poly, sosfiltfilt

    x = resample_poly(np.asarray(y, dtype=np.float64), CUE_RATE, sr)
    x = sosfiltfilt(butter(4, (25.0, 600.0), btype="bandpass", fs=CUE_RATE, output="sos"), x)
    env = sosfiltfilt(butter(2, 30.0, fs=CUE_RATE, output="sos"), np.abs(hilbert(
        sosfiltfilt(butter(4, (25.0, 400.0), btype="bandpass", fs=CUE_RATE, output="sos"), x))))
    half, n_fft = int(CUE_WINDOW * CUE_RATE), 1024
    freqs = np.fft.rfftfreq(n_fft, 1.0 / CUE_RATE)
    band = (freqs >= 25.0) & (freqs <= 600.0)
    cues = {}
    for sound in SOUNDS:
        widths, centroids = [], []
        for t in truth[sound]:
            c = int(round(t * CUE_RATE))
            if c - half < 0 or c + half > len(x):
                continue
            seg = env[c - half:c + half]
            peak = int(np.argmax(seg))
            above = seg >= seg[peak] / 2
            run = [side.size if side.all() else int(np.argmin(side))  # the half-maximum run
                   for side in (above[peak::-1], above[peak:])]      # each way from the peak
            widths.append((run[0] + run[1] - 1) / CUE_RATE * 1000)
            power = np.abs(np.fft.rfft(x[c - half:c + half] * np.hanning(2 * half), n_fft)) ** 2
            centroids.append(float((power[band] * freqs[band]).sum() / power[band].sum()))
        cues[f"{sound}_width_ms"] = float(np.median(widths)) if widths else np.nan
        cues[f"{sound}_centroid_hz"] = float(np.median(centroids)) if centroids else np.nan
    s1, s2 = np.sort(truth["s1"]), np.sort(truth["s2"])
    cycles = [(m[0] - a, b - m[0]) for a, b in zip(s1[:-1], s1[1:])
              for m in [s2[(s2 > a) & (s2 < b)]] if len(m) == 1]
    systole, diastole = np.median(cycles, axis=0) * 1000 if cycles else (np.nan, np.nan)
    return {"annotated_systole_ms": systole, "annotated_diastole_ms": diastole, **cues}


def _annotation_check(per, counts):
    """One paragraph: the recordings whose annotated S1 looks like their S2 (the signal's cues),
    and the leave-one-recording-out F1 if every other recording were decoded perfectly."""
    wider = per["s1_width_ms"] - per["s2_width_ms"]
    lower = per["s2_centroid_hz"] - per["s1_centroid_hz"]
    odd = per.index[(wider < 0) & (lower < 0)]
    text = (f"Annotation check (each recording's own signal, `per_recording.csv`): the annotated S1 "
            f"is the broader sound in {int((wider > 0).sum())} of {len(per)} recordings (median "
            f"{wider.median():+.0f} ms) and the lower-pitched in {int((lower > 0).sum())} (median "
            f"{lower.median():+.0f} Hz). ")
    if not len(odd):
        return text + "In none is it both narrower and higher-pitched than the annotated S2."
    ceiling = {}
    for sound in SOUNDS:
        total = {}
        for i, c in enumerate(counts):
            part = dict(c["leave-one-recording-out"][(sound, 0.1)])
            if i not in odd:  # as if decoded perfectly
                part.update(tp=part["tp"] + part["fn"], fp=0, fn=0)
            _add(total, part)
        ceiling[sound] = _pooled(total)["f1"]
    names = "; ".join(f"{per.at[i, 'id']} (S1 {per.at[i, 's1_width_ms']:.0f} ms, "
                      f"{per.at[i, 's1_centroid_hz']:.0f} Hz; S2 {per.at[i, 's2_width_ms']:.0f} ms, "
                      f"{per.at[i, 's2_centroid_hz']:.0f} Hz; annotated systole "
                      f"{per.at[i, 'annotated_systole_ms']:.0f} ms, diastole "
                      f"{per.at[i, 'annotated_diastole_ms']:.0f} ms; F1 "
                      f"{per.at[i, 's1_100ms_f1']:.2f} / {per.at[i, 's2_100ms_f1']:.2f})"
                      for i in odd)
    return (text + f"Annotated S1 both narrower and higher-pitched than S2: {names}. With "
            f"{'it' if len(odd) == 1 else 'them'} decoded as now and every other recording "
            f"perfectly, leave-one-recording-out F1 (±100 ms) would be {ceiling['s1']:.3f} (S1) "
            f"/ {ceiling['s2']:.3f} (S2).")


def run_segmentation(out, data_home=None):
    """Score :func:`hbclf.heartbeat.detect` on the 21 annotated set A recordings.

    Two readings: leave-one-recording-out (for each recording, a
    :class:`~hbclf.heartbeat.Segmenter` trained on the other 20), the honest
    one; and the shipped segmenter, trained on all 21 (so in-sample). Plots
    of the best and the worst recording (leave-one-recording-out F1) go to
    ``segmentation/plots/``.
    """
    from hbclf.display import plot_heartbeats
    from hbclf.heartbeat import Segmenter, annotated_recordings, default_segmenter

    recordings, annotations, ids = annotated_recordings(data_home=data_home)
    timing = load_pascal_timing(data_home=data_home)
    tdir = out / "segmentation"
    (tdir / "plots").mkdir(parents=True, exist_ok=True)
    evaluations = ("leave-one-recording-out", "shipped model (in-sample)")
    rows, counts, loro_beats = [], [], []  # counts[i][evaluation][(sound, tol)] -> tp/fp/fn/err_ms
    for i, ((y, sr), truth, rid) in enumerate(zip(recordings, annotations, ids)):
        g = timing[timing["id"] == rid]
        others = [j for j in range(len(ids)) if j != i]
        held_out = Segmenter().fit([recordings[j] for j in others],
                                   [annotations[j] for j in others])
        found = {evaluations[0]: detect(y, sr, segmenter=held_out),
                 evaluations[1]: detect(y, sr, segmenter=default_segmenter())}
        counts.append({e: _counts(b, truth, lambda tol: (g["time"].min() - tol,
                                                          g["time"].max() + tol))
                       for e, b in found.items()})
        beats = found[evaluations[0]]
        loro_beats.append(beats)
        hr_true = 60.0 / np.median(np.diff(truth["s1"]))
        row = {"id": rid, "file": Path(g["filename"].iloc[0]).name, "annotated_sounds": len(g),
               "heart_rate_annotated": hr_true, "heart_rate": beats.heart_rate,
               "heart_rate_error": (abs(beats.heart_rate - hr_true)
                                    if beats.heart_rate is not None else np.nan),
               "quality": beats.quality, "reason": beats.reason or ""}
        for (sound, tol), c in counts[-1][evaluations[0]].items():
            row[f"{sound}_{int(tol * 1000)}ms_f1"] = _pooled(c)["f1"]
        row.update(_annotation_cues(y, sr, truth))
        rows.append(row)
    per = pd.DataFrame(rows)
    atomic_write(tdir / "per_recording.csv", per.to_csv(index=False, float_format="%.4f"))
    f1 = per["s1_100ms_f1"] + per["s2_100ms_f1"]
    for stale in (tdir / "plots").glob("*.png"):  # figures of earlier runs' choices
        if stale.stem not in ("best", "worst"):
            stale.unlink()
    for tag, i in (("best", int(f1.idxmax())), ("worst", int(f1.idxmin()))):
        y, sr = recordings[i]
        plot_heartbeats(y, sr, loro_beats[i], annotations=annotations[i],
                        title=f"{tag}: {ids[i]}",
                        path=tdir / "plots" / f"{tag}.png")

    summary, lines = [], ["| evaluation | sound | tolerance | precision | recall | F1 | "
                          "mean abs. error (ms) |", "|---|---|---|---|---|---|---|"]
    for evaluation in evaluations:
        for tol in TOLERANCES:
            for sound in SOUNDS:
                total = {}
                for c in counts:
                    _add(total, c[evaluation][(sound, tol)])
                m = _pooled(total)
                summary.append({"evaluation": evaluation, "sound": sound.upper(),
                                "tolerance": f"{int(tol * 1000)}ms", **m})
                lines.append(f"| {evaluation} | {sound.upper()} | ±{int(tol * 1000)} ms | "
                             f"{m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                             f"{m['mae_ms']:.1f} |")
    detected = per["heart_rate"].notna()
    lines += ["", f"{len(per)} recordings, {int(per['annotated_sounds'].sum())} annotated "
              f"sounds; leave-one-recording-out found no rhythm in {int((~detected).sum())} "
              f"(their sounds count as misses). Heart-rate error on the others: "
              f"{per.loc[detected, 'heart_rate_error'].mean():.1f} bpm mean, "
              f"{per.loc[detected, 'heart_rate_error'].median():.1f} bpm median; "
              f"{int(((per['s1_100ms_f1'] >= 0.95) & (per['s2_100ms_f1'] >= 0.95)).sum())} "
              f"of {len(per)} "
              "recordings at S1 and S2 F1 ≥ 0.95 (±100 ms). Only detections within the "
              "annotated stretch (± the tolerance) are scored.", "", _annotation_check(per, counts)]
    atomic_write(tdir / "summary.csv", pd.DataFrame(summary).to_csv(index=False,
                                                                     float_format="%.4f"))
    table = "\n".join(lines)
    atomic_write(tdir / "summary.md", table + "\n")
    return table


def _rhythm_of(path):
    """What detect finds in a whole recording and in each of its halves (one JSON-ready row),
    read at the recording's own rate (2 kHz for PhysioNet 2016)."""
    y, sr = load_audio(path, sr=None)
    half = len(y) // 2
    whole, first, second = detect(y, sr), detect(y[:half], sr), detect(y[half:], sr)
    return {"detected": whole.detected, "heart_rate": whole.heart_rate,
            "quality": whole.quality, "reason": whole.reason or "",
            "heart_rate_first_half": first.heart_rate if first.detected else None,
            "heart_rate_second_half": second.heart_rate if second.detected else None}


def _rhythms(files, code, n_jobs):
    return Parallel(n_jobs=n_jobs)(delayed(_rhythm_of)(f) for f in files)


def run_physionet_rhythm(out, physionet_home, code, n_jobs):
    """How :func:`hbclf.heartbeat.detect` fares on PhysioNet 2016, which has no annotations here.

    Per database: the share of recordings with a detected rhythm, the heart
    rate distribution, and how well the two halves of one recording agree on
    the rate (a heart does not change its rate much in 10-60 s; a detector
    that locks on noise does). Cached on the files and the code digest.
    """
    from joblib import Memory

    from hbclf.datasets import load_physionet2016

    data = load_physionet2016(physionet_home)
    rows = Memory(out / ".cache", verbose=0).cache(_rhythms, ignore=["n_jobs"])(
        list(data.filenames), code, n_jobs)
    per = pd.DataFrame(rows)
    per.insert(0, "database", data.database)
    per.insert(0, "record", data.frame["record"].to_numpy())
    per["half_disagreement_bpm"] = (per["heart_rate_first_half"]
                                    - per["heart_rate_second_half"]).abs()
    tdir = out / "segmentation"
    atomic_write(tdir / "physionet_per_recording.csv",
                 per.to_csv(index=False, float_format="%.3f"))
    lines = ["| database | recordings | rhythm found | heart rate p5 / median / p95 (bpm) | "
             "both halves found | halves' rate disagreement, median (bpm) | within 3 bpm |",
             "|---|---|---|---|---|---|---|"]
    groups = [(db, g) for db, g in per.groupby("database")] + [("all", per)]
    for db, g in groups:
        hr = g.loc[g["detected"], "heart_rate"].astype(float)
        both = g["half_disagreement_bpm"].dropna()
        q = (f"{hr.quantile(0.05):.0f} / {hr.median():.0f} / {hr.quantile(0.95):.0f}"
             if len(hr) else "–")
        lines.append(f"| {db} | {len(g)} | {g['detected'].mean():.1%} | {q} | "
                     f"{len(both) / len(g):.1%} | "
                     f"{both.median() if len(both) else float('nan'):.1f} | "
                     f"{(both <= 3).mean() if len(both) else float('nan'):.1%} |")
    table = "\n".join(lines)
    atomic_write(tdir / "physionet_summary.md", table + "\n")
    return table


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def update_readme(readme, tables, config):
    """Replace the README's results block with the tables, each headed by task and protocol."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    body = [README_START,
            f"Generated by `python -m benchmarks.run` ({config}) from "
            "`results/<task>/<protocol>/summary.md`. Columns without ± are computed once on the "
            "pooled out-of-fold predictions; per-set / per-database columns too.", ""]
    for (task, protocol), table in tables.items():
        if (task, protocol) == ("segmentation", "physionet"):
            title = ("Heartbeat detection on the 3126 PhysioNet 2016 recordings (no annotations: "
                     "how often a rhythm is found, and whether both halves of a recording agree)")
        elif task == "segmentation":
            title = "Heartbeat detection on the 21 annotated set A recordings"
        else:
            title = f"{tasks.get(task).title} — {PROTOCOL_NAMES.get(protocol, protocol)}"
        body += [f"**{title}**", "", table, ""]
    body.append(README_END)
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    atomic_write(readme, head + "\n".join(body) + tail)
    return True


PROTOCOL_NAMES = {"lodo": "leave-one-database-out (mean ± std over the held-out databases)"}


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
                   "$HBCLF_PHYSIONET, else ../shared/data/physionet2016 beside the project)")
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
    if args.physionet_home is None:
        env = os.environ.get("HBCLF_PHYSIONET")
        args.physionet_home = env or (str(SHARED_PHYSIONET) if SHARED_PHYSIONET.is_dir()
                                      else None)
    return args, tasks_, models


def _backend(args):
    from contextlib import nullcontext

    import joblib

    if args.scheduler:
        from dask.distributed import Client

        client = Client(args.scheduler)
        return client, joblib.parallel_config(backend="dask")
    return None, nullcontext()


def run_task(task, args, models, out, config, code, backend, timings):
    """Every protocol of one task; ``{(task, protocol): table}``."""
    t = tasks.get(task)
    data = t.load(data_home=args.data_home, physionet_home=args.physionet_home)
    models = models_for(task, data, models)
    n_jobs = -1 if args.scheduler else args.n_jobs
    n_threads = 1  # one TensorFlow thread per fold: the same numbers whatever --n-jobs is
    prints = {m: fingerprint(config, code, params_text(pipelines.make(
        m, random_state=args.seed, quick=args.quick, n_threads=n_threads))) for m in models}
    feats, tables, origin_rows = {}, {}, []
    protocols = t.protocols(cv=args.cv if (args.quick or t.kfold is None) else None)
    for protocol in protocols:
        fold, fold_names = make_folds(protocol, data.y, data.groups, data.origin, seed=args.seed)
        tdir = out / task / protocol
        atomic_write(tdir / "folds.csv", pd.DataFrame({
            "file": [Path(f).name for f in data.filenames], "origin": data.origin,
            "label": data.y, "group": data.groups,
            "fold": [fold_names[k] for k in fold]}).to_csv(index=False))
        done, todo = [], []
        for m in models:
            for k in range(len(fold_names)):
                path = out / "runs" / task / protocol / m / f"fold{k}.json"
                rec = json.loads(path.read_text()) if path.is_file() else None
                if rec and rec.get("fingerprint") == prints[m] and not args.force:
                    done.append(rec)
                else:
                    todo.append((m, k, path))
        # the networks' folds, the longest, first: the short ones then fill the other worker
        # instead of one network fold running alone at the end (same records in any order)
        todo.sort(key=lambda job: job[0] not in pipelines.networks())
        X_of = {}  # features only for models with folds left to run, shared by protocols
        for m in dict.fromkeys(m for m, _, _ in todo):
            featurizer, _ = pipelines.split_stateless(pipelines.make(m, quick=args.quick))
            key = repr(featurizer)  # models with the same steps share one extraction
            if key not in feats:
                feats[key] = (extract(featurizer, data.filenames, out / ".cache", code)
                              if featurizer is not None else data.filenames)
            X_of[m] = feats[key]
        jobs = (
            delayed(run_fold)(task, protocol, m, k, X_of[m], data.y, data.groups, data.origin,
                              fold,
                              seed=args.seed, quick=args.quick, search=args.search,
                              n_threads=n_threads)
            for m, k, _ in todo
        )
        paths = {(m, k): path for m, k, path in todo}
        bar = _progress(len(todo), f"{task} {protocol}", args.quiet)
        with backend:
            for timing, rec in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
                rec["fingerprint"] = prints[rec["model"]]
                atomic_write(paths[(rec["model"], rec["fold"])], json.dumps(rec))
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
        keep = ["protocol", "model", "origin", *t.origin_metrics, "n"]
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
    tables, timings = {}, []
    started = time.perf_counter()
    try:
        for task in tasks_:
            if task == "segmentation":
                tables[(task, "")] = run_segmentation(out, args.data_home)
                if args.physionet_home is not None:
                    tables[(task, "physionet")] = run_physionet_rhythm(
                        out, args.physionet_home, code, 1 if args.scheduler else args.n_jobs)
                if not args.quiet:
                    for key in [k for k in tables if k[0] == "segmentation"]:
                        print(f"\n== task segmentation {key[1]}\n\n{tables[key]}")
                continue
            if tasks.get(task).needs_physionet and args.physionet_home is None:
                print(f"note: task {task} skipped: no PhysioNet 2016 copy (pass "
                      "--physionet-home or set HBCLF_PHYSIONET)", file=sys.stderr)
                continue
            tables.update(run_task(task, args, models, out, config, code, backend, timings))
    except (AudioError, LayoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
        if timings:
            write_timings(out / "timings.csv", timings)
    if args.documented and out.resolve() == DEFAULT_OUT.resolve():
        update_readme(ROOT / "README.md", tables, f"--cv {args.cv} --seed {args.seed}")
    print(f"\nresults in {out} ({time.perf_counter() - started:.0f} s)")
    return 0


def write_timings(path, timings):
    """Merge this run's seconds per fold (fit and predict) into ``timings.csv``."""
    keys = ["task", "protocol", "model", "fold"]
    new = pd.DataFrame(timings)
    if path.is_file():
        old = pd.read_csv(path)
        if list(old.columns) == list(new.columns):
            new = pd.concat([old, new]).drop_duplicates(keys, keep="last")
    atomic_write(path, new.sort_values(keys).to_csv(index=False, float_format="%.3f"))


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
