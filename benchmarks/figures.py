"""Figures of one (task, protocol): confusion matrices, the model comparison, reliability.

Figures are drawn on :class:`matplotlib.figure.Figure` objects, never through
pyplot, so no backend is chosen for anyone.
"""

from __future__ import annotations

import numpy as np

from hbclf.calibration import is_probability, reliability

from .records import pooled_predictions

def comparison_figures(task, protocol, records, y, order, agg, tdir):
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


def reliability_figure(task, protocol, records, y, order, tdir, bins=10):
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
        pred, scores, classes = pooled_predictions(records, m, len(y))
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

