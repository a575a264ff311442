"""Where hbclf looks for data it does not ship: one lookup for every loader, task and command."""

from __future__ import annotations

import os
from pathlib import Path

from ._layout import LayoutError

#: Environment variable naming the data home.
DATA_HOME_ENV = "HBCLF_DATA"
#: Environment variable naming a PhysioNet 2016 folder directly.
PHYSIONET_ENV = "HBCLF_PHYSIONET"
#: Folder of the PhysioNet 2016 training set inside the data home.
PHYSIONET_DIR = "physionet2016"
#: The six databases of the PhysioNet/CinC 2016 training set.
DATABASES = ("training-a", "training-b", "training-c", "training-d", "training-e", "training-f")


def _home(data_home=None):
    if data_home is not None:
        return Path(data_home).expanduser()
    return Path(os.environ.get(DATA_HOME_ENV) or Path("~") / "hbclf_data").expanduser()


def get_data_home(data_home=None):
    """The folder where hbclf keeps downloaded data, created if missing.

    In scikit-learn's manner: ``data_home`` when given, else the
    ``HBCLF_DATA`` environment variable, else ``~/hbclf_data``.

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder to use instead of the default.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> home = get_data_home(tempfile.mkdtemp())
    >>> home.is_dir()
    True
    """
    home = _home(data_home)
    home.mkdir(parents=True, exist_ok=True)
    return home


def _beside_clone():
    """``../shared/data`` beside a clone of the repository (never beside an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        return None
    return root.parent / "shared" / "data"


def _holds_physionet(folder):
    return folder.is_dir() and any((folder / db).is_dir() for db in DATABASES)


def _default_folders():
    """Where :func:`find_physionet2016` looks when given no folder, in order."""
    out = []
    if os.environ.get(PHYSIONET_ENV):
        out.append(Path(os.environ[PHYSIONET_ENV]).expanduser())
    out.append(_home() / PHYSIONET_DIR)
    shared = _beside_clone()
    if shared is not None:
        out.append(shared / PHYSIONET_DIR)
    return out


def find_physionet2016(physionet_home=None):
    """The PhysioNet 2016 folder: the one lookup every loader, task and command uses.

    In order: ``physionet_home`` when given (the folder holding
    ``training-a`` ... or its parent), else ``$HBCLF_PHYSIONET``, else
    ``physionet2016/`` in the data home (:func:`get_data_home`, where
    :func:`fetch_physionet2016` puts it), else ``../shared/data/physionet2016``
    beside a clone of the repository.

    Returns
    -------
    pathlib.Path
        A folder holding at least one of ``training-a`` ... ``training-f``.

    Raises
    ------
    LayoutError
        One line: an explicit folder that holds no database, or no copy
        anywhere (naming :func:`fetch_physionet2016`).
    """
    if physionet_home is not None:
        home = Path(physionet_home).expanduser()
        for root in (home, home / PHYSIONET_DIR):
            if _holds_physionet(root):
                return root
        if not home.is_dir():
            raise LayoutError(f"{home}: folder not found")
        raise LayoutError(f"{home}: no PhysioNet 2016 database folder (training-a ... "
                          "training-f)")
    folders = _default_folders()
    for folder in folders:
        for root in (folder, folder / PHYSIONET_DIR):
            if _holds_physionet(root):
                return root
    looked = ", ".join(str(f) for f in folders)
    raise LayoutError(
        f"no PhysioNet 2016 copy found (looked in {looked}): run "
        "hbclf.datasets.fetch_physionet2016() or `python -m hbclf.datasets fetch-physionet` "
        "to download it into the data home, or pass its folder")
