"""Heart-sound data sets: the PASCAL CHSC2011 recordings, labels, groups and timings.

>>> from hbclf.datasets import load_pascal
>>> data = load_pascal("a")
>>> data.filenames.shape, list(data.target_names)
((124,), ['normal', 'murmur', 'extrahls', 'artifact'])
"""

from ._layout import LABELS, LayoutError
from ._pascal import CITATION, embedded_data_home, load_pascal, load_pascal_timing

__all__ = [
    "CITATION",
    "LABELS",
    "LayoutError",
    "embedded_data_home",
    "load_pascal",
    "load_pascal_timing",
]
