"""Reading the public copies of the PASCAL CHSC2011 data, in either layout.

Two layouts are in use:

* the "heartbeat-sounds" (Kaggle) copy: ``set_a.csv``, ``set_b.csv``,
  ``set_a_timing.csv``, ``set_a/*.wav``, ``set_b/*.wav``, whose CSV file
  names do not match the files on disk (see ``_key_from_name``);
* the challenge's own folders ``Atraining_normal/`` ... ``Bunlabelledtest/``
  (noisy set B recordings possibly in ``Btraining_noisynormal/`` style
  sub-folders) with ``Atraining_normal_seg.csv``-style timing files.

Both are turned into one table, one row per recording, keyed by
``(set, label, sublabel, recording id)``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

#: Class names in the order used for ``target_names`` (clinical order).
LABELS = ("normal", "murmur", "extrahls", "extrastole", "artifact")
NOISY = ("noisynormal", "noisymurmur")
_LABEL_ALT = "|".join(LABELS)

# Recording ids: set A names are timestamps, set B names are
# ``<patient>_<timestamp>_<position/take>``.
_ID_RE = {
    "a": re.compile(r"(\d+)\.wav$", re.IGNORECASE),
    "b": re.compile(r"(\d+_\d{6,}_[A-Za-z0-9_]+)\.wav$", re.IGNORECASE),
}
_KAGGLE_DISK_RE = re.compile(
    rf"^(?:(?P<label>{_LABEL_ALT})(?:_(?P<sub>noisy\w+?))?_|(?P<unl>[AB]unlabelledtest)_)_?",
    re.IGNORECASE,
)
_ORIGINAL_DIR_RE = re.compile(
    rf"^(?P<set>[AB])(?:training_(?P<label>{_LABEL_ALT})|unlabelledtest)$", re.IGNORECASE
)


class LayoutError(ValueError):
    """A data folder that is not a PASCAL copy, or one with files missing."""


def recording_id(name, set_):
    """The recording id in any of the file names the public copies use.

    Examples
    --------
    >>> recording_id("Btraining_murmur_Btraining_noisymurmur_162_1307101835989_B_1.wav", "b")
    '162_1307101835989_B_1'
    >>> recording_id("set_a/__201012172010.wav", "a")
    '201012172010'
    """
    m = _ID_RE[set_].search(Path(name).name)
    return m.group(1) if m else None


def recording_origin(path):
    """Where a recording came from, read off its path: a PASCAL set or a PhysioNet database.

    ``"set A"`` / ``"set B"`` for PASCAL files in either layout (``set_a/``,
    ``Atraining_normal/``, ``Aunlabelledtest/``...), the database folder
    (``"training-a"``...) for PhysioNet, otherwise the parent folder's name.

    >>> recording_origin("x/pascal/set_b/normal__103_1305031931979_B.flac")
    'set B'
    >>> recording_origin("/data/Atraining_murmur/201108222221.wav")
    'set A'
    >>> recording_origin("physionet2016/training-e/e00001.wav")
    'training-e'
    """
    parent = Path(path).parent.name
    m = re.match(r"^(?:set_([ab])|([AB])(?:training_|unlabelledtest))", parent, re.IGNORECASE)
    if m:
        return f"set {(m.group(1) or m.group(2)).upper()}"
    return parent


def group_of(set_, rid):
    """Leak-free evaluation group: the patient in set B, the recording in set A."""
    return f"b{rid.split('_')[0]}" if set_ == "b" else f"a{rid}"


def find_root(data_home):
    """The folder holding a PASCAL copy: ``data_home`` or its ``pascal/``."""
    home = Path(data_home).expanduser()
    if not home.is_dir():
        raise LayoutError(f"{home}: data folder not found")
    for cand in (home, home / "pascal"):
        if detect_layout(cand) is not None:
            return cand
    raise LayoutError(
        f"{home}: not a PASCAL CHSC2011 copy (expected set_a.csv/set_b.csv with set_a/, set_b/, "
        "or the challenge folders Atraining_normal/ ... Bunlabelledtest/)"
    )


def detect_layout(root):
    """``"kaggle"``, ``"original"`` or None for a folder."""
    root = Path(root)
    if not root.is_dir():
        return None
    if any((root / f"set_{s}.csv").is_file() and (root / f"set_{s}").is_dir() for s in "ab"):
        return "kaggle"
    if any(_ORIGINAL_DIR_RE.match(p.name) for p in root.iterdir() if p.is_dir()):
        return "original"
    return None


def _row(set_, label, sublabel, rid, path, source):
    return {
        "set": set_,
        "label": label,
        "sublabel": sublabel,
        "id": rid,
        "group": group_of(set_, rid),
        "path": str(path),
        "source": source,
    }


def _read_kaggle(root):
    rows = []
    for set_ in "ab":
        csv, folder = root / f"set_{set_}.csv", root / f"set_{set_}"
        if not csv.is_file():
            continue
        if not folder.is_dir():
            raise LayoutError(f"{folder}: folder named by {csv.name} not found")
        on_disk = {}
        for f in folder.iterdir():
            m = _KAGGLE_DISK_RE.match(f.name)
            rid = recording_id(f.name, set_)
            if not m or rid is None or not f.name.lower().endswith(".wav"):
                continue
            label = (m.group("label") or "").lower()
            on_disk[(label, (m.group("sub") or "").lower(), rid)] = f
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
        missing_cols = {"fname", "label", "sublabel"} - set(table.columns)
        if missing_cols:
            raise LayoutError(f"{csv}: columns {sorted(missing_cols)} missing")
        for i, r in enumerate(table.itertuples(index=False), start=2):
            rid = recording_id(r.fname, set_)
            if rid is None:
                raise LayoutError(f"{csv}, line {i}: cannot read a recording id in {r.fname!r}")
            label, sub = r.label.strip().lower(), r.sublabel.strip().lower()
            path = on_disk.get((label, sub, rid))
            if path is None:
                raise LayoutError(
                    f"{csv}, line {i}: the file for {r.fname!r} is missing from {folder}"
                )
            rows.append(_row(set_, label, sub, rid, path, f"set_{set_}/{path.name}"))
    return rows


def _read_original(root):
    rows = []
    for top in sorted(p for p in root.iterdir() if p.is_dir()):
        m = _ORIGINAL_DIR_RE.match(top.name)
        if not m:
            continue
        set_, label = m.group("set").lower(), (m.group("label") or "").lower()
        for f in sorted(top.rglob("*")):
            if not f.is_file() or not f.name.lower().endswith(".wav"):
                continue
            rid = recording_id(f.name, set_)
            if rid is None:
                continue
            rel = f.relative_to(root).as_posix()
            sub = next((n for n in NOISY if n in rel.lower()), "")
            rows.append(_row(set_, label, sub, rid, f, rel))
    return rows


def read_recordings(root):
    """One row per recording of a PASCAL copy (labelled and unlabelled)."""
    root = Path(root)
    layout = detect_layout(root)
    rows = _read_kaggle(root) if layout == "kaggle" else _read_original(root)
    if not rows:
        raise LayoutError(f"{root}: no recordings found")
    frame = pd.DataFrame(rows)
    return frame.sort_values(["set", "source"], kind="stable").reset_index(drop=True)


def read_timing(root):
    """The set A S1/S2 annotations of a PASCAL copy, with ``location`` in samples."""
    root = Path(root)
    files = [root / "set_a_timing.csv"] if detect_layout(root) == "kaggle" else sorted(
        root.glob("Atraining_*_seg.csv")
    )
    files = [f for f in files if f.is_file()]
    if not files:
        raise LayoutError(f"{root}: no set A timing file (set_a_timing.csv or Atraining_*_seg.csv)")
    parts = []
    for f in files:
        t = pd.read_csv(f)
        missing_cols = {"fname", "cycle", "sound", "location"} - set(t.columns)
        if missing_cols:
            raise LayoutError(f"{f}: columns {sorted(missing_cols)} missing")
        t = t.assign(id=[recording_id(n, "a") for n in t["fname"]])
        if t["id"].isna().any():
            bad = t.loc[t["id"].isna(), "fname"].iloc[0]
            raise LayoutError(f"{f}: cannot read a recording id in {bad!r}")
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def label_order(labels):
    """Present labels in the clinical order of :data:`LABELS`."""
    present = set(labels)
    return np.array([lab for lab in LABELS if lab in present], dtype=object)
