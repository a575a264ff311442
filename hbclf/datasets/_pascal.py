"""Loaders for the PASCAL CHSC2011 heart-sound data (sets A and B)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from . import _layout
from ._home import _home

#: Rate of the embedded copy in ``data/``.
EMBEDDED_SR = 4000
#: Rate of the set A recordings (and of the timing annotations' sample indices).
SET_A_SR = 44100

CITATION = (
    "Bentley, P., Nordehn, G., Coimbra, M., Mannor, S. (2011). The PASCAL Classifying Heart "
    "Sounds Challenge 2011 (CHSC2011) Results. "
    "http://www.peterjbentley.com/heartchallenge/index.html"
)

_COLUMNS = ["filename", "set", "label", "sublabel", "group", "id", "duration", "orig_sr", "source"]


def embedded_data_home():
    """Folder of the embedded (compact 4 kHz) PASCAL copy.

    The data home (``$HBCLF_DATA``, see :func:`get_data_home`) when it holds
    one (``pascal/manifest.csv``, as the repository's ``data/`` does); else
    the repository's ``data/`` (a clone or an editable install); else the copy
    an installed wheel carries (``hbclf/datasets/_embedded``).
    """
    home = _home()
    if (home / "pascal" / "manifest.csv").is_file():
        return home
    clone = Path(__file__).resolve().parents[2] / "data"
    if (clone / "pascal" / "manifest.csv").is_file():
        return clone
    return Path(__file__).resolve().parent / "_embedded"


def _embedded_manifest():
    home = embedded_data_home()
    manifest = home / "pascal" / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"{manifest}: the embedded PASCAL copy is missing; pass data_home= a full PASCAL "
            "copy, or put the repository's data/ contents in the data home ($HBCLF_DATA)"
        )
    frame = pd.read_csv(manifest, dtype={"id": str, "group": str}, keep_default_na=False)
    frame["filename"] = [str(home / f) for f in frame.pop("file")]
    return frame


def _full_copy(data_home):
    import soundfile as sf

    root = _layout.find_root(data_home)
    frame = _layout.read_recordings(root).rename(columns={"path": "filename"})
    infos = [sf.info(f) for f in frame["filename"]]
    frame["duration"] = [round(i.frames / i.samplerate, 4) for i in infos]
    frame["orig_sr"] = [i.samplerate for i in infos]
    return frame


def _subset(frame, subset, labelled_only):
    subset = str(subset).lower()
    if subset not in ("all", "a", "b"):
        raise ValueError(f"subset must be 'all', 'a' or 'b', got {subset!r}")
    keep = frame["set"].eq(subset) if subset != "all" else np.ones(len(frame), bool)
    if labelled_only:
        keep &= frame["label"].ne("")
    return frame.loc[keep, _COLUMNS].reset_index(drop=True)


def sittings(ids, *, gap=10):
    """Set A sittings: recording timestamps chained while at most ``gap`` minutes apart.

    Set A names are timestamps (``yyyymmddHHMM``) and carry no patient. Recordings
    made minutes apart were made in one sitting (23 of the 34 murmurs fall within
    37 minutes of 2011-08-22), and share the phone, the room and often the
    person; a model that sees one of them in training recognises the others.

    Parameters
    ----------
    ids : sequence of str
        Timestamps ``yyyymmddHHMM``.
    gap : float, default=10
        Largest gap, in minutes, between two consecutive recordings of one
        sitting. ``None`` puts every distinct timestamp in a group of its own.

    Returns
    -------
    ndarray of str
        ``"a" + first timestamp of the sitting`` for each id, in input order.

    Examples
    --------
    >>> list(sittings(["201108222221", "201108222230", "201108222250", "201108231000"]))
    ['a201108222221', 'a201108222221', 'a201108222250', 'a201108231000']
    """
    ids = np.asarray(list(ids), dtype=object)
    if gap is None:
        return np.array([f"a{i}" for i in ids], dtype=object)
    times = pd.to_datetime(pd.Series(ids, dtype=str), format="%Y%m%d%H%M", errors="raise")
    order = np.argsort(times.to_numpy(), kind="stable")
    minutes = times.to_numpy()[order].astype("datetime64[m]").astype(np.int64)
    starts = np.r_[True, np.diff(minutes) > gap]
    first = ids[order][np.flatnonzero(starts)]
    out = np.empty(len(ids), dtype=object)
    out[order] = [f"a{first[k]}" for k in np.cumsum(starts) - 1]
    return out


def _descr(frame, source, sr):
    counts = frame.groupby(["set", "label"]).size()
    lines = [f"  set {s.upper()} {lab or '(unlabelled)'}: {n}" for (s, lab), n in counts.items()]
    return "\n".join(
        [
            "PASCAL Classifying Heart Sounds Challenge 2011 (CHSC2011), Challenge 2 data",
            "",
            "Set A: iStethoscope Pro iPhone recordings from the general public (44.1 kHz);",
            "no patient ids: ``groups`` are sittings (timestamps chained at most",
            "``sitting_gap`` minutes apart), so one sitting never sits on both sides of a split.",
            "Set B: DigiScope recordings from a clinical trial (4 kHz); one patient has",
            "several recordings: use ``groups`` (the patient) for leak-free evaluation.",
            f"Source: {source}. Intended reading rate: {sr} Hz.",
            f"Recordings: {len(frame)}",
            *lines,
            "",
            f"Cite: {CITATION}",
        ]
    )


def load_pascal(
    subset="all",
    *,
    data_home=None,
    labelled_only=True,
    sr=EMBEDDED_SR,
    return_X_y=False,
    as_frame=False,
    sitting_gap=10,
):
    """Load the PASCAL CHSC2011 heart-sound recordings (sets A and B).

    Parameters
    ----------
    subset : {"all", "a", "b"}, default="all"
        Which set.
    data_home : str or path-like, optional
        A full public copy, in the Kaggle layout (``set_a.csv``, ``set_a/``,
        ...) or the challenge's folders (``Atraining_normal/``, ...); the
        folder itself or its parent holding ``pascal/``. By default the
        compact copy embedded in the repository's ``data/`` is used: every
        labelled recording resampled to 4 kHz FLAC, and a few unlabelled
        examples.
    labelled_only : bool, default=True
        Drop the unlabelled test recordings (their ``target`` is -1).
    sr : int, default=4000
        Rate at which the recordings are meant to be read, stored as
        ``bunch.sr`` for pipelines (``AudioReader(sr=bunch.sr)``). The
        embedded copy holds nothing above 2 kHz whatever ``sr`` is.
    return_X_y : bool, default=False
        Return ``(filenames, target)`` instead of the Bunch.
    as_frame : bool, default=False
        With ``return_X_y``, return a pandas Series of file names and a
        Series of string labels instead of arrays.
    sitting_gap : float or None, default=10
        Set A groups: recordings whose timestamps chain at most this many
        minutes apart form one sitting (see :func:`sittings`); computed over
        the set A rows returned. ``None`` gives each set A recording its own
        group (optimistic: sittings then straddle folds).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``filenames`` (absolute paths, the input of an ``AudioReader``
        pipeline), ``target`` (int codes into ``target_names``, -1 for
        unlabelled), ``target_names``, ``label`` (strings), ``sublabel``
        (``noisynormal``/``noisymurmur`` or ""), ``groups`` (patient for set
        B, sitting for set A), ``set``, ``frame`` (one row per recording),
        ``sr`` and ``DESCR`` (with the citation).
    (filenames, target) : tuple
        With ``return_X_y=True``.

    Examples
    --------
    >>> from hbclf.datasets import load_pascal
    >>> b = load_pascal("b")
    >>> list(b.target_names), len(b.filenames)
    (['normal', 'murmur', 'extrastole'], 461)
    """
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ValueError(f"sr must be a positive integer, got {sr!r}")
    if data_home is None:
        frame, source = _embedded_manifest(), f"embedded copy in {embedded_data_home()}"
    else:
        frame, source = _full_copy(data_home), f"full copy in {Path(data_home)}"
    frame = _subset(frame, subset, labelled_only)
    in_a = frame["set"].eq("a").to_numpy()
    if in_a.any():
        frame.loc[in_a, "group"] = sittings(frame.loc[in_a, "id"], gap=sitting_gap)
    target_names = _layout.label_order(frame["label"])
    code = {name: i for i, name in enumerate(target_names)}
    target = np.array([code.get(lab, -1) for lab in frame["label"]], dtype=np.int64)
    filenames = frame["filename"].to_numpy(dtype=object)
    if return_X_y:
        if as_frame:
            return frame["filename"].rename("filename"), frame["label"].rename("label")
        return filenames, target
    return Bunch(
        filenames=filenames,
        target=target,
        target_names=target_names,
        label=frame["label"].to_numpy(dtype=object),
        sublabel=frame["sublabel"].to_numpy(dtype=object),
        groups=frame["group"].to_numpy(dtype=object),
        set=frame["set"].to_numpy(dtype=object),
        frame=frame,
        sr=int(sr),
        DESCR=_descr(frame, source, sr),
    )


def load_pascal_timing(*, data_home=None):
    """S1/S2 annotations of 21 normal set A recordings (390 heart sounds).

    Parameters
    ----------
    data_home : str or path-like, optional
        A full public copy (see :func:`load_pascal`); default the embedded one.

    Returns
    -------
    timing : pandas.DataFrame
        One row per annotated sound: ``filename`` (the recording, usable with
        :func:`hbclf.io.load_audio`), ``id``, ``cycle`` (heartbeat number from
        1, cycles may be skipped), ``sound`` ("S1" or "S2"), ``sample`` (index
        at 44.1 kHz, as published) and ``time`` (seconds).

    Examples
    --------
    >>> t = load_pascal_timing()
    >>> len(t), t["filename"].nunique()
    (390, 21)
    """
    if data_home is None:
        home = embedded_data_home()
        path = home / "pascal" / "timing.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the embedded timing annotations are missing")
        timing = pd.read_csv(path, dtype={"id": str})
        timing["filename"] = [str(home / f) for f in timing.pop("file")]
    else:
        root = _layout.find_root(data_home)
        raw = _layout.read_timing(root)
        recs = _layout.read_recordings(root)
        normal_a = recs[(recs["set"] == "a") & (recs["label"] == "normal")].set_index("id")
        unknown = sorted(set(raw["id"]) - set(normal_a.index))
        if unknown:
            raise _layout.LayoutError(f"{root}: timing names recordings not found: {unknown[:3]}")
        timing = pd.DataFrame(
            {
                "filename": normal_a.loc[raw["id"], "path"].to_numpy(),
                "id": raw["id"],
                "cycle": raw["cycle"].astype(int),
                "sound": raw["sound"].str.upper(),
                "sample": raw["location"].astype(int),
                "time": raw["location"].astype(int) / SET_A_SR,
            }
        )
    cols = ["filename", "id", "cycle", "sound", "sample", "time"]
    return timing[cols].sort_values(["id", "sample"], kind="stable").reset_index(drop=True)
