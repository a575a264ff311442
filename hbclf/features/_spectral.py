"""Frame-wise time-frequency features: MFCC, log-mel, spectral shape (librosa)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import as_items, check_recordings, check_sr, parallel_map, read_one
from ..base import NoTableOutputMixin, RecordingTransformerMixin
from ..io import DEFAULT_MIN_DURATION
from ._sequences import Sequences

__all__ = ["LogMel", "MFCC", "SPECTRAL_FEATURES", "SpectralFeatures"]


class _Spectral(NoTableOutputMixin, RecordingTransformerMixin, TransformerMixin, BaseEstimator):
    """Common part of the frame-wise extractors: read, frame, compute, stack deltas."""

    def _validate(self):
        check_sr(self.sr)
        for name in ("n_fft", "hop_length"):
            v = getattr(self, name)
            if not isinstance(v, Integral) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.deltas, Integral) or not 0 <= self.deltas <= 2:
            raise ValueError(f"deltas must be 0, 1 or 2, got {self.deltas!r}")
        if self.normalize not in (None, "mean", "meanvar"):
            raise ValueError(f"normalize must be None, 'mean' or 'meanvar', got "
                             f"{self.normalize!r}")

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

    def _normalized(self, M):
        """Per-recording normalisation of each row over the recording's frames.

        A fixed linear filter (a stethoscope's or a phone's frequency response,
        the skin contact, the gain) adds a constant to every frame of a log
        spectrum and of its cepstrum: subtracting each row's mean over time
        (cepstral mean normalisation) removes it; dividing by the row's
        deviation too (mean and variance normalisation) also removes the
        recording's dynamic range.
        """
        if self.normalize is None:
            return M
        M = M - M.mean(axis=1, keepdims=True)
        if self.normalize == "meanvar":
            std = M.std(axis=1, keepdims=True)
            M = M / np.where(std > 1e-8, std, 1.0)
        return M

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
        if X is not None:
            check_recordings(X)
        self._validate()
        self._prepare()
        self.feature_names_ = np.array(self._names_with_deltas(self._base_names()), dtype=object)
        self.n_features_out_ = len(self.feature_names_)
        return self

    def _prepare(self):
        pass

    def _one(self, i, item):
        y = read_one(item, i, self.sr, self.min_duration)
        return self._with_deltas(self._normalized(self._frames(y))).astype(np.float32)

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
        out = parallel_map(self._one, as_items(X), self.n_jobs)
        return Sequences(out, feature_names=self.feature_names_, fixed_stats=self._fixed_stats())

    def _fixed_stats(self):
        """Statistics over time that ``normalize`` fixes, per row: the mean of each normalised
        row is 0 and, under ``"meanvar"``, its deviation 1 by construction (the deltas' are
        not), so a summary of them would hold only rounding noise."""
        fixed = {None: (), "mean": ("mean",), "meanvar": ("mean", "std")}[self.normalize]
        return {name: fixed for name in self._base_names()} if fixed else None

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
    normalize : {None, "mean", "meanvar"}, default=None
        Per-recording normalisation of each coefficient over the recording's
        frames, before the deltas: ``"mean"`` subtracts its mean (cepstral
        mean normalisation: cancels a fixed device or room response and the
        gain), ``"meanvar"`` also divides by its deviation. ``None`` keeps
        the coefficients as computed.
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
                 fmin=25.0, fmax=None, deltas=0, normalize=None,
                 min_duration=DEFAULT_MIN_DURATION, n_jobs=None):
        self.n_mfcc = n_mfcc
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.deltas = deltas
        self.normalize = normalize
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
    without ``n_mfcc``; ``top_db`` (default 80) floors the dynamic range
    (before ``normalize``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(np.linspace(0, 2000, 8000)).astype("float32")
    >>> LogMel(n_mels=32).fit_transform([y])[0].shape
    (32, 63)
    """

    def __init__(self, n_mels=40, *, sr=4000, n_fft=256, hop_length=128, fmin=25.0,
                 fmax=None, top_db=80.0, deltas=0, normalize=None,
                 min_duration=DEFAULT_MIN_DURATION, n_jobs=None):
        self.n_mels = n_mels
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.fmin = fmin
        self.fmax = fmax
        self.top_db = top_db
        self.deltas = deltas
        self.normalize = normalize
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
    sr, n_fft, hop_length, deltas, normalize, min_duration, n_jobs
        As in :class:`MFCC` (``normalize`` acts on each feature's row).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(np.linspace(0, 2000, 8000)).astype("float32")
    >>> sf = SpectralFeatures(features=("centroid", "rms")).fit([y])
    >>> list(sf.get_feature_names_out()), sf.transform([y])[0].shape
    (['centroid', 'rms'], (2, 63))
    """

    def __init__(self, *, features=SPECTRAL_FEATURES, sr=4000, n_fft=256, hop_length=128,
                 deltas=0, normalize=None, min_duration=DEFAULT_MIN_DURATION, n_jobs=None):
        self.features = features
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.deltas = deltas
        self.normalize = normalize
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
