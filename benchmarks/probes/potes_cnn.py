"""Probe, not part of the main job: the CNN half of Potes et al. (2016) on the main job's folds.

Potes C, Parvaneh S, Rahman A, Conroy B. "Ensemble of feature-based and deep
learning-based classifiers for detection of abnormal heart sounds". Computing in
Cardiology 2016; 43: 621-624. Written from the paper's description, not its code:

- every cardiac cycle from an S1 (``hbclf.heartbeat.detect``) to the next, at 1 kHz,
  in four bands (25-45, 45-80, 80-200, 200-400 Hz; 4th-order Butterworth, zero
  phase, each band scaled to unit deviation over the recording), zero-padded or cut
  to 2.5 s; at most 16 cycles per recording, evenly spaced;
- a branch per band: Conv1D(8, 5) ReLU, max-pool 2, Conv1D(4, 5) ReLU, max-pool 2;
  the four branches flattened and joined, Dense(20) ReLU, dropout 0.25, a sigmoid;
  Adam (1e-3), 8 epochs, batches of 256, every (database, class) cell weighing the
  same (as the harness's ``potes_features``); a recording's probability is the mean
  of its cycles';
- the ensemble: the mean of this and the main job's out-of-fold ``potes_features``
  probability of "abnormal" (``results/runs/<task>/<protocol>``), abnormal
  above 0.5 (the rule fixed before the folds were scored); likewise the mean of this
  and ``et_contrasts_experts``' where the main job ran it.

Run after the main job, from the repository root (about 30 minutes on 2 cores; 25 for
``--task heart --protocol lodo``, seven held-out databases)::

    python -m benchmarks.probes.potes_cnn --physionet-home ../shared/data/physionet2016
    python -m benchmarks.probes.potes_cnn --physionet-home ../shared/data/physionet2016 \
        --task heart --protocol lodo

It prints, for each half and each mean, the MAcc over the folds (mean and deviation),
sensitivity, specificity and ROC AUC, and under ``lodo`` each held-out database's MAcc /
ROC AUC; docs/findings.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

BANDS = ((25, 45), (45, 80), (80, 200), (200, 400))
RATE, LENGTH, MAX_CYCLES = 1000, 2500, 16


def cycles(path):
    """The recording's cycles, (n, LENGTH, 4) float16 (none when no beats are found)."""
    import soxr
    from scipy.signal import butter, sosfiltfilt

    from hbclf.heartbeat import detect
    from hbclf.io import load_audio

    y, sr = load_audio(path)
    beats = detect(y, sr)
    if not beats.detected:
        return np.zeros((0, LENGTH, 4), np.float16)
    x = soxr.resample(y, sr, RATE)
    bands = np.stack([sosfiltfilt(butter(4, b, btype="band", fs=RATE, output="sos"), x)
                      for b in BANDS], axis=1)
    bands /= bands.std(axis=0, keepdims=True) + 1e-12
    s1 = np.round(np.asarray(beats.s1) * RATE).astype(int)
    out = []
    for a, b in zip(s1[:-1], s1[1:]):
        c = np.zeros((LENGTH, 4), np.float32)
        n = min(b - a, LENGTH)
        c[:n] = bands[a:a + n]
        out.append(c)
    if not out:
        return np.zeros((0, LENGTH, 4), np.float16)
    out = np.stack(out)
    if len(out) > MAX_CYCLES:
        out = out[np.linspace(0, len(out) - 1, MAX_CYCLES).round().astype(int)]
    return out.astype(np.float16)


def build():
    import keras
    from keras import layers

    inp = keras.Input((LENGTH, 4))
    branches = []
    for b in range(4):
        x = layers.Lambda(lambda t, b=b: t[:, :, b:b + 1])(inp)
        x = layers.Conv1D(8, 5, activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
        x = layers.Conv1D(4, 5, activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
        branches.append(layers.Flatten()(x))
    x = layers.Concatenate()(branches)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.25)(x)
    model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(x))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    return model


def _report(name, p, y, fold, names, *, task, protocol):
    """Print a half's or an ensemble's scores: the mean over the grouped folds, or for ``lodo``
    each held-out database's MAcc and ROC AUC and their mean."""
    from hbclf import tasks

    decided = np.where(p > 0.5, "abnormal", "normal")
    scored = [(fold == k) & ~np.isnan(p) for k in range(len(names))]
    per_fold = pd.DataFrame([tasks.score(task, y[m], decided[m], np.c_[p[m], 1 - p[m]],
                                         ["abnormal", "normal"]) for m in scored], index=names)
    line = (f"{name}: MAcc {per_fold['macc'].mean():.3f} ± {per_fold['macc'].std(ddof=0):.3f}"
            f" (Se {per_fold['sensitivity'].mean():.3f}, Sp {per_fold['specificity'].mean():.3f},"
            f" ROC AUC {per_fold['roc_auc'].mean():.3f})")
    if protocol == "lodo":
        line += "; " + ", ".join(f"{n} {r.macc:.3f}/{r.roc_auc:.3f}"
                                 for n, r in per_fold.iterrows())
    print(line, flush=True)


def main(argv=None):
    from joblib import Parallel, delayed

    from benchmarks.records import pooled_predictions
    from hbclf import tasks
    from hbclf.domains import domain_balanced_weights

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--physionet-home", required=True)
    ap.add_argument("--data-home", default=None, help="a full PASCAL copy (task heart)")
    ap.add_argument("--task", choices=("physionet", "heart"), default="physionet")
    ap.add_argument("--protocol", choices=("grouped-10-fold", "lodo"), default="grouped-10-fold")
    ap.add_argument("--results", default="results")
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args(argv)
    data = tasks.get(args.task).load(data_home=args.data_home,
                                     physionet_home=args.physionet_home)
    per = Parallel(n_jobs=2, batch_size=16)(delayed(cycles)(f) for f in data.filenames)
    X = np.concatenate(per)
    rec = np.concatenate([np.full(len(c), i) for i, c in enumerate(per)])
    fold, names = tasks.make_folds(args.protocol, data.y, data.groups, data.origin, seed=0)
    abnormal = data.y == "abnormal"

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    p_cnn = np.full(len(data.y), np.nan)
    for k in range(len(names)):
        started = time.perf_counter()
        keras.utils.set_random_seed(k)
        train = fold[rec] != k
        weight = domain_balanced_weights(data.y[rec][train], data.origin[rec][train])
        model = build()
        model.fit(X[train].astype(np.float32), abnormal[rec][train].astype(np.float32),
                  sample_weight=weight, epochs=args.epochs, batch_size=256, verbose=0)
        p = model.predict(X[~train].astype(np.float32), batch_size=1024, verbose=0)[:, 0]
        for r in np.unique(rec[~train]):
            p_cnn[r] = p[rec[~train] == r].mean()
        print(f"fold {k} ({names[k]}): {train.sum()} training cycles, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    runs = Path(args.results) / "runs" / args.task / args.protocol
    halves = {"CNN half": p_cnn}
    for other in ("potes_features", "et_contrasts_experts"):
        if not (runs / other).is_dir():
            continue
        records = [json.loads((runs / other / f"fold{k}.json").read_text())
                   for k in range(len(names))]
        _, scores, classes = pooled_predictions(records, other, len(data.y))
        p_other = scores[:, classes.index("abnormal")]
        # a recording without beats has no cycles: the other model decides it alone
        halves[other] = p_other
        halves[f"mean of the CNN half and {other}"] = (
            p_other + np.where(np.isnan(p_cnn), p_other, p_cnn)) / 2
    for name, p in halves.items():
        _report(name, p, data.y, fold, names, task=args.task, protocol=args.protocol)


if __name__ == "__main__":
    main()
