"""Pictures for people who would rather look than read: waveform, envelope, S1/S2.

>>> from hbclf.heartbeat import detect, synthetic_pcg
>>> y, truth = synthetic_pcg(seed=0)
>>> fig = plot_heartbeats(y, 4000, detect(y, 4000), annotations=truth)
>>> len(fig.axes)
2
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_heartbeats"]


def plot_heartbeats(y, sr, beats, *, annotations=None, title=None, path=None, axes=None):
    """Waveform and envelope with detected (and annotated) S1/S2 marks.

    Parameters
    ----------
    y : ndarray
        Waveform.
    sr : int
        Its rate.
    beats : hbclf.heartbeat.Heartbeats
        What :func:`hbclf.heartbeat.detect` found.
    annotations : dict, optional
        ``{"s1": times, "s2": times}`` in seconds, drawn as dashed lines.
    title : str, optional
    path : str or path-like, optional
        Save the figure there as PNG.
    axes : pair of matplotlib Axes, optional
        Draw the waveform and the envelope there (e.g. in a figure of your
        own); by default a new figure is made.

    Returns
    -------
    matplotlib.figure.Figure
        A figure not registered with pyplot (no backend is chosen or changed):
        notebooks show it, ``fig.savefig`` writes it.
    """
    if axes is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4.5))
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
    else:
        ax1, ax2 = axes
        fig = ax1.figure

    t = np.arange(len(y)) / sr
    ax1.plot(t, y, lw=0.5, color="0.3")
    ax1.set_ylabel("signal")
    env = beats.envelope
    if len(env):
        # frame k is centred at (k + 1/2) / rate
        ax2.plot((np.arange(len(env)) + 0.5) / beats.envelope_rate, env, color="tab:blue", lw=1)
    states = getattr(beats, "states", np.empty(0))
    if len(states):  # shade the decoded S1 (red) and S2 (green) segments
        edges = np.flatnonzero(np.diff(np.r_[-1, states, -1]) != 0)
        for a, b in zip(edges[:-1], edges[1:]):
            if states[a] in (0, 2):
                ax2.axvspan(a / beats.envelope_rate, b / beats.envelope_rate, lw=0, alpha=0.15,
                            color="tab:red" if states[a] == 0 else "tab:green")
    ax2.set_ylabel("envelope, states")
    ax2.set_xlabel("time (s)")
    for ax in (ax1, ax2):
        for s, color in ((beats.s1, "tab:red"), (beats.s2, "tab:green")):
            for x in s:
                ax.axvline(x, color=color, lw=1.2, alpha=0.8)
        if annotations is not None:
            for key, color in (("s1", "tab:red"), ("s2", "tab:green")):
                for x in annotations.get(key, []):
                    ax.axvline(x, color=color, lw=1, ls="--", alpha=0.6)
    hr = "not detected" if beats.heart_rate is None else f"{beats.heart_rate:.0f} bpm"
    head = f"{title + ': ' if title else ''}heart rate {hr}, quality {beats.quality:.2f}"
    if beats.reason:
        head += f" ({beats.reason})"
    ax1.set_title(head + "   S1 red, S2 green" + (", annotations dashed" if annotations else ""))
    if axes is None:
        fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
