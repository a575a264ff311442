"""Feature extraction as scikit-learn transformers (librosa inside).

Data flows through a pipeline in three shapes:

* **recordings**: a 1-D array of audio file paths (what
  ``load_pascal().filenames`` holds) or a sequence of 1-D waveforms;
* **sequences**: a :class:`Sequences` array, one ``(n_features, n_frames)``
  matrix per recording, of varying length (``MFCC``, ``LogMel``,
  ``SpectralFeatures``);
* **tables**: a 2-D array (``TimeSummary``) or a fixed 3-D array
  (``FixedLength``) that any estimator takes.

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.svm import SVC
>>> from hbclf.datasets import load_pascal
>>> from hbclf.features import MFCC, TimeSummary
>>> data = load_pascal("a")
>>> svm = make_pipeline(MFCC(), TimeSummary(), SVC()).fit(data.filenames, data.target)

The spectral transformers read paths themselves (with :func:`hbclf.io.load_audio`
at their ``sr``), so a pipeline with ``memory=`` caches features keyed on the
paths alone; put an :class:`AudioReader` first for band-pass filtering or
normalisation. The cache key is the path, not the file's content: clear the
cache when files change under the same name.

Defaults are chosen for heart sounds at 4 kHz: a 256-sample (64 ms) window
resolves 15.6 Hz, enough for the 25-400 Hz band of S1/S2 and murmurs up to
~1 kHz; a 128-sample (32 ms) hop gives 130 frames for 4.2 s, two to five
cardiac cycles, the seed project's 40 x 130 MFCC image; 40 mel bands from
25 Hz leave no mel filter empty at that resolution.
"""

import importlib as _importlib
import pkgutil as _pkgutil

# Every module of this package contributes its ``__all__``: a new transformer is
# one new (or edited) module, found here, in hbclf.discovery and in the tests.
__all__ = []
for _info in _pkgutil.iter_modules(__path__):
    _module = _importlib.import_module(f"{__name__}.{_info.name}")
    for _name in _module.__all__:
        _obj = getattr(_module, _name)
        globals()[_name] = _obj
        if isinstance(_obj, type):
            # model files and pickles name a class by its public path, not the private module
            _obj.__module__ = __name__
        __all__.append(_name)
__all__.sort()
del _importlib, _pkgutil, _info, _module, _name, _obj
