"""Heart-sound data sets: PASCAL CHSC2011 (recordings, labels, groups, timings) and PhysioNet 2016.

The PASCAL sets ship with hbclf (a compact 4 kHz copy); PhysioNet 2016 is
downloaded once by :func:`fetch_physionet2016` into the data home
(:func:`get_data_home`: ``$HBCLF_DATA`` or ``~/hbclf_data``), where
:func:`load_physionet2016` and every task, the harness and the command line
find it (:func:`find_physionet2016` is that one lookup).

>>> from hbclf.datasets import load_pascal
>>> data = load_pascal("a")
>>> data.filenames.shape, list(data.target_names)
((124,), ['normal', 'murmur', 'extrahls', 'artifact'])
"""

from ._fetch import OFFICIAL_COUNTS, PHYSIONET_URL, DownloadError, fetch_physionet2016
from ._home import find_physionet2016, get_data_home
from ._layout import LABELS, LayoutError, recording_origin
from ._physionet import DATABASES, PHYSIONET_CITATION, load_physionet2016
from ._pascal import CITATION, embedded_data_home, load_pascal, load_pascal_timing, sittings

__all__ = [
    "CITATION",
    "DATABASES",
    "DownloadError",
    "OFFICIAL_COUNTS",
    "PHYSIONET_URL",
    "PHYSIONET_CITATION",
    "LABELS",
    "LayoutError",
    "embedded_data_home",
    "fetch_physionet2016",
    "find_physionet2016",
    "get_data_home",
    "load_pascal",
    "load_pascal_timing",
    "load_physionet2016",
    "recording_origin",
    "sittings",
]
