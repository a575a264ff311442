"""Faster versions of annotated recordings that keep the sounds' shape (segmenter tests)."""

from __future__ import annotations

import numpy as np

from ._hsmm import expected_systole

__all__ = ["faster_heart"]

GUARD = 0.06  # s kept on each side of an annotated sound: no cut comes nearer
EDGE = 0.1  # s kept before the first and after the last annotated sound
_MAX_SYSTOLE, _MAX_DIASTOLE = 0.6, 1.6  # s: longer gaps are skipped cycles, left alone


def _events(truth):
    events = sorted([(float(t), 0) for t in truth["s1"]] + [(float(t), 2) for t in truth["s2"]])
    if not events:
        raise ValueError("the annotation has no S1 or S2 times")
    return events


def _intervals(events):
    """(kind, start, end) of each annotated systole ('sys') and diastole ('dia')."""
    out = []
    for (a, ka), (b, kb) in zip(events[:-1], events[1:]):
        if ka == 0 and kb == 2 and b - a <= _MAX_SYSTOLE:
            out.append(("sys", a, b))
        elif ka == 2 and kb == 0 and b - a <= _MAX_DIASTOLE:
            out.append(("dia", a, b))
    return out


def faster_heart(y, sr, truth, *, heart_rate, child=False, crossfade=0.005):
    """The recording at a faster heart rate, its S1 and S2 sounds untouched.

    Samples are cut from the middle of every annotated diastole (and, with
    ``child=True``, of every systole), each cut joined by an equal-power
    crossfade, so the sounds keep their width, pitch and loudness, unlike
    playing the recording faster. Diastoles shrink in proportion, so that the
    median cycle becomes ``60 / heart_rate``; with ``child=True`` systoles
    shrink to the S1-to-S2 interval that :func:`expected_systole` (Weissler's
    regression) gives at that rate, as in a child's heart, and diastoles
    take the rest. No cut comes within 60 ms of an annotated sound, so a rate
    may not be reachable: the returned annotation says which rate was made.
    The result spans the annotated sounds (and 0.1 s either side), so every
    sound in it is annotated.

    Parameters
    ----------
    y : array-like
        Waveform, mono.
    sr : int
        Its rate in Hz.
    truth : dict
        ``{"s1": times, "s2": times}`` in seconds (as
        :func:`annotated_recordings` or :func:`synthetic_pcg` give).
    heart_rate : float
        Target beats per minute; not below the recording's own.
    child : bool, default=False
        Shorten systole as well.
    crossfade : float, default=0.005
        Seconds over which each cut is joined.

    Returns
    -------
    y : ndarray
        The faster recording (float64).
    truth : dict
        ``s1`` and ``s2`` times (s) in it.

    Examples
    --------
    >>> import numpy as np
    >>> from hbclf.heartbeat import faster_heart, synthetic_pcg
    >>> y, truth = synthetic_pcg(heart_rate=70, seconds=10, sr=4000, seed=1)
    >>> fast, new = faster_heart(y, 4000, truth, heart_rate=120)
    >>> round(60 / np.median(np.diff(new["s1"])))
    120
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"faster_heart expects one channel, got shape {y.shape}")
    events = _events(truth)
    intervals = _intervals(events)
    systoles = [b - a for kind, a, b in intervals if kind == "sys"]
    diastoles = [b - a for kind, a, b in intervals if kind == "dia"]
    if not systoles or not diastoles:
        raise ValueError("the annotation has no complete cycle (S1, S2, next S1)")
    sys_med, dia_med = float(np.median(systoles)), float(np.median(diastoles))
    cycle = sys_med + dia_med
    target = 60.0 / float(heart_rate)
    if target > cycle * 1.0001:
        raise ValueError(f"heart_rate {heart_rate} bpm is below the recording's own "
                         f"({60.0 / cycle:.0f} bpm)")
    new_sys = min(sys_med, expected_systole(heart_rate)) if child else sys_med
    ratio = {"sys": new_sys / sys_med, "dia": max(target - new_sys, 0.0) / dia_med}
    fade = max(int(round(crossfade * sr)), 1)
    guard = int(round(GUARD * sr))
    cuts = []  # (first removed sample, number removed)
    for kind, a, b in intervals:
        lo, hi = int(round(a * sr)) + guard, int(round(b * sr)) - guard
        room = hi - lo - fade
        want = int(round((b - a) * (1.0 - ratio[kind]) * sr))
        n = min(want, room)
        if n > 0:
            cuts.append((lo + (room - n) // 2, n))
    pieces, pos = [], 0
    up = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade)  # equal power: up^2 + down^2 = 1
    down = up[::-1]
    for start, n in cuts:
        pieces.append(y[pos:start])
        pieces.append(y[start:start + fade] * down + y[start + n:start + n + fade] * up)
        pos = start + n + fade
    pieces.append(y[pos:])
    out = np.concatenate(pieces)
    starts = np.array([s for s, _ in cuts], dtype=float)
    removed = np.cumsum([0] + [n for _, n in cuts], dtype=float)

    def moved(t):
        t = np.asarray(t, dtype=float)
        return t - removed[np.searchsorted(starts / sr, t)] / sr

    first, last = moved(events[0][0]), moved(events[-1][0])
    begin = max(int(round((first - EDGE) * sr)), 0)
    end = min(int(round((last + EDGE) * sr)), len(out))
    return out[begin:end], {k: moved(truth[k]) - begin / sr for k in ("s1", "s2")}
