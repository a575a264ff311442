"""Probe, not part of the main job: which emission model holds the segmenter at children's rates.

The segmentation report's faster and child-like versions of the 21 annotated set A
recordings (``hbclf.heartbeat.faster_heart``) and set A as published, both
leave-one-recording-out, scored for six emission models of
:class:`hbclf.heartbeat.Segmenter`:

- a logistic regression alone (Springer et al. 2016's approach; shipped until 2026-12-02:
  ``hidden_units=None``);
- the same, also learning child-like versions of its training recordings at 120, 150
  and 180 bpm (``child_rates``);
- a one-hidden-layer perceptron (32 ReLU units, Adam, 50 epochs, ``alpha`` 1e-3,
  seed 0) in place of the logistic regression (``estimator``);
- the perceptron with the child-like versions;
- the mean of the two models' posteriors (the shipped kind, ``Segmenter()``);
- that mean with the child-like versions.

Why: at 150-180 bpm the decoder can prefer half the rate because the logistic
emission confuses the states there (in the versions looked at, the true cycle's
decoding gained less emission than its extra beats cost in durations). Run from the
repository root (about two minutes on 2 cores)::

    python -m benchmarks.probes.segmenter_emission

It prints one row per model: set A pooled S1 and S2 F1 (±100 ms), and over the 120
versions the share with the rate within 10 % and the pooled S1 and S2 F1, overall and
at 150 bpm and over. docs/findings.md quotes it. The models were compared on these same
recordings: the shipped kind was chosen from this table, so on its test data.
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd


def models():
    """The six segmenters compared, by name (unfitted)."""
    from sklearn.neural_network import MLPClassifier

    from hbclf.heartbeat import Segmenter

    mlp = MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, max_iter=50, random_state=0)
    child = (120, 150, 180)
    return {"logistic": Segmenter(hidden_units=None),
            "logistic + child-like versions": Segmenter(hidden_units=None, child_rates=child),
            "perceptron": Segmenter(estimator=mlp),
            "perceptron + child-like versions": Segmenter(child_rates=child, estimator=mlp),
            "mean of both (shipped)": Segmenter(),
            "mean of both + child-like versions": Segmenter(child_rates=child)}


def held_out(i, recordings, annotations, ids):
    """Every model trained without recording ``i``: its set A counts and its versions' rows."""
    from sklearn.exceptions import ConvergenceWarning

    from benchmarks.segmentation import _counts, _held_out

    out = {}
    for name, seg in models().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 50 epochs, on purpose
            beats, rows = _held_out(i, recordings, annotations, ids, seg)
        out[name] = (_counts(beats, annotations[i]), rows)
    return out


def main(argv=None):
    from joblib import Parallel, delayed

    from benchmarks.segmentation import _add, _pooled, pooled_f1
    from hbclf.heartbeat import annotated_recordings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-home", help="a full PASCAL copy (default: the embedded one, as the "
                    "main job)")
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)
    recordings, annotations, ids = annotated_recordings(data_home=args.data_home)
    per = Parallel(n_jobs=args.n_jobs)(delayed(held_out)(i, recordings, annotations, ids)
                                       for i in range(len(ids)))
    lines = ["| emission model | set A S1 F1 | set A S2 F1 | versions: rate within 10 % | "
             "S1 F1 | S2 F1 | ≥ 150 bpm: rate within 10 % | S1 F1 | S2 F1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in models():
        total = {}
        for p in per:
            for key, counts in p[name][0].items():
                total[key] = _add(total.get(key, {}), counts)
        v = pd.DataFrame([row for p in per for row in p[name][1]])
        fast = v[v["heart_rate_annotated"] >= 150]
        cells = [f"{_pooled(total[(s, 0.1)])['f1']:.3f}" for s in ("s1", "s2")]
        for g in (v, fast):
            cells += [f"{g['rate_within_10pct'].mean():.1%}",
                      f"{pooled_f1(g, 's1'):.3f}", f"{pooled_f1(g, 's2'):.3f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    print(f"\n{len(ids)} annotated recordings, {len(v)} versions ({len(fast)} at 150 bpm or "
          "more); each scored by models trained on the other recordings only.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
