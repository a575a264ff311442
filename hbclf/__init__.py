"""hbclf: heartbeat detection and heart-sound classification, scikit-learn native.

Modules: :mod:`hbclf.io` (reading recordings), :mod:`hbclf.datasets` (PASCAL
CHSC2011 loaders). TensorFlow is imported only where a network is built.
"""

__version__ = "0.1.0"
