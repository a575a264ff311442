"""Device augmentation: what another stethoscope, room and heart rate do to a recording.

A model trained on a few devices learns their colouring along with the heart.
:func:`simulate_device` plays a recording through a random imitation of another
device and room: a band limit (a stethoscope passes roughly 20 Hz-2 kHz; its
bell mode cuts high, its diaphragm low), a random equaliser (the chest piece's
and microphone's resonances), a gain, stationary background noise of a random
colour and level, and a small change of speed (heart rate, and with it every
frequency, by a few per cent). :func:`augment_files` writes augmented copies
of recordings to disk, so that every feature extractor, which reads files,
computes its features on them as on the originals.

Augmented copies are for *training* only: a copy belongs to its source
recording's group (patient, sitting, database), and no copy of a recording may
be used when that recording, or its database, is in the test fold. Scikit-learn
pipelines apply every step at prediction time too, so augmentation is not a
pipeline step: the harness (``python -m benchmarks.run``, protocol
``lodo-augmented``) and :func:`hbclf.model_files.train` (``augment=``) add the
copies to the training rows.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = np.sin(2 * np.pi * 60 * np.arange(8000) / 4000).astype(np.float32)
>>> z = simulate_device(y, 4000, random_state=0)
>>> z.dtype, abs(len(z) - len(y)) <= 0.07 * len(y)
(dtype('float32'), True)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["simulate_device", "augment_files"]

#: Default ranges: high-pass and low-pass corners (Hz), equaliser bands' gain (dB), overall gain
#: (dB), signal-to-noise ratio of the background noise (dB), relative change of speed.
HIGH_PASS = (20.0, 100.0)
LOW_PASS = (400.0, 2000.0)
EQ_DB = 6.0
GAIN_DB = 6.0
SNR_DB = (15.0, 35.0)
SPEED = 0.06


def _peaking(f0, gain_db, q, sr):
    """One peaking-equaliser biquad (Bristow-Johnson's Audio EQ Cookbook) as an SOS row."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return np.r_[b / den[0], den / den[0]]


def _coloured_noise(n, exponent, rng):
    """Stationary noise whose power falls as ``1 / f**exponent`` (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = 1.0
    spec[0] = 0.0  # no offset: unit standard deviation is unit RMS
    noise = np.fft.irfft(spec / f ** (exponent / 2), n)
    return noise / (noise.std() + 1e-12)


def simulate_device(y, sr, *, random_state=None, high_pass=HIGH_PASS, low_pass=LOW_PASS,
                    eq_db=EQ_DB, gain_db=GAIN_DB, snr_db=SNR_DB, speed=SPEED):
    """A recording as another device, room and pace might have captured it.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The waveform.
    sr : int
        Its rate in Hz.
    random_state : int, numpy Generator or None, default=None
        Draws every random setting.
    high_pass, low_pass : (float, float)
        Ranges of the corner frequencies (Hz, drawn log-uniformly) of a
        2nd-order Butterworth high-pass and low-pass; the low-pass is skipped
        when its corner is above 0.45 ``sr``.
    eq_db : float, default=6.0
        Three peaking-equaliser bands (centres 40 Hz-1 kHz, Q 0.7-2) with
        gains drawn from ±``eq_db``.
    gain_db : float, default=6.0
        Overall gain drawn from ±``gain_db``.
    snr_db : (float, float) or None, default=(15, 35)
        Range of the signal-to-noise ratio of added noise whose colour is
        drawn between white and brown; None adds none.
    speed : float, default=0.06
        Playback speed drawn from 1 ± ``speed`` (resampled: the heart rate
        and every frequency change together); 0 keeps the length.

    Returns
    -------
    ndarray of float32
        The augmented waveform, at ``sr``.

    Examples
    --------
    >>> t = np.arange(4000) / 2000
    >>> y = np.sin(2 * np.pi * 50 * t) * (t % 1 < 0.1)
    >>> a = simulate_device(y, 2000, random_state=1)
    >>> b = simulate_device(y, 2000, random_state=1)
    >>> bool(np.array_equal(a, b)), bool(np.array_equal(a[:len(y)], y[:len(a)]))
    (True, False)
    """
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(random_state)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected a non-empty 1-D waveform, got shape {y.shape}")
    # every setting drawn, in this order, whatever the options: a copy with an option changed
    # differs by that option only
    loguniform = lambda lo, hi: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))  # noqa: E731
    hp, lp = loguniform(*high_pass), loguniform(*low_pass)
    top = min(1000.0, 0.4 * sr)
    bands = [(loguniform(40.0, top), rng.uniform(-1, 1), rng.uniform(0.7, 2.0)) for _ in range(3)]
    snr, colour = rng.uniform(*(snr_db or (0, 0))), rng.uniform(0.0, 2.0)
    gain, rate = rng.uniform(-1, 1) * gain_db, 1.0 + rng.uniform(-1, 1) * speed
    noise_rng = np.random.default_rng(rng.integers(2 ** 63))

    sos = [butter(2, hp, "highpass", fs=sr, output="sos")]
    if lp < 0.45 * sr:
        sos.append(butter(2, lp, "lowpass", fs=sr, output="sos"))
    if eq_db > 0:
        sos += [_peaking(f0, g * eq_db, q, sr)[None, :] for f0, g, q in bands]
    out = sosfilt(np.vstack(sos), y)
    if snr_db is not None:
        rms = np.sqrt(np.mean(out ** 2)) + 1e-12
        out = out + _coloured_noise(len(out), colour, noise_rng) * rms / 10 ** (snr / 20)
    out *= 10 ** (gain / 20)
    if speed > 0 and len(out) > 1:
        import soxr

        out = soxr.resample(out, sr * rate, sr, quality="HQ")  # played faster when rate > 1
    return out.astype(np.float32)


def augment_files(files, out_dir, *, sr=4000, random_state=0, n_jobs=None, **settings):
    """Write one device-augmented copy of each recording; return their paths.

    A copy is written as 16-bit FLAC at ``sr`` to ``out_dir/<parent>/<stem>.flac``, keeping
    the source's parent folder so that :func:`hbclf.datasets.recording_origin` reads the same
    origin off it; a copy that the gain would clip is scaled down to full range. Each recording's
    settings are drawn from its own seed (``random_state`` and its position), so the copies
    are the same whatever ``n_jobs`` is.

    Parameters
    ----------
    files : sequence of path-like
        The recordings.
    out_dir : path-like
        Where the copies go (created).
    sr : int, default=4000
        Rate of the copies (4 kHz: what hbclf's features read).
    random_state : int, default=0
    n_jobs : int, optional
        Threads (reading, filtering and writing release the GIL).
    **settings
        Passed to :func:`simulate_device`.

    Returns
    -------
    list of str
        The copies' paths, in the order of ``files``.

    Raises
    ------
    hbclf.io.AudioError
        A recording that cannot be read (the message names it).
    ValueError
        Two recordings that would be written to the same path.

    Examples
    --------
    >>> import tempfile
    >>> from hbclf.datasets import load_pascal
    >>> src = load_pascal("b").filenames[:2]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = augment_files(src, tmp, random_state=0)
    ...     [Path(p).parent.name for p in out] == [Path(f).parent.name for f in src]
    True
    """
    import soundfile as sf

    from ._validation import parallel_map
    from .io import load_audio

    out_dir = Path(out_dir)
    targets = [out_dir / Path(f).parent.name / f"{Path(f).stem}.flac" for f in files]
    if len(set(targets)) != len(targets):
        raise ValueError("two recordings share a folder name and a file stem; their copies "
                         "would overwrite each other")
    for folder in {t.parent for t in targets}:
        folder.mkdir(parents=True, exist_ok=True)

    def one(i, path):
        y, _ = load_audio(path, sr=sr)
        seed = np.random.SeedSequence([int(random_state), i])
        z = simulate_device(y, sr, random_state=np.random.default_rng(seed), **settings)
        z /= max(1.0, float(np.abs(z).max()) / 0.99)
        tmp = targets[i].with_name(f".{targets[i].name}.part")
        sf.write(tmp, z, sr, format="FLAC", subtype="PCM_16")
        os.replace(tmp, targets[i])
        return os.fspath(targets[i])

    return parallel_map(one, list(files), n_jobs)
