"""The segmentation report: :func:`hbclf.heartbeat.detect` scored on the annotated set A
recordings (leave-one-recording-out), with a check of the annotations against each recording's
own signal, and the rhythm it finds on the unannotated PhysioNet 2016 recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from hbclf.datasets import load_pascal_timing
from hbclf.heartbeat import annotation_cues, detect, faster_heart, score_detection
from hbclf.io import load_audio

from .records import atomic_write

TOLERANCES = (0.1, 0.06)
SOUNDS = ("s1", "s2")
# faster versions of each annotated recording: (kind, target bpm); "faster" shortens diastole only,
# "child-like" also systole (Weissler's regression at the rate)
VARIANTS = (("faster", 100), ("faster", 120), ("faster", 140),
            ("child-like", 120), ("child-like", 150), ("child-like", 180))
RATE_BANDS = ((90, 120), (120, 150), (150, 185))  # bpm of the variants as annotated


def _pooled(counts):
    """Precision, recall, F1 and mean timing error from summed counts."""
    tp, fp, fn, err = (counts[k] for k in ("tp", "fp", "fn", "err_ms"))
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "f1": 2 * tp / max(2 * tp + fp + fn, 1), "mae_ms": err / max(tp, 1),
            "tp": tp, "fp": fp, "fn": fn}


def pooled_f1(frame, sound):
    """Pooled F1 of one sound over the rows of a table with ``<sound>_tp/_fp/_fn`` columns."""
    return _pooled({k: frame[f"{sound}_{k}"].sum() for k in ("tp", "fp", "fn")}
                   | {"err_ms": 0.0})["f1"]


def _add(total, part):
    for key, value in part.items():
        total[key] = total.get(key, 0) + value
    return total


def _counts(beats, truth):
    """tp/fp/fn/err_ms of S1 and S2 at each tolerance, inside the annotated stretch."""
    c = {}
    for tol in TOLERANCES:
        for sound in SOUNDS:
            r = score_detection(getattr(beats, sound), truth[sound], tol=tol,
                                span=_span(truth, tol))
            c[(sound, tol)] = {"tp": r["tp"], "fp": r["fp"], "fn": r["fn"],
                               "err_ms": r["mae_ms"] * r["tp"] if r["tp"] else 0.0}
    return c


def reversed_annotations(per):
    """Index of the recordings whose annotated S1 is both narrower and higher-pitched than their
    annotated S2 (the reverse of most hearts': the annotation check's question)."""
    return per.index[(per["s1_width_ms"] < per["s2_width_ms"])
                     & (per["s1_centroid_hz"] > per["s2_centroid_hz"])]


def reversed_ids(per):
    """The ``id`` of each recording :func:`reversed_annotations` names, as a set."""
    return set(per.loc[reversed_annotations(per), "id"])


def _annotation_check(per, counts):
    """One paragraph: the recordings whose annotated S1 looks like their S2 (the signal's cues),
    and the leave-one-recording-out F1 if every other recording were decoded perfectly."""
    wider = per["s1_width_ms"] - per["s2_width_ms"]
    lower = per["s2_centroid_hz"] - per["s1_centroid_hz"]
    odd = reversed_annotations(per)
    text = ("Annotation check (each recording's own signal, `per_recording.csv`): "
            f"the annotated S1 is the broader sound in {int((wider > 0).sum())} of {len(per)} "
            f"recordings (median {wider.median():+.0f} ms) and the lower-pitched in "
            f"{int((lower > 0).sum())} (median {lower.median():+.0f} Hz). ")
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
    names = "; ".join(
        f"{r.id} (S1 {r.s1_width_ms:.0f} ms, {r.s1_centroid_hz:.0f} Hz; "
        f"S2 {r.s2_width_ms:.0f} ms, {r.s2_centroid_hz:.0f} Hz; "
        f"annotated systole {r.annotated_systole_ms:.0f} ms, "
        f"diastole {r.annotated_diastole_ms:.0f} ms; "
        f"F1 {r.s1_100ms_f1:.2f} / {r.s2_100ms_f1:.2f})"
        for r in (per.loc[i] for i in odd))
    return (text + f"Annotated S1 both narrower and higher-pitched than S2: {names}. With "
            f"{'it' if len(odd) == 1 else 'them'} decoded as now and every other recording "
            f"perfectly, leave-one-recording-out F1 (±100 ms) would be {ceiling['s1']:.3f} (S1) "
            f"/ {ceiling['s2']:.3f} (S2).")


def _span(truth, tol):
    times = np.r_[truth["s1"], truth["s2"]]
    return times.min() - tol, times.max() + tol


def _variants(y, sr, truth, rid, segmenter):
    """One row per faster version of a recording (:data:`VARIANTS`) that can be made, scored
    with the segmenter that did not learn from the recording."""
    rows = []
    for kind, target in VARIANTS:
        try:
            fast, new = faster_heart(y, sr, truth, heart_rate=target, child=kind == "child-like")
        except ValueError:  # the recording's own rate is above the target
            continue
        beats = detect(fast, sr, segmenter=segmenter)
        rate = 60.0 / float(np.median(np.diff(np.sort(new["s1"]))))
        row = {"id": rid, "kind": kind, "target_bpm": target, "heart_rate_annotated": rate,
               "heart_rate": beats.heart_rate, "seconds": len(fast) / sr,
               "rate_within_10pct": (beats.heart_rate is not None
                                     and abs(beats.heart_rate - rate) <= 0.1 * rate),
               "confidence": beats.confidence, "reason": beats.reason or ""}
        for sound in SOUNDS:
            r = score_detection(getattr(beats, sound), new[sound], tol=0.1,
                                span=_span(new, 0.1))
            row.update({f"{sound}_{k}": r[k] for k in ("tp", "fp", "fn")},
                       **{f"{sound}_f1": r["f1"]})
        rows.append(row)
    return rows


def variant_ceiling(per, odd_ids):
    """Rate-within-10 % share and pooled S1 and S2 F1 of the versions if those of ``odd_ids`` were
    read as now and every other version perfectly."""
    odd = per["id"].isin(odd_ids)
    perfect = per.copy()
    for sound in SOUNDS:
        perfect.loc[~odd, f"{sound}_tp"] += perfect.loc[~odd, f"{sound}_fn"]
        perfect.loc[~odd, [f"{sound}_fp", f"{sound}_fn"]] = 0
    rate = (perfect["rate_within_10pct"] | ~odd).mean()
    return rate, pooled_f1(perfect, "s1"), pooled_f1(perfect, "s2")


def _variant_table(per, odd_ids=()):
    """Rows per rate band and kind of variant: rate found, pooled S1 and S2 F1 (±100 ms); with
    ``odd_ids`` (the annotation check's recordings), the most the goals' figures could reach
    while their versions are read as now."""
    def line(name, g):
        return (f"| {name} | {len(g)} | {g['rate_within_10pct'].mean():.1%} | "
                f"{pooled_f1(g, 's1'):.3f} | {pooled_f1(g, 's2'):.3f} | "
                f"{g['confidence'].median():.2f} |")

    lines = ["| variants (annotated rate) | versions | rate within 10 % | S1 F1 | S2 F1 | "
             "median confidence |", "|---|---|---|---|---|---|"]
    for lo, hi in RATE_BANDS:
        band = per[(per["heart_rate_annotated"] >= lo) & (per["heart_rate_annotated"] < hi)]
        for kind, g in band.groupby("kind", sort=False):
            lines.append(line(f"{lo}–{hi - 1} bpm, {kind}", g))
    for kind, g in per.groupby("kind", sort=False):
        lines.append(line(f"all {kind}", g))
    lines.append(line("all", per))
    right = per["rate_within_10pct"] & (per["s1_f1"] >= 0.8) & (per["s2_f1"] >= 0.8)
    auc = _auc(per["confidence"].to_numpy(), right.to_numpy())
    lines += ["", f"Each annotated set A recording made faster by "
              f"`hbclf.heartbeat.faster_heart` (samples cut inside each diastole, and for "
              f"child-like versions inside each systole too, down to Weissler's systole at the "
              f"rate; the sounds themselves untouched; "
              f"{', '.join(f'{k} {t}' for k, t in VARIANTS)} "
              f"bpm where above the recording's own rate; no cut nearer than 60 ms to a sound, so "
              f"the rate made can fall short of the target), segmented by the segmenter trained "
              f"on the other 20 recordings. {len(per)} versions of {per['id'].nunique()} "
              f"recordings, {per['seconds'].median():.1f} s in the median (the annotated "
              f"stretch). Goals: rate within 10 % in ≥ 98 %, S1 and S2 F1 ≥ 0.95 each. "
              f"The confidence tells versions read right (rate within 10 %, S1 and S2 F1 ≥ 0.8: "
              f"{int(right.sum())}) from the others with ROC AUC {auc:.2f}."]
    odd = per["id"].isin(odd_ids)
    if odd.any():
        rate, s1, s2 = variant_ceiling(per, odd_ids)
        names = sorted(set(per.loc[odd, "id"]))
        lines[-1] += (f" The versions inherit their recording's annotation: the "
                      f"{int(odd.sum())} versions of the {len(names)} "
                      f"recording{'s' if len(names) > 1 else ''} the annotation check names "
                      f"({', '.join(names)}) score S1 F1 {pooled_f1(per[odd], 's1'):.3f} and S2 F1 "
                      f"{pooled_f1(per[odd], 's2'):.3f} as read; with them read so and every other "
                      f"version perfectly, the rate would be within 10 % in {rate:.1%} and S1 / S2 "
                      f"F1 {s1:.3f} / {s2:.3f}"
                      + (": the F1 goal (0.95) needs a segmenter that reads them as annotated, "
                         "against the cues the check reports." if min(s1, s2) < 0.95 else "."))
    return "\n".join(lines)


def _auc(score, positive):
    """ROC AUC of a score for a boolean outcome; NaN with one class only."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score)) if 0 < positive.sum() < len(positive) \
        else float("nan")


def _cache_key(code):
    """``code`` (the digest of hbclf's code) and this module's own source: the report's cached
    parts are computed again when either changes (joblib checks only the cached function)."""
    import hashlib

    return code + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _held_out(i, recordings, annotations, ids, segmenter=None):
    """Recording ``i`` and its faster versions segmented by a clone of ``segmenter`` (default: the
    shipped kind, ``Segmenter()``) trained on the other recordings."""
    from sklearn.base import clone

    from hbclf.heartbeat import Segmenter

    others = [j for j in range(len(ids)) if j != i]
    seg = (Segmenter() if segmenter is None else clone(segmenter)).fit(
        [recordings[j] for j in others], [annotations[j] for j in others])
    y, sr = recordings[i]
    return detect(y, sr, segmenter=seg), _variants(y, sr, annotations[i], ids[i], seg)


def _leave_one_out(data_home, code, n_jobs):
    """:func:`_held_out` of every annotated recording, in ``n_jobs`` processes."""
    from hbclf.heartbeat import annotated_recordings

    recordings, annotations, ids = annotated_recordings(data_home=data_home)
    return Parallel(n_jobs=n_jobs)(delayed(_held_out)(i, recordings, annotations, ids)
                                   for i in range(len(ids)))


def run_segmentation(out, data_home=None, *, code=None, n_jobs=1):
    """Score :func:`hbclf.heartbeat.detect` on the 21 annotated set A recordings.

    Two readings: leave-one-recording-out (for each recording, a
    :class:`~hbclf.heartbeat.Segmenter` trained on the other 20, in
    ``n_jobs`` processes; cached under ``out/.cache`` on ``code``, the digest
    of hbclf's code, and this module's source, when ``code`` is given), the
    honest one; and the shipped segmenter, trained on all 21 (so in-sample).
    Plots of the best and the worst recording (leave-one-recording-out F1)
    go to ``segmentation/plots/``.
    """
    from joblib import Memory

    from hbclf.display import plot_heartbeats
    from hbclf.heartbeat import annotated_recordings, default_segmenter

    recordings, annotations, ids = annotated_recordings(data_home=data_home)
    loro = _leave_one_out if code is None else Memory(out / ".cache", verbose=0).cache(
        _leave_one_out, ignore=["n_jobs"])
    held = loro(data_home, None if code is None else _cache_key(code), n_jobs)
    timing = load_pascal_timing(data_home=data_home)
    tdir = out / "segmentation"
    (tdir / "plots").mkdir(parents=True, exist_ok=True)
    evaluations = ("leave-one-recording-out", "shipped model (in-sample)")
    rows, counts, loro_beats = [], [], []  # counts[i][evaluation][(sound, tol)] -> tp/fp/fn/err_ms
    variants = []
    for i, ((y, sr), truth, rid) in enumerate(zip(recordings, annotations, ids)):
        g = timing[timing["id"] == rid]
        found = {evaluations[0]: held[i][0],
                 evaluations[1]: detect(y, sr, segmenter=default_segmenter())}
        counts.append({e: _counts(b, truth) for e, b in found.items()})
        beats = found[evaluations[0]]
        loro_beats.append(beats)
        variants += held[i][1]
        hr_true = 60.0 / np.median(np.diff(truth["s1"]))
        row = {"id": rid, "file": Path(g["filename"].iloc[0]).name, "annotated_sounds": len(g),
               "heart_rate_annotated": hr_true, "heart_rate": beats.heart_rate,
               "heart_rate_error": (abs(beats.heart_rate - hr_true)
                                    if beats.heart_rate is not None else np.nan),
               "quality": beats.quality, "confidence": beats.confidence,
               "reason": beats.reason or ""}
        for (sound, tol), c in counts[-1][evaluations[0]].items():
            row[f"{sound}_{int(tol * 1000)}ms_f1"] = _pooled(c)["f1"]
        row.update(annotation_cues(y, sr, truth))
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
    variants = pd.DataFrame(variants)
    atomic_write(tdir / "variants.csv", variants.to_csv(index=False, float_format="%.4f"))
    table = "\n".join(lines) + "\n\n" + _variant_table(variants, reversed_ids(per))
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
    that locks on noise does). Cached on the files, the code digest and this module's source.
    """
    from joblib import Memory

    from hbclf.datasets import load_physionet2016

    data = load_physionet2016(physionet_home)
    rows = Memory(out / ".cache", verbose=0).cache(_rhythms, ignore=["n_jobs"])(
        list(data.filenames), _cache_key(code), n_jobs)
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

