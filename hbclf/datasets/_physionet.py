"""Loader for the PhysioNet/Computing in Cardiology Challenge 2016 training set."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._home import DATABASES, find_physionet2016
from ._layout import LayoutError

#: The six databases of the training set, in the official folder names.
#: The rate at which the recordings were published.
PHYSIONET_SR = 2000

PHYSIONET_CITATION = (
    "Liu, C., Springer, D., Li, Q., et al. (2016). An open access database for the evaluation "
    "of heart sound algorithms. Physiological Measurement 37(12):2181-2213. Clifford, G. D., "
    "et al. (2016). Classification of normal/abnormal heart sound recordings: the "
    "PhysioNet/Computing in Cardiology Challenge 2016. CinC 43."
)

_SOURCES = {
    "training-a": "MIT heart sounds (adults; valve disease, benign murmurs)",
    "training-b": "Aalborg University (adults; coronary artery disease)",
    "training-c": "Aristotle University of Thessaloniki (adults; valve disease)",
    "training-d": "University of Haute Alsace (adults; valve disease)",
    "training-e": "Dalian University of Technology (healthy volunteers and patients)",
    "training-f": "Shiraz University (adults and children)",
}
_LABEL = {1: "abnormal", -1: "normal"}
_RECORD_RE = re.compile(r"^[a-z](\d+)$")
_AUDIO = (".wav", ".flac")


def _read_database(folder):
    """One row per recording of one database folder, checked against its REFERENCE.csv."""
    ref = folder / "REFERENCE.csv"
    if not ref.is_file():
        raise LayoutError(f"{folder}: REFERENCE.csv is missing")
    try:
        table = pd.read_csv(ref, header=None, names=["record", "code"], dtype={"record": str})
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise LayoutError(f"{ref}: not a record,label table ({exc})") from None
    bad = table[~table["code"].isin(list(_LABEL))]
    if len(bad):
        raise LayoutError(f"{ref}: labels must be 1 (abnormal) or -1 (normal); row "
                          f"{bad.index[0] + 1} reads {bad.iloc[0]['code']!r}")
    dup = table["record"][table["record"].duplicated()]
    if len(dup):
        raise LayoutError(f"{ref}: record {dup.iloc[0]} is listed twice")
    on_disk = {}
    for f in folder.iterdir():
        if f.suffix.lower() in _AUDIO:
            on_disk.setdefault(f.stem, f)
    missing = sorted(set(table["record"]) - set(on_disk))
    if missing:
        raise LayoutError(f"{folder}: {len(missing)} recording(s) listed in REFERENCE.csv are "
                          f"missing (first: {missing[0]})")
    unlisted = sorted(set(on_disk) - set(table["record"]))
    if unlisted:
        raise LayoutError(f"{folder}: {len(unlisted)} recording(s) are not in REFERENCE.csv "
                          f"(first: {on_disk[unlisted[0]].name})")
    return pd.DataFrame({
        "filename": [str(on_disk[r]) for r in table["record"]],
        "record": table["record"].to_numpy(),
        "database": folder.name,
        "label": [_LABEL[int(c)] for c in table["code"]],
    })


def _number(record):
    m = _RECORD_RE.match(record)
    if m is None:
        raise LayoutError(f"record name {record!r} is not a letter and a number (e.g. a0001)")
    return int(m.group(1))


def load_physionet2016(data_home=None, *, databases=None, block=20, sr=4000, on_error="raise",
                       return_X_y=False, as_frame=False):
    """Load the PhysioNet/CinC Challenge 2016 training recordings (normal vs abnormal).

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder holding the database folders ``training-a`` ...
        ``training-f`` (each with its ``REFERENCE.csv``), or its parent
        holding ``physionet2016/``. Recordings may be the official ``.wav``
        files or lossless ``.flac`` copies with the same names. Default: the
        one lookup of :func:`find_physionet2016` (``$HBCLF_PHYSIONET``, the
        data home where :func:`fetch_physionet2016` puts it, ``../shared``
        beside a clone).
    databases : sequence of str, optional
        Which databases to load (``"training-a"`` or just ``"a"``); default
        every database folder present.
    block : int, default=20
        ``groups``: blocks of ``block`` consecutive record numbers within a
        database. No patient ids are published, and one subject's recordings
        carry neighbouring numbers, so a random split over recordings can put
        one subject on both sides; blocks keep neighbours together (a subject
        can still straddle one block boundary). Leave-one-database-out (group
        by ``database``) is the protocol that cannot leak a subject.
    sr : int, default=4000
        Rate at which the recordings are meant to be read (``bunch.sr``, for
        ``AudioReader(sr=...)`` and the feature transformers); the recordings
        are 2 kHz and hold nothing above 1 kHz.
    on_error : {"raise", "skip"}, default="raise"
        A recording whose header cannot be read (corrupt or not audio):
        raise a ``LayoutError`` naming it, or leave it out with a warning that
        names it. A recording missing from disk, or a file missing from
        ``REFERENCE.csv``, always raises.
    return_X_y : bool, default=False
        Return ``(filenames, target)`` instead of the Bunch.
    as_frame : bool, default=False
        With ``return_X_y``, pandas Series instead of arrays.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``filenames``, ``target`` (0 normal, 1 abnormal), ``target_names``
        (``["normal", "abnormal"]``), ``label`` (strings), ``database``
        (the folder name), ``groups`` (record-number blocks), ``frame`` (one
        row per recording, with duration and rate), ``sr`` and ``DESCR``.

    Raises
    ------
    LayoutError
        No copy found, no database folder, a missing ``REFERENCE.csv``,
        recordings and ``REFERENCE.csv`` that disagree (naming the folder and
        a record).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, soundfile as sf
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "training-x"
    >>> load_physionet2016(root.parent)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hbclf.datasets._layout.LayoutError: ...: no PhysioNet 2016 database folder ...
    """
    import soundfile as sf

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    root = find_physionet2016(data_home)
    if databases is None:
        wanted = [db for db in DATABASES if (root / db).is_dir()]
    else:
        wanted = [db if str(db).startswith("training-") else f"training-{db}" for db in databases]
        unknown = [db for db in wanted if db not in DATABASES]
        if unknown:
            raise ValueError(f"unknown database {unknown[0]!r}; choose from {DATABASES}")
        absent = [db for db in wanted if not (root / db).is_dir()]
        if absent:
            raise LayoutError(f"{root}: database folder {absent[0]} not found")
    frame = pd.concat([_read_database(root / db) for db in wanted], ignore_index=True)

    keep, durations, rates = [], [], []
    for f in frame["filename"]:
        try:
            info = sf.info(f)
        except Exception as exc:  # noqa: BLE001 - libsndfile's own words name the problem
            msg = f"{f}: not a readable audio file ({str(exc).splitlines()[-1]})"
            if on_error == "raise":
                raise LayoutError(msg) from None
            warnings.warn(msg + "; left out", stacklevel=2)
            keep.append(False)
            durations.append(np.nan)
            rates.append(0)
            continue
        keep.append(True)
        durations.append(round(info.frames / info.samplerate, 4))
        rates.append(info.samplerate)
    frame["duration"], frame["orig_sr"] = durations, rates
    frame = frame[np.array(keep, bool)].reset_index(drop=True)
    frame["group"] = [f"{db}:{(_number(r) - 1) // block:03d}"
                      for db, r in zip(frame["database"], frame["record"])]

    target_names = np.array(["normal", "abnormal"], dtype=object)
    target = (frame["label"] == "abnormal").to_numpy().astype(np.int64)
    if return_X_y:
        if as_frame:
            return frame["filename"], frame["label"]
        return frame["filename"].to_numpy(dtype=object), target
    counts = frame.groupby(["database", "label"]).size().unstack(fill_value=0)
    lines = [f"  {db}: {int(row.get('abnormal', 0))} abnormal, {int(row.get('normal', 0))} "
             f"normal - {_SOURCES[db]}" for db, row in counts.iterrows()]
    descr = "\n".join([
        "PhysioNet/Computing in Cardiology Challenge 2016, training set (normal vs abnormal)",
        "",
        f"Source: {root}. Published at {PHYSIONET_SR} Hz; intended reading rate: {sr} Hz.",
        f"Recordings: {len(frame)}",
        *lines,
        "",
        f"groups: blocks of {block} consecutive record numbers per database (no patient ids",
        "are published); leave-one-database-out cannot leak a subject. Scorer: MAcc.",
        "",
        f"Cite: {PHYSIONET_CITATION}",
    ])
    return Bunch(
        filenames=frame["filename"].to_numpy(dtype=object),
        target=target,
        target_names=target_names,
        label=frame["label"].to_numpy(dtype=object),
        database=frame["database"].to_numpy(dtype=object),
        groups=frame["group"].to_numpy(dtype=object),
        frame=frame,
        sr=int(sr),
        DESCR=descr,
    )
