"""Rebuild the compact embedded PASCAL copy (``data/``) from a full public copy.

Usage::

    python -m hbclf.datasets.bundle SRC DST [--examples N]
    python -m hbclf.datasets.bundle --check DST

``SRC`` is a full copy in either public layout (its ``SHA256SUMS``, when
present, is verified first). ``DST`` receives every labelled recording of sets
A and B resampled to 4 kHz as 16-bit FLAC, ``N`` unlabelled recordings per set
(original WAV bytes) as prediction examples, ``pascal/manifest.csv``,
``pascal/timing.csv``, a README and a ``SHA256SUMS`` over all of it.
``--check`` verifies a folder against its ``SHA256SUMS``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import load_audio
from . import _layout
from ._pascal import CITATION, EMBEDDED_SR, load_pascal_timing

SUMS = "SHA256SUMS"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sums(folder):
    """Check every file listed in ``folder/SHA256SUMS``; raise on the first mismatch.

    Returns the number of files checked.
    """
    folder = Path(folder)
    sums = folder / SUMS
    if not sums.is_file():
        raise FileNotFoundError(f"{sums}: checksum file not found")
    n = 0
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        digest, name = line.split(maxsplit=1)
        path = folder / name.lstrip("*")
        if not path.is_file():
            raise ValueError(f"{path}: listed in {sums} but missing")
        if sha256(path) != digest:
            raise ValueError(f"{path}: checksum differs from {sums}")
        n += 1
    return n


def write_sums(folder):
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SUMS)
    lines = [f"{sha256(p)}  ./{p.relative_to(folder).as_posix()}" for p in files]
    (folder / SUMS).write_text("\n".join(lines) + "\n")
    return len(lines)


def _to_pcm16(y):
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)


def _manifest_row(rec, rel, info):
    """One manifest row: where the embedded file is and what the original was."""
    return {
        "file": rel.as_posix(),
        "set": rec.set,
        "label": rec.label,
        "sublabel": rec.sublabel,
        "group": rec.group,
        "id": rec.id,
        "duration": round(info.frames / info.samplerate, 4),
        "orig_sr": info.samplerate,
        "source": rec.source,
    }


def build(src, dst, *, n_examples=3, log=print):
    """Write the embedded copy of the full copy ``src`` into ``dst``."""
    import soundfile as sf

    root = _layout.find_root(src)
    if (root / SUMS).is_file():
        log(f"verified {verify_sums(root)} source files against {root / SUMS}")
    recs = _layout.read_recordings(root)
    dst = Path(dst)
    if dst.exists():
        shutil.rmtree(dst / "pascal", ignore_errors=True)
        shutil.rmtree(dst / "examples", ignore_errors=True)
    rows = []
    for r in recs.itertuples(index=False):
        if r.label == "":
            continue
        info = sf.info(r.path)
        y, _ = load_audio(r.path, sr=EMBEDDED_SR, min_duration=0)
        rel = Path("pascal") / f"set_{r.set}" / (Path(r.source).stem + ".flac")
        (dst / rel.parent).mkdir(parents=True, exist_ok=True)
        sf.write(dst / rel, _to_pcm16(y), EMBEDDED_SR, subtype="PCM_16", format="FLAC")
        rows.append(_manifest_row(r, rel, info))
    (dst / "examples").mkdir(parents=True, exist_ok=True)
    for set_ in "ab":
        unl = recs[(recs["set"] == set_) & (recs["label"] == "")].head(n_examples)
        for r in unl.itertuples(index=False):
            info = sf.info(r.path)
            rel = Path("examples") / Path(r.source).name
            shutil.copyfile(r.path, dst / rel)
            rows.append(_manifest_row(r, rel, info))
    manifest = pd.DataFrame(rows)
    manifest.to_csv(dst / "pascal" / "manifest.csv", index=False, lineterminator="\n")

    timing = load_pascal_timing(data_home=root)
    by_id = {
        (row["id"]): row["file"]
        for row in rows
        if row["set"] == "a" and row["label"] == "normal"
    }
    timing.insert(0, "file", [by_id[i] for i in timing["id"]])
    timing.drop(columns="filename").to_csv(
        dst / "pascal" / "timing.csv", index=False, lineterminator="\n", float_format="%.6f"
    )
    (dst / "README.md").write_text(_readme(manifest, timing))
    n = write_sums(dst)
    log(f"wrote {len(manifest)} recordings, {len(timing)} timing rows, {n} checksums to {dst}")
    return manifest


def _readme(manifest, timing):
    labelled = manifest[manifest["label"] != ""]
    counts = labelled.groupby(["set", "label"]).size()
    table = "\n".join(f"| {s.upper()} | {lab} | {n} |" for (s, lab), n in counts.items())
    return f"""# Embedded PASCAL CHSC2011 copy

Generated by `python -m hbclf.datasets.bundle SRC data` from a full public copy; do not edit by hand.
`hbclf.datasets.load_pascal()` reads it by default.

- `pascal/set_a/`, `pascal/set_b/`: every labelled recording ({len(labelled)}), resampled to
  {EMBEDDED_SR} Hz with soxr (HQ) and stored as 16-bit FLAC. Set B was recorded at 4 kHz, so its
  samples are the original ones; set A (44.1 kHz) keeps everything below 2 kHz.
- `examples/`: {len(manifest) - len(labelled)} unlabelled test recordings, original WAV bytes, for trying `hbclf predict`.
- `pascal/manifest.csv`: one row per recording: file, set, label, sublabel, group (patient for
  set B, recording for set A), id, duration (s) and rate of the original, source file name.
- `pascal/timing.csv`: {len(timing)} S1/S2 annotations of {timing['id'].nunique()} normal set A
  recordings; `sample` at 44.1 kHz as published, `time` in seconds.
- `SHA256SUMS`: checksum of every file here (`python -m hbclf.datasets.bundle --check data`).

| set | label | recordings |
|---|---|---|
{table}

Cite: {CITATION}
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m hbclf.datasets.bundle", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("src", nargs="?", help="full PASCAL copy (either public layout)")
    parser.add_argument("dst", help="folder to write (e.g. data)")
    parser.add_argument("--examples", type=int, default=3, help="unlabelled examples per set")
    parser.add_argument("--check", action="store_true", help="only verify DST's SHA256SUMS")
    args = parser.parse_args(argv)
    try:
        if args.check:
            print(f"{verify_sums(args.dst)} files match {Path(args.dst) / SUMS}")
            return 0
        if args.src is None:
            parser.error("SRC is required unless --check is given")
        build(args.src, args.dst, n_examples=args.examples)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
