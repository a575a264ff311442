"""Probe, not part of the main job: does the segmenter refuse a voice, and only a voice?

:func:`hbclf.heartbeat.detect` refuses a recording as "a voice or music" when over 30 % of its
louder 80 ms frames repeat at a speaking voice's pitch period and under 60 % of its 25-450 Hz
power lies below 150 Hz. This counts, with the reason ``detect`` gives:

- speech: the three LibriSpeech clips in ``tests/data/speech`` (6 s each; CC BY 4.0), and any
  further files given with ``--speech``, each whole and cut into 2 s and 5 s windows (hop half
  a window), read at their own rate;
- heart recordings: every PhysioNet 2016 recording (at its own 2 kHz) and every labelled PASCAL
  recording (the embedded 4 kHz copy, or ``--data-home``), refused as a voice, by database and
  class, and the PASCAL ones by name.

Run from the repository root (about a minute on 2 cores)::

    python -m benchmarks.probes.voice_refusal

docs/findings.md quotes it. The two thresholds were set looking at these same recordings (the
three readers, and every heart recording here): not an independent test.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SPEECH = Path(__file__).resolve().parents[2] / "tests" / "data" / "speech"
WINDOWS = (2.0, 5.0)  # s


def _reason(y, sr):
    from hbclf.heartbeat import detect

    return detect(y, sr).reason or ""


def speech_rows(path):
    """The reason ``detect`` gives for a speech file, whole and in windows."""
    from hbclf.io import load_audio

    y, sr = load_audio(path, sr=None, min_duration=0)
    rows = [{"file": Path(path).name, "window": "whole", "reason": _reason(y, sr)}]
    for w in WINDOWS:
        n = int(w * sr)
        for start in range(0, len(y) - n + 1, n // 2):
            rows.append({"file": Path(path).name, "window": f"{w:g} s",
                         "reason": _reason(y[start:start + n], sr)})
    return rows


def heart_row(path, source, label):
    from hbclf.io import load_audio

    y, sr = load_audio(path, sr=None)
    return {"file": Path(path).name, "source": source, "label": label, "reason": _reason(y, sr)}


def main(argv=None):
    from joblib import Parallel, delayed

    from hbclf.datasets import LayoutError, find_physionet2016, load_pascal, load_physionet2016

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speech", nargs="*", default=[], help="more speech files")
    ap.add_argument("--data-home", help="a full PASCAL copy (default: the embedded one)")
    ap.add_argument("--physionet-home", help="PhysioNet 2016 (default: the library's lookup)")
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)

    files = sorted(SPEECH.glob("*.flac")) + [Path(f) for f in args.speech]
    speech = pd.DataFrame([r for f in files for r in speech_rows(f)])
    speech["voice"] = speech["reason"].str.startswith("a voice")
    speech["refused"] = speech["reason"] != ""
    print(f"Speech ({len(files)} files): refused as a voice / refused at all")
    for window, g in speech.groupby("window", sort=False):
        print(f"  {window}: {g['voice'].sum()} / {g['refused'].sum()} of {len(g)}")

    pascal = load_pascal(data_home=args.data_home)
    jobs = [(f, f"set {s}", lab) for f, s, lab in zip(pascal["filenames"], pascal["set"],
                                                       pascal["label"])]
    try:
        physionet = load_physionet2016(find_physionet2016(args.physionet_home))
        jobs += list(zip(physionet["filenames"], physionet["database"], physionet["label"]))
    except LayoutError as err:
        print(f"PhysioNet 2016 skipped: {err}")
    hearts = pd.DataFrame(Parallel(n_jobs=args.n_jobs, batch_size=16)(
        delayed(heart_row)(*job) for job in jobs))
    hearts["voice"] = hearts["reason"].str.startswith("a voice")
    table = hearts.groupby(["source", "label"]).agg(recordings=("voice", "size"),
                                                    refused_as_voice=("voice", "sum"))
    print("\nHeart recordings refused as a voice, by source and class:")
    print(table.to_string())
    named = hearts[hearts["voice"]]
    print("\nRefused as a voice:")
    for _, r in named.iterrows():
        print(f"  {r['source']} {r['label']} {r['file']}: {r['reason']}")
    print(f"\n{int(hearts['voice'].sum())} of {len(hearts)} heart recordings; "
          f"{np.mean(speech['voice']):.1%} of {len(speech)} speech clips and windows.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
