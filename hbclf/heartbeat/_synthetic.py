"""Synthetic phonocardiograms with known S1/S2 times (tests and examples)."""

from __future__ import annotations

import numpy as np

__all__ = ["synthetic_pcg"]


def synthetic_pcg(*, heart_rate=72.0, seconds=8.0, sr=4000, systole=None, noise=0.05,
                  premature=(), sound_width=1.0, seed=None):
    """A phonocardiogram-like signal with known S1 and S2 times.

    Each sound is a Gaussian-windowed burst (S1 at 50 Hz for 100 ms, S2 at
    80 Hz for 80 ms); ``premature`` lists beat numbers that come 35% early
    (an extrasystole-like rhythm); ``sound_width`` scales both sounds'
    durations (children's heart sounds are shorter and closer together).

    Returns
    -------
    y : ndarray of float32
    truth : dict
        ``s1`` and ``s2`` times in seconds.
    """
    rng = np.random.default_rng(seed)
    cycle = 60.0 / heart_rate
    systole = 0.35 * cycle if systole is None else systole
    t = np.arange(int(seconds * sr)) / sr
    y = noise * rng.standard_normal(len(t))
    s1, s2, start, k = [], [], 0.3, 0
    while start + systole + 0.1 < seconds:
        s1.append(start)
        s2.append(start + systole)
        k += 1
        start += cycle * (0.65 if k in premature else 1.0)
    for times, freq, width, amp in ((s1, 50.0, 0.025 * sound_width, 1.0),
                                       (s2, 80.0, 0.02 * sound_width, 0.7)):
        for c in times:
            y += amp * np.exp(-0.5 * ((t - c) / width) ** 2) * np.sin(2 * np.pi * freq * (t - c))
    return y.astype(np.float32), {"s1": np.array(s1), "s2": np.array(s2)}
