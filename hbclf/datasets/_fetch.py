"""Downloading the PhysioNet/CinC Challenge 2016 training set into the data home."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ._home import PHYSIONET_DIR, get_data_home
from ._layout import LayoutError

#: The official training archive (all six databases, 2 kHz WAV, about 190 MB).
PHYSIONET_URL = "https://physionet.org/files/challenge-2016/1.0.0/training.zip"
#: Recordings and abnormal recordings per database, as published (Liu et al. 2016, Table 2;
#: Clifford et al. 2016): what an unpacked archive is checked against.
OFFICIAL_COUNTS = {
    "training-a": (409, 292), "training-b": (490, 104), "training-c": (31, 24),
    "training-d": (55, 28), "training-e": (2141, 183), "training-f": (114, 34),
}
_ARCHIVE = "physionet2016-training.zip"
_DONE = ".verified"
_MEMBER_RE = re.compile(r"(?:^|/)(training-[a-f])/([^/]+)$")


class DownloadError(OSError):
    """The archive could not be downloaded (offline, moved, refused)."""


def _copy_with_progress(src, dst, total, progress, desc):
    from tqdm.auto import tqdm

    with tqdm(total=total or None, unit="B", unit_scale=True, desc=desc,
              disable=not progress) as bar:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            dst.write(chunk)
            bar.update(len(chunk))


def _downloader(progress):
    """pooch's HTTP(S)/FTP downloaders, and ``file://`` (a local mirror, the tests)."""
    import pooch

    def download(url, output_file, pooch_obj):
        if not url.startswith("file:"):
            return pooch.downloaders.choose_downloader(url, progressbar=progress)(
                url, output_file, pooch_obj)
        from urllib.request import urlopen

        with urlopen(url) as src:  # noqa: S310 - file:// only
            total = int(src.headers.get("Content-Length") or 0)
            if hasattr(output_file, "write"):
                _copy_with_progress(src, output_file, total, progress, "PhysioNet 2016")
            else:
                with open(output_file, "wb") as dst:
                    _copy_with_progress(src, dst, total, progress, "PhysioNet 2016")
    return download


def _unpack(archive, target):
    """Every ``training-x/`` folder of the archive, wherever it sits in it, into ``target``."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise LayoutError(f"{archive}: not a zip archive (a broken download? delete it and "
                          "fetch again)") from None
    with zf, tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        found = set()
        for info in zf.infolist():
            m = _MEMBER_RE.search(PurePosixPath(info.filename).as_posix())
            if info.is_dir() or m is None or m.group(2) in (".", ".."):
                continue  # only training-x/<file>: no path from the archive leaves tmp
            db, name = m.groups()
            (Path(tmp) / db).mkdir(exist_ok=True)
            with zf.open(info) as src, open(Path(tmp) / db / name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            found.add(db)
        if not found:
            raise LayoutError(f"{archive}: no training-a ... training-f folder in the archive")
        target.mkdir(parents=True, exist_ok=True)
        for db in sorted(found):
            shutil.rmtree(target / db, ignore_errors=True)
            (Path(tmp) / db).rename(target / db)
    return sorted(found)


def _verify(target, databases):
    """Each database as the loader reads it, its recordings and abnormal ones counted against
    the published numbers."""
    from ._physionet import _read_database

    for db in databases:
        table = _read_database(target / db)
        n, abnormal = len(table), int((table["label"] == "abnormal").sum())
        if (n, abnormal) != OFFICIAL_COUNTS[db]:
            raise LayoutError(
                f"{target / db}: {n} recordings ({abnormal} abnormal); the published set has "
                f"{OFFICIAL_COUNTS[db][0]} ({OFFICIAL_COUNTS[db][1]} abnormal): a damaged or "
                "different archive")


def _unpacked_by_hand(target):
    """Whether all six databases are already there, as published."""
    if not all((target / db).is_dir() for db in OFFICIAL_COUNTS):
        return False
    try:
        _verify(target, OFFICIAL_COUNTS)
    except (LayoutError, OSError, ValueError):
        return False
    return True


def fetch_physionet2016(data_home=None, *, download_if_missing=True, url=PHYSIONET_URL,
                        sha256=None, progress=True, **load_kw):
    """Download the PhysioNet/CinC 2016 training set into the data home and load it.

    The official archive (``training.zip``, six databases, about 190 MB) is
    downloaded once with pooch into ``<data home>/physionet2016`` and
    unpacked into the layout :func:`load_physionet2016` reads; later calls
    (and :func:`load_physionet2016`, ``tasks.get("heart").load()``, the
    harness and ``hbclf train``, which all look there) read it from disk.

    Verification: each database's number of recordings and of abnormal
    ones is checked against the published counts (409/292, 490/104, 31/24,
    55/28, 2141/183, 114/34), and every recording in its ``REFERENCE.csv``
    must be on disk. PhysioNet publishes no checksum that this project could
    pin without downloading, so the archive's SHA-256 is checked only when
    ``sha256`` is given (pooch logs the hash of what it downloaded).

    Parameters
    ----------
    data_home : str or path-like, optional
        The data home (default :func:`get_data_home`: ``$HBCLF_DATA`` or
        ``~/hbclf_data``).
    download_if_missing : bool, default=True
        Download when the data is not there; ``False`` raises instead.
    url : str
        Where the archive is (``https://``, ``ftp://`` or ``file://``, e.g. a
        local mirror).
    sha256 : str, optional
        The archive's expected SHA-256.
    progress : bool, default=True
        A progress bar while downloading.
    **load_kw
        Passed to :func:`load_physionet2016` (``databases``, ``block``, ...).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        What :func:`load_physionet2016` returns.

    Raises
    ------
    DownloadError
        The download failed (offline, say): the message says what to download
        and where to unpack it.
    LayoutError
        The data is missing and ``download_if_missing=False``, or the archive
        does not hold the published recordings.

    Examples
    --------
    >>> import tempfile
    >>> fetch_physionet2016(tempfile.mkdtemp(), download_if_missing=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hbclf.datasets._layout.LayoutError: PhysioNet 2016 is not in .../physionet2016; ...
    """
    from ._physionet import load_physionet2016

    home = get_data_home(data_home)
    target = home / PHYSIONET_DIR
    if not (target / _DONE).is_file() and _unpacked_by_hand(target):
        (target / _DONE).write_text("unpacked by hand\n")
    if not (target / _DONE).is_file():
        if not download_if_missing:
            raise LayoutError(f"PhysioNet 2016 is not in {target}; call fetch_physionet2016() "
                              f"to download it, or unzip {url} there")
        import pooch

        try:
            archive = pooch.retrieve(url, known_hash=None if sha256 is None else
                                     f"sha256:{sha256}", fname=_ARCHIVE, path=home / ".downloads",
                                     downloader=_downloader(progress), progressbar=progress)
        except ValueError as exc:
            if "hash" in str(exc).lower():  # pooch's words for a checksum mismatch
                raise LayoutError(f"{url}: {str(exc).splitlines()[0]}") from None
            raise
        except Exception as exc:  # noqa: BLE001 - requests', urllib's and ftplib's errors
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DownloadError(
                f"could not download {url} ({reason}); download it by hand and unzip it into "
                f"{target} (folders training-a ... training-f), then call again") from None
        _verify(target, _unpack(Path(archive), target))
        (target / _DONE).write_text(url + "\n")
    return load_physionet2016(target, **load_kw)
