"""Four-state hidden semi-Markov model of the heart cycle; explicit-duration Viterbi decoding.

States: 0 S1, 1 systole, 2 S2, 3 diastole, always in that order. Durations are
Gaussian (Springer et al. 2016): S1 122 +/- 22 ms, S2 94 +/- 22 ms, systole and
diastole from the cycle and the systolic interval found for the recording.
"""

from __future__ import annotations

import numpy as np

from ._envelopes import ENV_RATE

S1_DURATION = (0.122, 0.022)  # mean, sd in seconds (Springer et al. 2016)
S2_DURATION = (0.094, 0.022)
N_STATES = 4


def expected_systole(heart_rate):
    """S1-to-S2 interval (s) expected at a heart rate, from Weissler's QS2 regression.

    Total electromechanical systole QS2 = 546 - 2.1 HR ms (Weissler et al.
    1968), less the ~45 ms from the Q wave to S1; never under 120 ms.

    Examples
    --------
    >>> round(expected_systole(60), 3)
    0.375
    """
    return max(0.546 - 0.0021 * heart_rate - 0.045, 0.12)


def durations(cycle, systole):
    """Means and standard deviations (frames) of the four states' durations.

    ``cycle`` is the S1-to-S1 interval and ``systole`` the S1-to-S2 interval,
    in seconds. Above about 150 bpm Springer's sound durations no longer fit
    in a cycle; they then shrink with it (S1 at most 30%, S2 at most 23% of
    the cycle), so a fast heart is not decoded at half its rate.
    """
    s1 = min(S1_DURATION[0], 0.30 * cycle)
    s2 = min(S2_DURATION[0], 0.23 * cycle)
    shrink = min(s1 / S1_DURATION[0], s2 / S2_DURATION[0])
    means = np.array([s1, max(systole - s1, 0.02), s2, max(cycle - systole - s2, 0.04)]) * ENV_RATE
    sds = np.array([S1_DURATION[1] * shrink, max(0.025 * shrink, 0.05 * systole),
                    S2_DURATION[1] * shrink, max(0.07 * cycle, 0.03 * shrink)]) * ENV_RATE
    return means, sds


def _duration_tables(means, sds):
    """Log density and log survival of each state's duration, 1..dmax frames (padded with -inf)."""
    from scipy.special import log_ndtr

    dmax = np.ceil(means + 4 * sds).astype(np.int64) + 1
    width = int(dmax.max())
    logp = np.full((N_STATES, width), -np.inf)
    logsf = np.full((N_STATES, width), -np.inf)
    for j in range(N_STATES):
        d = np.arange(1, dmax[j] + 1)
        z = (d - means[j]) / sds[j]
        logp[j, : dmax[j]] = -0.5 * z**2 - np.log(sds[j] * np.sqrt(2 * np.pi))
        logsf[j, : dmax[j]] = log_ndtr(-(z - 0.5 / sds[j]))  # P(duration >= d frames)
    return logp, logsf, dmax


_KERNEL = None


def _kernel():
    """The compiled Viterbi (numba, compiled on first use and cached on disk)."""
    global _KERNEL
    if _KERNEL is None:
        from numba import njit

        _KERNEL = njit(cache=True, nogil=True)(_viterbi_py)
    return _KERNEL


def _viterbi_py(cum, logp, logsf, dmax, start_logp):  # pragma: no cover - compiled by numba
    n = cum.shape[0] - 1
    delta = np.full((n + 1, 4), -np.inf)
    back_d = np.zeros((n + 1, 4), dtype=np.int64)
    back_p = np.zeros((n + 1, 4), dtype=np.int64)
    for t in range(1, n + 1):
        for j in range(4):
            prev = (j + 3) % 4
            best = -np.inf
            best_d = 1
            best_p = -1
            top = min(dmax[j], t)
            for d in range(1, top + 1):
                s = t - d
                emis = cum[t, j] - cum[s, j]
                # a segment cut by either end of the recording scores by its survival
                dur = logsf[j, d - 1] if (s == 0 or t == n) else logp[j, d - 1]
                if s > 0:
                    before = delta[s, prev]
                    p = prev
                else:
                    before = start_logp
                    p = -1
                score = before + dur + emis
                if score > best:
                    best = score
                    best_d = d
                    best_p = p
            delta[t, j] = best
            back_d[t, j] = best_d
            back_p[t, j] = best_p
    labels = np.empty(n, dtype=np.int64)
    j = 0
    for k in range(1, 4):
        if delta[n, k] > delta[n, j]:
            j = k
    total = delta[n, j]
    t = n
    while t > 0 and j >= 0:
        d = back_d[t, j]
        p = back_p[t, j]
        labels[t - d:t] = j
        t -= d
        j = p
    return labels, total


def decode(log_emission, cycle, systole):
    """Most likely state sequence, and its log-likelihood, for one cycle length.

    Parameters
    ----------
    log_emission : ndarray of shape (n_frames, 4)
        Log-likelihood of each frame under each state (up to a per-frame constant).
    cycle, systole : float
        S1-to-S1 and S1-to-S2 intervals (s) of the duration model.

    Returns
    -------
    labels : ndarray of int, shape (n_frames,)
    log_likelihood : float
    """
    means, sds = durations(cycle, systole)
    logp, logsf, dmax = _duration_tables(means, sds)
    cum = np.vstack([np.zeros((1, N_STATES)), np.cumsum(log_emission, axis=0)])
    labels, total = _kernel()(np.ascontiguousarray(cum), logp, logsf, dmax, np.log(0.25))
    return labels, float(total)
