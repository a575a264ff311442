"""Tables of one (task, protocol): per-fold scores, the summary, pooled out-of-fold predictions.

Every file is written with :func:`benchmarks.records.atomic_write`; the Markdown
summary is what the results README shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from hbclf import pipelines, tasks

from .figures import comparison_figures, reliability_figure
from .records import atomic_write, pooled_novel, pooled_predictions

COMMON = ["balanced_accuracy", "macro_f1", "accuracy"]
#: Scores computed once on the pooled out-of-fold predictions, not averaged over folds
#: (discriminant power is infinite on a fold where Se or Sp is 0 or 1).
POOLED = {"b": ("discriminant_power",)}


def _fmt(mean, std=None):
    if np.isnan(mean):
        return "undefined"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {0.0 if np.isnan(std) else std:.3f}"


def pooled_scores(task, records, data, order):
    """Scores of the pooled out-of-fold predictions: overall and per origin.

    Returns ``(overall, per_origin)``: ``{model: scores}`` and a DataFrame with
    one row per (model, origin), with the share of the origin's recordings
    beyond the fold's novelty gate (``uncertain``, for models that have one),
    plus a ``mean`` row per model (the mean over origins) and, where both
    kinds are present, ``mean valve disease`` and ``mean other`` (the mean
    over origins whose abnormal recordings are mostly valve disease,
    :func:`hbclf.tasks.abnormal_kind`, and over the rest).
    """
    n, rows, overall = len(data.y), [], {}
    several = len(set(data.origin)) > 1
    for m in order:
        pred, scores, classes = pooled_predictions(records, m, n)
        overall[m] = tasks.score(task, data.y, pred.astype(str), scores, classes)
        if not several:
            continue
        per = pd.DataFrame([{"model": m, "origin": o, **s} for o, s in tasks.score_by_origin(
            task, data.y, pred, scores, classes, data.origin,
            novel=pooled_novel(records, m, n)).items()])
        valve = per["origin"].map(tasks.abnormal_kind) == "valve disease"
        means = [("mean", per)]
        if valve.any() and not valve.all():
            means += [("mean valve disease", per[valve]), ("mean other", per[~valve])]
        rows += per.to_dict("records")
        for name, part in means:
            rows.append({"model": m, "origin": name, "n": int(part["n"].sum()), **part.drop(
                columns=["model", "origin", "n"]).mean(numeric_only=True).to_dict()})
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
        means = [c for c in ("mean", "mean valve disease", "mean other") if c in wide.columns]
        origin_cols = [o for o in wide.columns if o not in means] + means
        for o in origin_cols:
            flat[f"{key}[{o}]"] = wide[o]
        if "uncertain" in per_origin:  # the worst origin's share beyond the novelty gate
            mine = per_origin[~per_origin["origin"].str.startswith("mean")]
            flat["uncertain[max]"] = mine.groupby("model")["uncertain"].max().reindex(order)
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
        pred, scores, classes = pooled_predictions(records, m, len(data.y))
        extra[m] = pred
        for j, c in enumerate(classes):
            extra[f"{m}_score_{c}"] = scores[:, j]
    oof = pd.concat([oof, pd.DataFrame(extra)], axis=1)
    atomic_write(tdir / "oof_predictions.csv", oof.to_csv(index_label="index",
                                                          float_format="%.6f"))
    comparison_figures(task, protocol, records, data.y, order, agg, tdir)
    reliability_figure(task, protocol, records, data.y, order, tdir)
    if len(per_origin):
        per_origin.insert(0, "protocol", protocol)
    return table, per_origin


