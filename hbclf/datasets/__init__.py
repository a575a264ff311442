"""Heart-sound data sets: PASCAL CHSC2011 (recordings, labels, groups, timings) and PhysioNet 2016.

>>> from hbclf.datasets import load_pascal
>>> data = load_pascal("a")
>>> data.filenames.shape, list(data.target_names)
((124,), ['normal', 'murmur', 'extrahls', 'artifact'])
"""

from ._layout import LABELS, LayoutError, recording_origin
from ._physionet import DATABASES, PHYSIONET_CITATION, load_physionet2016
from ._pascal import CITATION, embedded_data_home, load_pascal, load_pascal_timing, sittings

__all__ = [
    "CITATION",
    "DATABASES",
    "PHYSIONET_CITATION",
    "LABELS",
    "LayoutError",
    "embedded_data_home",
    "load_pascal",
    "load_pascal_timing",
    "load_physionet2016",
    "recording_origin",
    "sittings",
]
