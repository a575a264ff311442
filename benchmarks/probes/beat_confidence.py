"""Probe, not part of the main job: can a confidence per beat tell the beats read right?

Issue #23 asks for a confidence per recording "and per beat where it fits". The
candidate measured here: for each decoded beat (its S1 to the next S1), the emission
model's log-likelihood margin of the beat as decoded over the same frames read with
S1 and S2 (and systole and diastole) swapped, mapped to 0-1 as ``detect`` maps the
recording's margins (``tanh(margin / 10)``, clipped at 0); beside it, the beat's
balance of systole against diastole, ``(RR - 2 systole) / RR``, and the recording's
own ``confidence``. A beat is read right when its S1 lies within 100 ms of an
annotated S1 and its one S2 within 100 ms of an annotated S2. Scored on set A as
published and on the segmentation report's 120 faster and child-like versions, each
recording with the segmenter trained on the other 20 (leave-one-recording-out).

It also splits the decoded log-likelihood of two 180 bpm versions read at half rate
into the emission's sum and the rest (the state durations), at the annotated cycle
and at the decoded one: why the half-rate reading wins. With ``--sd-floor F`` it
instead scores, as the segmentation report does, set A and the versions with every
state duration's standard deviation in the decoder raised to at least ``F`` frames
(a trial of vaguer durations; hbclf is patched in the worker processes only).

Run from the repository root (about 30 seconds on 2 cores each)::

    python -m benchmarks.probes.beat_confidence
    python -m benchmarks.probes.beat_confidence --sd-floor 2

docs/findings.md quotes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HALF_RATE = (("201103140132", "child-like", 180), ("201103221214", "child-like", 180))


def beat_margins(log_emission, labels, s1):
    """Per S1 time (s): the emission log-likelihood of its beat's frames (from the start of its
    S1 segment to the next S1 segment's, or the end) as labelled, minus with S1 and S2 (and
    systole and diastole) swapped."""
    from hbclf.heartbeat import ENV_RATE
    from hbclf.heartbeat._detect import _SWAP  # detect's own S1 <-> S2, systole <-> diastole

    frames = np.arange(len(labels))
    read = labels >= 0
    margin = np.zeros(len(labels))
    margin[read] = (log_emission[frames[read], labels[read]]
                    - log_emission[frames[read], _SWAP[labels[read]]])
    total = np.r_[0.0, np.cumsum(margin)]
    starts = np.flatnonzero((labels == 0) & (np.r_[-1, labels[:-1]] != 0))
    if len(starts) == 0 or len(s1) == 0:
        return np.zeros(len(s1))
    own = np.clip(np.searchsorted(starts, np.floor(np.asarray(s1) * ENV_RATE), side="right") - 1,
                  0, None)
    ends = np.r_[starts, len(labels)][own + 1]
    return total[ends] - total[starts[own]]


def _near(t, ref, tol=0.1):
    return len(ref) > 0 and float(np.min(np.abs(np.asarray(ref) - t))) <= tol


def beat_rows(beats, log_emission, truth, tag):
    """One row per beat ``detect`` found inside the annotated stretch: its scores and whether it
    is right. ``log_emission``: the segmenter's, of the recording's frames."""
    from hbclf.heartbeat._detect import _sure  # the recording's margins' own mapping

    from benchmarks.segmentation import _span

    if not beats.detected:
        return []
    assert len(log_emission) == len(beats.states)  # one block: under 66 s
    margins = beat_margins(log_emission, beats.states, beats.s1)
    lo, hi = _span(truth, 0.1)
    rows = []
    for k, t in enumerate(beats.s1):
        if not lo <= t <= hi:
            continue
        nxt = beats.s1[k + 1] if k + 1 < len(beats.s1) else np.inf
        after = beats.s2[(beats.s2 > t) & (beats.s2 < nxt)]
        balance = ((nxt - t - 2 * (after[0] - t)) / (nxt - t)
                   if len(after) == 1 and np.isfinite(nxt) else np.nan)
        rows.append({"tag": tag, "beat": _sure(margins[k]),
                     "balance": balance, "recording": beats.confidence,
                     "right": _near(t, truth["s1"]) and len(after) == 1
                     and _near(after[0], truth["s2"]),
                     "s1_on_s2": _near(t, truth["s2"])})
    return rows


def held_out(i, recordings, annotations, ids):
    """Recording ``i`` and its versions, with the segmenter trained on the others."""
    from hbclf.heartbeat import Segmenter, detect, faster_heart, frame_envelopes

    from benchmarks.segmentation import VARIANTS

    others = [j for j in range(len(ids)) if j != i]
    seg = Segmenter().fit([recordings[j] for j in others], [annotations[j] for j in others])
    y, sr = recordings[i]
    readings = [("set A", y, annotations[i], None)]
    for kind, target in VARIANTS:
        try:
            fast, new = faster_heart(y, sr, annotations[i], heart_rate=target,
                                     child=kind == "child-like")
        except ValueError:  # the recording's own rate is above the target
            continue
        readings.append(("versions", fast, new, (str(ids[i]), kind, target)))
    rows, split = [], []
    for tag, wave, truth, version in readings:
        beats = detect(wave, sr, segmenter=seg)
        log_emission = seg.log_emission(frame_envelopes(wave, sr))
        rows += beat_rows(beats, log_emission, truth, tag)
        if version in HALF_RATE:
            split.append(_split(beats, log_emission, truth, " ".join(map(str, version)) + " bpm"))
    return rows, split


def _split(beats, log_emission, truth, name):
    """Decoded log-likelihood at the annotated and the decoded cycle: emission sum and the rest."""
    from hbclf.heartbeat import expected_systole
    from hbclf.heartbeat._hsmm import decode  # the decoder detect uses, at a cycle we choose

    cycles = {"annotated": float(np.median(np.diff(np.sort(truth["s1"])))),
              "decoded": 60.0 / beats.heart_rate}
    out = []
    for which, cycle in cycles.items():
        labels, total = decode(log_emission, cycle, expected_systole(60.0 / cycle))
        read = labels >= 0
        emission = float(log_emission[np.flatnonzero(read), labels[read]].sum())
        out.append(f"{name}, {which} cycle {cycle:.3f} s: log-likelihood {total:.1f} = emission "
                   f"{emission:.1f} + durations {total - emission:.1f}")
    return out


def floored(i, recordings, annotations, ids, floor):
    """The segmentation report's counts and version rows for recording ``i``, the decoder's
    duration standard deviations at least ``floor`` frames."""
    import hbclf.heartbeat._hsmm as hsmm

    from benchmarks.segmentation import _held_out

    plain = hsmm.durations
    hsmm.durations = lambda cycle, systole: (lambda m, s: (m, np.maximum(s, floor)))(
        *plain(cycle, systole))
    try:
        return _held_out(i, recordings, annotations, ids)
    finally:
        hsmm.durations = plain


def _floor_report(floor, done, annotations):
    from benchmarks.segmentation import _add, _counts, _pooled, pooled_f1

    totals = {"s1": {}, "s2": {}}
    for (beats, _), truth in zip(done, annotations):
        for sound, total in totals.items():
            _add(total, _counts(beats, truth)[(sound, 0.1)])
    versions = pd.DataFrame([r for _, rows in done for r in rows])
    print(f"durations' sd at least {floor} frames: set A S1 / S2 F1 "
          f"{_pooled(totals['s1'])['f1']:.3f} / {_pooled(totals['s2'])['f1']:.3f}; versions: "
          f"rate within 10 % {versions['rate_within_10pct'].mean():.1%}, S1 / S2 F1 "
          f"{pooled_f1(versions, 's1'):.3f} / {pooled_f1(versions, 's2'):.3f}")


def main(argv=None):
    import argparse

    from joblib import Parallel, delayed
    from sklearn.metrics import roc_auc_score

    from hbclf.heartbeat import annotated_recordings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sd-floor", type=float, help="frames; score set A and the versions only")
    args = ap.parse_args(argv)
    recordings, annotations, ids = annotated_recordings()
    if args.sd_floor is not None:
        done = Parallel(n_jobs=2)(delayed(floored)(i, recordings, annotations, ids, args.sd_floor)
                                  for i in range(len(ids)))
        _floor_report(args.sd_floor, done, annotations)
        return 0
    done = Parallel(n_jobs=2)(delayed(held_out)(i, recordings, annotations, ids)
                              for i in range(len(ids)))
    beats = pd.DataFrame([r for rows, _ in done for r in rows])
    print("| beats of | beats | read right | S1 on an annotated S2 | ROC AUC: per-beat margin | "
          "systole balance | recording's confidence |")
    print("|---|---|---|---|---|---|---|")
    for tag, g in beats.groupby("tag", sort=False):
        b = g.dropna(subset=["balance"])
        print(f"| {tag} | {len(g)} | {g['right'].mean():.1%} | {g['s1_on_s2'].mean():.1%} | "
              f"{roc_auc_score(g['right'], g['beat']):.2f} | "
              f"{roc_auc_score(b['right'], b['balance']):.2f} | "
              f"{roc_auc_score(g['right'], g['recording']):.2f} |")
    for _, split in done:
        for lines in split:
            print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
