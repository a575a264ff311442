"""librosa feature extraction as scikit-learn transformers.

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

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .io import AudioError, DEFAULT_MIN_DURATION, check_waveform, load_audio

__all__ = [
    "AudioReader",
    "FixedLength",
    "LogMel",
    "MFCC",
    "Origin",
    "Sequences",
    "SpectralFeatures",
    "TimeSummary",
]


class Sequences(np.ndarray):
    """1-D object array of per-recording ``(n_features, n_frames)`` matrices.

    It carries ``feature_names`` (one per matrix row) from the extractor to
    :class:`TimeSummary`, so a table's columns are named after what they
    summarise. Indexing, pickling and joblib caching keep the names.

    >>> s = Sequences([np.zeros((2, 5)), np.ones((2, 3))], feature_names=["a", "b"])
    >>> s[1:].feature_names, s[1].shape
    (['a', 'b'], (2, 3))
    """

    def __new__(cls, items, feature_names=None):
        items = list(items)
        obj = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            obj[i] = item
        obj = obj.view(cls)
        obj.feature_names = None if feature_names is None else list(feature_names)
        return obj

    def __array_finalize__(self, obj):
        self.feature_names = getattr(obj, "feature_names", None)

    def __reduce__(self):
        return (Sequences, (list(self), self.feature_names))


# -- reading recordings ---------------------------------------------------------------------


def _is_path(item):
    return isinstance(item, (str, os.PathLike))


def _as_items(X):
    """A list of recordings (paths or waveforms) from what users pass."""
    if _is_path(X):
        raise TypeError("expected a 1-D array of paths or waveforms, got a single path")
    if hasattr(X, "to_numpy"):  # pandas Series / one-column DataFrame
        X = X.to_numpy()
    if isinstance(X, np.ndarray) and X.dtype != object and X.dtype.kind in "fiub":
        if X.ndim == 1:
            raise ValueError(
                "expected a 1-D array of paths or a sequence of waveforms; a single 1-D numeric "
                "array is ambiguous: pass [waveform] or a 2-D array with one waveform per row"
            )
        if X.ndim != 2:
            raise ValueError(f"expected waveforms as rows of a 2-D array, got shape {X.shape}")
        return list(X)
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 1:
        X = X[:, 0]  # a one-column object array of paths
    return list(X)


def _read_one(item, i, sr, min_duration):
    if _is_path(item):
        y, _ = load_audio(item, sr=sr, min_duration=min_duration)
        return y
    if isinstance(item, (np.ndarray, list, tuple)):
        return check_waveform(item, sr, source=f"recording {i}", min_duration=min_duration)
    raise AudioError(f"recording {i}", f"expected a path or a waveform, got {type(item).__name__}")


def _blas_controller(_cache=[]):  # noqa: B006 - one controller per process
    """threadpoolctl's view of the loaded BLAS libraries (costly to build: built once)."""
    if not _cache:
        from threadpoolctl import ThreadpoolController

        _cache.append(ThreadpoolController())
    return _cache[0]


def _parallel_map(func, items, n_jobs):
    """``[func(i, item) ...]`` over contiguous chunks: one task per worker.

    Threads, not processes: soundfile, soxr, the FFTs and the BLAS calls
    release the GIL, and threads cost no start-up or pickling (a task per file
    made joblib slower than serial code). BLAS is held to one thread while
    the loop runs: per-recording matrices are small, and BLAS threads only
    contend with each other and with the workers (measured on the 585 PASCAL
    originals: 1.1-1.2 s with two BLAS threads, 0.46 s with one; 0.37 s with
    ``n_jobs=2`` on two cores).
    """
    from joblib import Parallel, delayed, effective_n_jobs

    n = len(items)
    workers = min(effective_n_jobs(n_jobs), n) if n_jobs not in (None, 1) else 1
    with _blas_controller().limit(limits=1):
        if workers <= 1:
            return [func(i, item) for i, item in enumerate(items)]
        bounds = np.linspace(0, n, workers + 1).astype(int)

        def chunk(lo, hi):
            return [func(i, items[i]) for i in range(lo, hi)]

        parts = Parallel(n_jobs=workers, prefer="threads")(
            delayed(chunk)(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])
        )
    return [out for part in parts for out in part]


def _check_sr(sr):
    if not isinstance(sr, Integral) or sr <= 0:
        raise ValueError(f"sr must be a positive integer, got {sr!r}")


class _Stateless:
    """Shared anatomy of transformers that read recordings and learn nothing in ``fit``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.string = True
        return tags

    def set_output(self, *, transform=None):
        """Accepted for pipelines; waveforms and frame sequences have no table form
        (a later :class:`TimeSummary` gives one), so the output stays as it is."""
        return self


class AudioReader(_Stateless, TransformerMixin, BaseEstimator):
    """Read recordings into waveforms, with optional band-pass and normalisation.

    Parameters
    ----------
    sr : int, default=4000
        Rate of the returned waveforms (soxr high-quality resampling).
    band : tuple of (float or None, float or None), optional
        Pass band in Hz of a 4th-order zero-phase Butterworth filter, e.g.
        ``(25, 400)`` for S1/S2 or ``(25, 900)`` to keep murmurs. ``None``
        (default) leaves the signal as recorded; ``(None, hi)`` is a low-pass.
    normalize : {None, "peak", "rms"}, default=None
        Scale each recording to unit peak or unit RMS (phone and stethoscope
        gains differ by orders of magnitude).
    min_duration : float, default=0.5
        Shortest accepted recording, in seconds.
    n_jobs : int, optional
        Threads for reading; ``None`` reads serially.

    Examples
    --------
    >>> from hbclf.datasets import load_pascal
    >>> waves = AudioReader(band=(25, 400)).fit_transform(load_pascal("a").filenames[:2])
    >>> waves[0].dtype, waves[0].ndim
    (dtype('float32'), 1)
    """

    def __init__(self, sr=4000, *, band=None, normalize=None,
                 min_duration=DEFAULT_MIN_DURATION, n_jobs=None):
        self.sr = sr
        self.band = band
        self.normalize = normalize
        self.min_duration = min_duration
        self.n_jobs = n_jobs

    def fit(self, X=None, y=None):
        _check_sr(self.sr)
        if self.normalize not in (None, "peak", "rms"):
            raise ValueError(f"normalize must be None, 'peak' or 'rms', got {self.normalize!r}")
        self.sos_ = None
        if self.band is not None:
            from scipy.signal import butter

            lo, hi = self.band
            nyq = self.sr / 2
            if hi is not None and not 0 < hi < nyq:
                raise ValueError(f"band upper edge must be in (0, {nyq}) Hz, got {hi}")
            if lo is not None and not 0 < lo < (hi or nyq):
                raise ValueError(f"band lower edge must be in (0, upper edge), got {lo}")
            if lo and hi:
                self.sos_ = butter(4, [lo, hi], btype="bandpass", fs=self.sr, output="sos")
            elif hi:
                self.sos_ = butter(4, hi, btype="lowpass", fs=self.sr, output="sos")
            elif lo:
                self.sos_ = butter(4, lo, btype="highpass", fs=self.sr, output="sos")
        return self

    def _one(self, i, item):
        y = _read_one(item, i, self.sr, self.min_duration)
        if self.sos_ is not None:
            from scipy.signal import sosfiltfilt

            y = sosfiltfilt(self.sos_, y, padlen=min(len(y) - 1, 3 * 13)).astype(np.float32)
        if self.normalize == "peak":
            y = y / np.max(np.abs(y))
        elif self.normalize == "rms":
            y = y / np.sqrt(np.mean(np.square(y, dtype=np.float64)))
        return np.ascontiguousarray(y, dtype=np.float32)

    def transform(self, X):
        """Waveforms (a :class:`Sequences` of 1-D float32 arrays) of ``X``."""
        check_is_fitted(self, "sos_")
        return Sequences(_parallel_map(self._one, _as_items(X), self.n_jobs))


class Origin(_Stateless, TransformerMixin, BaseEstimator):
    """The origin of each recording (PASCAL set, PhysioNet database), read off its path.

    A baseline's only input: a classifier that sees nothing but the origin
    shows how much of a score the origin alone explains (class priors differ
    between sets and databases). Follow it with a ``OneHotEncoder``.

    Examples
    --------
    >>> Origin().fit_transform(["d/training-a/a0001.wav", "p/set_b/normal__1_22222222_A.flac"])
    array([['training-a'],
           ['set B']], dtype=object)
    """

    def fit(self, X=None, y=None):
        """Learns nothing."""
        self.n_features_out_ = 1
        return self

    def transform(self, X):
        """A ``(n_recordings, 1)`` object array of origin names."""
        from .datasets import recording_origin

        check_is_fitted(self, "n_features_out_")
        items = _as_items(X)
        if not all(_is_path(item) for item in items):
            raise TypeError("Origin reads file paths; waveforms carry no origin")
        return np.array([[recording_origin(item)] for item in items], dtype=object)

    def get_feature_names_out(self, input_features=None):
        """``["origin"]``."""
        return np.array(["origin"], dtype=object)


# -- time-frequency features ---------------------------------------------------------------


class _Spectral(_Stateless, TransformerMixin, BaseEstimator):
    """Common part of the frame-wise extractors: read, frame, compute, stack deltas."""

    def _validate(self):
        _check_sr(self.sr)
        for name in ("n_fft", "hop_length"):
            v = getattr(self, name)
            if not isinstance(v, Integral) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.deltas, Integral) or not 0 <= self.deltas <= 2:
            raise ValueError(f"deltas must be 0, 1 or 2, got {self.deltas!r}")

    def _fmax(self):
        return self.sr / 2 if self.fmax is None else self.fmax

    def _mel_basis(self):
        import librosa

        fmax = self._fmax()
        if not 0 <= self.fmin < fmax <= self.sr / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sr/2, got fmin={self.fmin}, fmax={fmax}")
        return librosa.filters.mel(
            sr=self.sr, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=fmax
        ).astype(np.float32)

    def _power(self, y):
        import librosa

        return np.abs(librosa.stft(y, n_fft=self.n_fft, hop_length=self.hop_length)) ** 2

    def _with_deltas(self, M):
        if self.deltas == 0:
            return M
        import librosa

        n = M.shape[1]
        width = min(9, n if n % 2 else n - 1)
        out = [M]
        for order in range(1, self.deltas + 1):
            if width >= 3:
                out.append(librosa.feature.delta(M, width=width, order=order, mode="interp"))
            else:  # too few frames to estimate a slope
                out.append(np.zeros_like(M))
        return np.concatenate(out, axis=0)

    def _names_with_deltas(self, base):
        names = list(base)
        for order in range(1, self.deltas + 1):
            names += [f"{n}_d{order}" for n in base]
        return names

    def fit(self, X=None, y=None):
        """Validate the parameters and prepare the filters (learns nothing from ``X``)."""
        self._validate()
        self._prepare()
        self.feature_names_ = np.array(self._names_with_deltas(self._base_names()), dtype=object)
        self.n_features_out_ = len(self.feature_names_)
        return self

    def _prepare(self):
        pass

    def _one(self, i, item):
        y = _read_one(item, i, self.sr, self.min_duration)
        return self._with_deltas(self._frames(y)).astype(np.float32)

    def transform(self, X):
        """One ``(n_features, n_frames)`` float32 matrix per recording.

        Parameters
        ----------
        X : array-like of paths, or sequence of 1-D waveforms at ``sr``
            Recordings. Paths are read with :func:`hbclf.io.load_audio`.

        Returns
        -------
        Xt : :class:`Sequences`
            Matrices with ``feature_names`` set.
        """
        check_is_fitted(self, "feature_names_")
        out = _parallel_map(self._one, _as_items(X), self.n_jobs)
        return Sequences(out, feature_names=self.feature_names_)

    def get_feature_names_out(self, input_features=None):
        """Names of the matrix rows (the per-frame features)."""
        check_is_fitted(self, "feature_names_")
        return self.feature_names_.copy()


class MFCC(_Spectral):
    """Mel-frequency cepstral coefficients per frame (librosa's definition).

    Parameters
    ----------
    n_mfcc : int, default=40
        Coefficients kept (the seed project used 40).
    sr : int, default=4000
        Rate at which paths are read; waveforms must already be at it.
    n_fft : int, default=256
        Window length in samples (64 ms at 4 kHz, 15.6 Hz resolution).
    hop_length : int, default=128
        Hop in samples (32 ms: 130 frames hold 4.2 s, 2-5 heartbeats).
    n_mels : int, default=40
        Mel bands (from 25 Hz none is empty with a 256-sample window).
    fmin, fmax : float, default=25.0 and None (= sr / 2)
        Band of the mel filters. Below 25 Hz is mostly body movement.
    deltas : {0, 1, 2}, default=0
        Append first (and second) order deltas over time (width 9).
    min_duration : float, default=0.5
        Shortest accepted recording, in seconds.
    n_jobs : int, optional
        Threads; ``None`` runs serially (fastest for a few hundred files).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(np.linspace(0, 2000, 8000)).astype("float32")
    >>> MFCC(n_mfcc=13).fit_transform([y])[0].shape
    (13, 63)
    """

    def __init__(self, n_mfcc=40, *, sr=4000, n_fft=256, hop_length=128, n_mels=40,
                 fmin=25.0, fmax=None, deltas=0, min_duration=DEFAULT_MIN_DURATION,
                 n_jobs=None):
        self.n_mfcc = n_mfcc
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.deltas = deltas
        self.min_duration = min_duration
        self.n_jobs = n_jobs

    def _validate(self):
        super()._validate()
        if not isinstance(self.n_mfcc, Integral) or not 0 < self.n_mfcc <= self.n_mels:
            raise ValueError(f"n_mfcc must be in [1, n_mels={self.n_mels}], got {self.n_mfcc!r}")

    def _prepare(self):
        self.mel_basis_ = self._mel_basis()

    def _base_names(self):
        return [f"mfcc{k}" for k in range(self.n_mfcc)]

    def _frames(self, y):
        import librosa
        import scipy.fft

        mel = librosa.power_to_db(self.mel_basis_ @ self._power(y))
        return scipy.fft.dct(mel, axis=0, type=2, norm="ortho")[: self.n_mfcc]


class LogMel(_Spectral):
    """Log-power mel spectrogram (dB) per frame.

    Parameters are those of :class:`MFCC` (same defaults and reasons),
    without ``n_mfcc``; ``top_db`` (default 80) floors the dynamic range.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(np.linspace(0, 2000, 8000)).astype("float32")
    >>> LogMel(n_mels=32).fit_transform([y])[0].shape
    (32, 63)
    """

    def __init__(self, n_mels=40, *, sr=4000, n_fft=256, hop_length=128, fmin=25.0,
                 fmax=None, top_db=80.0, deltas=0, min_duration=DEFAULT_MIN_DURATION,
                 n_jobs=None):
        self.n_mels = n_mels
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.fmin = fmin
        self.fmax = fmax
        self.top_db = top_db
        self.deltas = deltas
        self.min_duration = min_duration
        self.n_jobs = n_jobs

    def _prepare(self):
        self.mel_basis_ = self._mel_basis()

    def _base_names(self):
        return [f"mel{k}" for k in range(self.n_mels)]

    def _frames(self, y):
        import librosa

        return librosa.power_to_db(self.mel_basis_ @ self._power(y), top_db=self.top_db)


SPECTRAL_FEATURES = ("centroid", "bandwidth", "rolloff", "flatness", "contrast", "zcr", "rms")


class SpectralFeatures(_Spectral):
    """Frame-wise spectral shape: centroid, bandwidth, roll-off, flatness, ZCR, RMS.

    Parameters
    ----------
    features : tuple of str, default=all of ``SPECTRAL_FEATURES``
        Any of "centroid", "bandwidth", "rolloff" (85 %), "flatness",
        "contrast" (spectral contrast, 4 bands from 100 Hz: one row each plus
        the valley row), "zcr" (zero-crossing rate), "rms".
    sr, n_fft, hop_length, deltas, min_duration, n_jobs
        As in :class:`MFCC`.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(np.linspace(0, 2000, 8000)).astype("float32")
    >>> sf = SpectralFeatures(features=("centroid", "rms")).fit([y])
    >>> list(sf.get_feature_names_out()), sf.transform([y])[0].shape
    (['centroid', 'rms'], (2, 63))
    """

    def __init__(self, *, features=SPECTRAL_FEATURES, sr=4000, n_fft=256, hop_length=128,
                 deltas=0, min_duration=DEFAULT_MIN_DURATION, n_jobs=None):
        self.features = features
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.deltas = deltas
        self.min_duration = min_duration
        self.n_jobs = n_jobs

    _CONTRAST_BANDS = 4

    def _validate(self):
        super()._validate()
        unknown = set(self.features) - set(SPECTRAL_FEATURES)
        if unknown or not len(self.features):
            raise ValueError(f"features must be among {SPECTRAL_FEATURES}, got {self.features!r}")

    def _base_names(self):
        names = []
        for f in self.features:
            if f == "contrast":
                names += [f"contrast{k}" for k in range(self._CONTRAST_BANDS + 1)]
            else:
                names.append(f)
        return names

    def _frames(self, y):
        import librosa.feature as lf

        S = np.sqrt(self._power(y))
        kw = dict(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length)
        rows = []
        for f in self.features:
            if f == "centroid":
                rows.append(lf.spectral_centroid(S=S, **kw))
            elif f == "bandwidth":
                rows.append(lf.spectral_bandwidth(S=S, **kw))
            elif f == "rolloff":
                rows.append(lf.spectral_rolloff(S=S, **kw))
            elif f == "flatness":
                rows.append(lf.spectral_flatness(S=S))
            elif f == "contrast":
                rows.append(
                    lf.spectral_contrast(S=S, sr=self.sr, fmin=100.0, n_bands=self._CONTRAST_BANDS)
                )
            elif f == "zcr":
                rows.append(
                    lf.zero_crossing_rate(y, frame_length=self.n_fft, hop_length=self.hop_length)
                )
            elif f == "rms":
                rows.append(lf.rms(S=S, frame_length=self.n_fft))
        return np.concatenate(rows, axis=0)


# -- from sequences to tables ----------------------------------------------------------------


def _as_sequences(X):
    """Per-recording 2-D matrices from a Sequences array or a numeric 2-D/3-D array.

    A 2-D array ``(n_recordings, n_features)`` is read as one frame per
    recording; a 3-D array as ``(n_recordings, n_features, n_frames)``.
    """
    from sklearn.utils.validation import check_array

    names = getattr(X, "feature_names", None)
    if not isinstance(X, (np.ndarray, list, tuple)) and not hasattr(X, "tocsr"):
        X = np.asarray(X)
    if hasattr(X, "tocsr") or (isinstance(X, np.ndarray) and X.dtype != object):
        X = check_array(X, allow_nd=True, dtype=(np.float64, np.float32))
        if X.ndim > 3:
            raise ValueError(f"expected sequences or a 2-D/3-D array, got shape {X.shape}")
        mats = [row[:, np.newaxis] for row in X] if X.ndim == 2 else list(X)
    else:
        mats = [np.atleast_2d(np.asarray(m, dtype=np.float32)) for m in X]
    if not mats:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required")
    rows = {m.shape[0] for m in mats}
    if len(rows) != 1 or any(m.ndim != 2 for m in mats):
        raise ValueError(f"all matrices must have the same number of rows, got {sorted(rows)}")
    for i, m in enumerate(mats):
        if m.shape[1] == 0:
            raise ValueError(f"sequence {i} has no frames")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"Input contains NaN or infinity (sequence {i})")
    return mats, names


def _fitted_rows(est, X):
    mats, names = _as_sequences(X)
    est.n_features_in_ = mats[0].shape[0]
    est.input_names_ = np.array(
        names if names is not None else [f"x{k}" for k in range(est.n_features_in_)], dtype=object
    )
    return mats


def _checked_rows(est, X):
    check_is_fitted(est, "n_features_in_")
    mats, _ = _as_sequences(X)
    if mats[0].shape[0] != est.n_features_in_:
        raise ValueError(
            f"X has {mats[0].shape[0]} features, but {type(est).__name__} "
            f"is expecting {est.n_features_in_} features as input (features per frame)"
        )
    return mats


_PLAIN_STATS = ("mean", "std", "min", "max", "median", "skew", "kurtosis", "delta_mean",
                "delta_std")


def _stat(name, M):
    if name == "mean":
        return M.mean(axis=1)
    if name == "std":
        return M.std(axis=1)
    if name == "min":
        return M.min(axis=1)
    if name == "max":
        return M.max(axis=1)
    if name == "median":
        return np.median(M, axis=1)
    if name in ("skew", "kurtosis"):
        c = M - M.mean(axis=1, keepdims=True)
        sd = np.sqrt((c**2).mean(axis=1))
        safe = np.where(sd > 0, sd, 1.0)
        k = 3 if name == "skew" else 4
        value = (c**k).mean(axis=1) / safe**k
        return np.where(sd > 0, value - (3 if k == 4 else 0), 0.0)
    if name.startswith("delta_"):
        D = np.diff(M, axis=1) if M.shape[1] > 1 else np.zeros_like(M)
        return _stat(name[len("delta_"):], D)
    return np.percentile(M, float(name[1:]), axis=1)  # "p10", "p90", ...


class TimeSummary(TransformerMixin, BaseEstimator):
    """Summarise variable-length frame sequences into a fixed table.

    Each statistic is taken over time for every row of every matrix; the
    columns are named ``<feature>_<stat>`` (e.g. ``mfcc3_std``).

    Parameters
    ----------
    stats : tuple of str, default=("mean", "std", "p10", "p50", "p90", "delta_std")
        Any of "mean", "std", "min", "max", "median", "skew", "kurtosis",
        "pNN" (NN-th percentile, 0-100), "delta_mean", "delta_std" (of the
        frame-to-frame difference: how fast a feature moves).

    Examples
    --------
    >>> import numpy as np
    >>> X = Sequences([np.arange(6.).reshape(2, 3), np.ones((2, 4))], feature_names=["a", "b"])
    >>> ts = TimeSummary(stats=("mean", "max")).fit(X)
    >>> list(ts.get_feature_names_out())
    ['a_mean', 'b_mean', 'a_max', 'b_max']
    >>> ts.transform(X)[0].tolist()
    [1.0, 4.0, 2.0, 5.0]
    """

    def __init__(self, stats=("mean", "std", "p10", "p50", "p90", "delta_std")):
        self.stats = stats

    def _validate(self):
        if isinstance(self.stats, str) or not len(self.stats):
            raise ValueError(f"stats must be a non-empty sequence of names, got {self.stats!r}")
        for s in self.stats:
            ok = s in _PLAIN_STATS or (
                isinstance(s, str) and s[:1] == "p" and s[1:].replace(".", "", 1).isdigit()
                and 0 <= float(s[1:]) <= 100
            )
            if not ok:
                raise ValueError(f"unknown statistic {s!r}; use {_PLAIN_STATS} or pNN")

    def fit(self, X, y=None):
        """Record the number and names of the per-frame features."""
        self._validate()
        _fitted_rows(self, X)
        return self

    def transform(self, X):
        """A ``(n_recordings, n_features * n_stats)`` array (float32 for float32 input)."""
        mats = _checked_rows(self, X)
        dtype = np.result_type(*[m.dtype for m in mats[:1]], np.float32)
        out = np.empty((len(mats), self.n_features_in_ * len(self.stats)), dtype=dtype)
        for i, M in enumerate(mats):
            out[i] = np.concatenate([_stat(s, M.astype(np.float64)) for s in self.stats])
        return out

    def get_feature_names_out(self, input_features=None):
        """``<feature>_<stat>`` for every statistic and per-frame feature."""
        check_is_fitted(self, "n_features_in_")
        names = self.input_names_ if input_features is None else np.asarray(input_features)
        if len(names) != self.n_features_in_:
            raise ValueError(f"input_features should have length {self.n_features_in_}")
        return np.array([f"{n}_{s}" for s in self.stats for n in names], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class FixedLength(TransformerMixin, BaseEstimator):
    """Pad or crop frame sequences to one length: a 3-D array for neural networks.

    Parameters
    ----------
    frames : int, default=130
        Output length. With the default :class:`MFCC` (40 coefficients,
        32 ms hop) this is the seed project's 40 x 130 image, 4.2 s.
    crop : {"start", "center"}, default="start"
        Which part of a longer recording to keep: its first ``frames``
        frames (default: the seed's choice, and deterministic for streaming),
        or the middle ones (skips a noisy stethoscope placement at the start).
    pad : {"constant", "wrap"}, default="constant"
        How to lengthen a shorter recording: zeros appended at the end, or
        the recording repeated (heart sounds are periodic).

    Examples
    --------
    >>> import numpy as np
    >>> FixedLength(frames=4).fit_transform([np.ones((2, 3)), np.ones((2, 9))]).shape
    (2, 2, 4)
    """

    def __init__(self, frames=130, *, crop="start", pad="constant"):
        self.frames = frames
        self.crop = crop
        self.pad = pad

    def fit(self, X, y=None):
        """Check parameters and record the number of per-frame features."""
        if not isinstance(self.frames, Integral) or self.frames <= 0:
            raise ValueError(f"frames must be a positive integer, got {self.frames!r}")
        if self.crop not in ("start", "center"):
            raise ValueError(f"crop must be 'start' or 'center', got {self.crop!r}")
        if self.pad not in ("constant", "wrap"):
            raise ValueError(f"pad must be 'constant' or 'wrap', got {self.pad!r}")
        _fitted_rows(self, X)
        return self

    def transform(self, X):
        """A ``(n_recordings, n_features, frames)`` float32 array."""
        mats = _checked_rows(self, X)
        dtype = np.result_type(mats[0].dtype, np.float32)
        out = np.zeros((len(mats), self.n_features_in_, self.frames), dtype=dtype)
        for i, M in enumerate(mats):
            n = M.shape[1]
            if n >= self.frames:
                start = 0 if self.crop == "start" else (n - self.frames) // 2
                out[i] = M[:, start:start + self.frames]
            elif self.pad == "wrap":
                out[i] = np.tile(M, (1, -(-self.frames // n)))[:, : self.frames]
            else:
                out[i, :, :n] = M
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
