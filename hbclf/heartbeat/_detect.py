"""S1/S2 detection: envelopes, candidate cycles, learned-emission HSMM, long ones in blocks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ._annotations import annotation_cues
from ._envelopes import ENV_RATE, WORK_RATE, _standardise_columns, _to_work_rate, frame_envelopes
from ._hsmm import decode, expected_systole
from ._voice import voice_like

__all__ = ["Heartbeats", "detect"]

MIN_RATE, MAX_RATE = 40.0, 220.0  # bpm
MIN_CYCLE, MAX_CYCLE = 60.0 / MAX_RATE, 60.0 / MIN_RATE
BLOCK, OVERLAP = 60.0, 6.0  # s: recordings longer than BLOCK + OVERLAP are segmented by blocks
N_CANDIDATES = 4
# standard errors by which the S1-to-S2 interval must follow the beat-to-beat interval more than
# diastole does (slope over 0.5) before S1 and S2 are swapped against the sounds' own evidence
SWAP_EVIDENCE = 3.0
MIN_MODULATION = 0.05  # an envelope this flat has no sounds in it (a tone, a hum)
STRONG_MODULATION = 0.4  # no stationary noise modulates its envelope this much
# nats per beat: a log-likelihood margin of twice this maps to a confidence of tanh(1) = 0.76
CONFIDENCE_SCALE = 5.0
SOUND_GATE = 0.3  # duration confidence below which the sounds' own shape tells S1 from S2
TIMING_VETO = 1.0  # ... unless the timing says the reading is right by this many standard errors
SHORT = 3.0  # s: a shorter recording holds too few cycles for its periodicity to tell noise apart


@dataclass
class Heartbeats:
    """What :func:`detect` found in a recording.

    Attributes
    ----------
    s1, s2 : ndarray of float
        Times (s) of each first and second heart sound.
    heart_rate : float or None
        Beats per minute, None when no rhythm was found: the autocorrelation's
        cycle that decoded best, or the decoded beats' rate where they differ
        from it by over 10%.
    intervals : ndarray
        Beat-to-beat (S1 to next S1) intervals, s.
    systole, diastole : ndarray
        S1-to-S2 and S2-to-next-S1 durations, s.
    quality : float
        0-1, the envelope's autocorrelation at one cycle (how periodic the sounds are).
    confidence : float
        0-1, how sure the rate and the S1/S2 assignment are: the smaller of
        the two. The rate's is the decoded log-likelihood margin per beat over
        the best reading at another cycle length (such as half or double),
        mapped by ``tanh(margin / 10)`` (1 when no other length was a
        candidate). The assignment's is the larger of the same mapping of the
        margin over the cycle decoded with systole and diastole swapped, and
        of how clearly the S1-to-S2 interval follows the beat-to-beat changes
        less than diastole does (0.5 when a steady rhythm cannot tell). A
        ranking, not a calibrated probability; 0 when nothing was detected.
    reason : str or None
        Why nothing was detected; None when beats were found.
    envelope : ndarray
        The standardised homomorphic envelope at ``envelope_rate`` Hz (for plots).
    states : ndarray of int
        The decoded state of each envelope frame (0 S1, 1 systole, 2 S2,
        3 diastole; -1 where nothing was decoded).
    """

    s1: np.ndarray = field(default_factory=lambda: np.empty(0))
    s2: np.ndarray = field(default_factory=lambda: np.empty(0))
    heart_rate: float | None = None
    intervals: np.ndarray = field(default_factory=lambda: np.empty(0))
    systole: np.ndarray = field(default_factory=lambda: np.empty(0))
    diastole: np.ndarray = field(default_factory=lambda: np.empty(0))
    quality: float = 0.0
    confidence: float = 0.0
    reason: str | None = None
    envelope: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    envelope_rate: int = ENV_RATE
    states: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int), repr=False)

    @property
    def detected(self):
        """True when beats were found."""
        return self.reason is None and len(self.s1) > 0

    def as_dict(self):
        """JSON-ready summary (times rounded to ms)."""
        r = lambda a: [round(float(v), 3) for v in a]  # noqa: E731
        return {
            "detected": self.detected,
            "heart_rate": None if self.heart_rate is None else round(self.heart_rate, 1),
            "s1": r(self.s1), "s2": r(self.s2),
            "quality": round(float(self.quality), 3),
            "confidence": round(float(self.confidence), 3),
            "reason": self.reason,
        }


def _none(reason, quality=0.0, envelope=None):
    env = np.empty(0) if envelope is None else envelope
    return Heartbeats(reason=reason, quality=float(quality), envelope=env,
                      states=np.full(len(env), -1))


def _autocorrelation(x):
    from scipy.fft import irfft, next_fast_len, rfft

    e = x - x.mean()
    n = len(e)
    spec = rfft(e, next_fast_len(2 * n))
    ac = irfft(spec * np.conj(spec))[:n]
    return ac / (ac[0] + 1e-12)


def _vertex(x, k):
    """Offset (-0.5 to 0.5 samples) of the vertex of the parabola through ``x[k-1:k+2]``."""
    a, b, c = x[k - 1], x[k], x[k + 1]
    curve = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / curve, -0.5, 0.5)) if curve < 0 else 0.0


def _candidates(ac):
    """Candidate cycles (s) and the autocorrelation at each, strongest first.

    The local maxima of the envelope's autocorrelation between 0.27 s and 1.5 s
    (220 and 40 bpm), at least half as strong as the strongest, and the half and
    double of the strongest (the usual errors: the S1-S2 lag taken for a cycle,
    or every other beat). Lags are refined by parabolic interpolation.
    """
    from scipy.signal import find_peaks

    lo = int(np.floor(MIN_CYCLE * ENV_RATE))
    hi = min(int(np.ceil(MAX_CYCLE * ENV_RATE)), len(ac) - 2)
    if hi <= lo:
        return []
    peaks, _ = find_peaks(ac[: hi + 1])
    peaks = peaks[(peaks >= lo) & (ac[peaks] > 0)]
    if len(peaks) == 0:
        peaks = np.array([lo + int(np.argmax(ac[lo:hi + 1]))])
    peaks = peaks[np.argsort(-ac[peaks], kind="stable")]
    strongest = peaks[0]
    keep = [k for k in peaks if ac[k] >= 0.5 * ac[strongest]][:N_CANDIDATES]
    for m in (0.5, 2.0):
        target = strongest * m
        near = peaks[np.abs(peaks - target) <= max(0.1 * target, 1.5)]
        if len(near) and not any(k in keep for k in near):
            keep.append(near[np.argmax(ac[near])])
    return [((k + _vertex(ac, k)) / ENV_RATE, float(max(ac[k], 0.0))) for k in keep]


def _sound_times(env, labels, state):
    """Time of the envelope maximum in every segment of ``state``.

    Frame ``k`` is centred at ``(k + 0.5) / ENV_RATE`` s; the maximum is refined
    between frames by a parabola through it and its neighbours, so times do
    not move by whole 20 ms frames with the input rate. A segment cut by
    either end of the recording whose maximum is its very first or last frame
    holds no peak (the sound lies outside), so it gives no time.
    """
    edges = np.flatnonzero(np.diff(np.r_[-1, labels, -1]) != 0)
    times = []
    for a, b in zip(edges[:-1], edges[1:]):
        if labels[a] != state:
            continue
        peak = a + int(np.argmax(env[a:b]))
        if (peak == 0 and a == 0) or (peak == len(env) - 1 and b == len(env)):
            continue
        shift = _vertex(env, peak) if 0 < peak < len(env) - 1 else 0.0
        times.append((peak + 0.5 + shift) / ENV_RATE)
    return np.array(times)


_SWAP = np.array([2, 3, 0, 1])  # S1 <-> S2, systole <-> diastole


def _systole_rr_slope(s1, s2):
    """Slope of the S1-to-S2 interval on the S1-to-S1 interval, its standard error, and cycles.

    Systole barely follows the heart's beat-to-beat changes (slope about
    0.1-0.2), diastole takes the rest (slope 1 minus systole's): a reading with
    S1 and S2 swapped has a slope near 0.8-0.9.
    """
    x, y = [], []
    for a, b in zip(s1[:-1], s1[1:]):
        inside = s2[(s2 > a) & (s2 < b)]
        if len(inside) == 1:
            x.append(b - a)
            y.append(inside[0] - a)
    x, y = np.array(x), np.array(y)
    if len(x) < 4 or np.ptp(x) <= 0:
        return np.nan, np.nan, len(x)
    xc = x - x.mean()
    slope = float(xc @ (y - y.mean()) / (xc @ xc))
    resid = y - y.mean() - slope * xc
    se = float(np.sqrt(resid @ resid / (len(x) - 2) / (xc @ xc)))
    return slope, se, len(x)


def _narrower_and_higher(y, sr, s1, s2):
    """True when the sounds read as S1 are, in the median, both narrower (half-maximum width)
    and higher-pitched (spectral centroid) than those read as S2 (:func:`annotation_cues`):
    in most hearts S1 is the broader, lower sound."""
    if len(s1) < 2 or len(s2) < 2:
        return False
    c = annotation_cues(y, sr, {"s1": s1, "s2": s2})
    return bool(c["s1_width_ms"] < c["s2_width_ms"] and c["s1_centroid_hz"] > c["s2_centroid_hz"])


def _sure(margin):
    """A log-likelihood margin per beat (nats) mapped to 0-1: 0 a tie (or worse), 1 certain."""
    return float(np.clip(np.tanh(margin / (2.0 * CONFIDENCE_SCALE)), 0.0, 1.0))


def _timing_confidence(slope, se):
    """0-1 from how clearly the S1-to-S2 interval follows the beats less than diastole does
    (0.5 where it cannot be told: a steady rhythm, or under four cycles)."""
    if not np.isfinite(slope) or not np.isfinite(se) or se == 0:
        return 0.5
    return float(0.5 * (1.0 + np.tanh((0.5 - slope) / se / 2.0)))


def _modulation(homomorphic):
    """Coefficient of variation of the raw homomorphic envelope, 0.25 s in from each end."""
    inner = homomorphic[ENV_RATE // 4: len(homomorphic) - ENV_RATE // 4]
    return float(inner.std() / (inner.mean() + 1e-12)) if len(inner) > 4 else 0.0


def _noise_level(seconds, modulation):
    """Autocorrelation at one cycle above which a rhythm is more than noise.

    The strongest autocorrelation peak between 0.27 and 1.5 s of a noise
    envelope shrinks like one over the square root of the recording's length:
    0.9 / sqrt(seconds) is above every one of 100 draws each of white, pink
    and brown noise at each of 3, 5, 8, 15, 30 and 60 s (1800 in all; the
    largest, 0.43 at 3 s, is 0.83 / sqrt(3)). Stationary noise also has a
    flat envelope (coefficient of variation at most 0.25 in those draws;
    heart recordings 0.6-2.4, median 1.0, in 400 PhysioNet ones), so a
    strongly modulated envelope (over 0.4) needs half that periodicity.
    """
    bound = 0.9 / np.sqrt(seconds)
    return 0.5 * bound if modulation >= STRONG_MODULATION else bound


@dataclass
class _Block:
    s1: np.ndarray
    s2: np.ndarray
    cycle: float | None
    quality: float
    reason: str | None
    envelope: np.ndarray
    states: np.ndarray
    rate_confidence: float = 0.0
    assignment_confidence: float = 0.0


def _segment_block(y, sr, segmenter):
    """Beats of one stretch of audio (at most a minute or so)."""
    x = _to_work_rate(y, sr)
    raw = frame_envelopes(x, WORK_RATE, standardise=False)
    env = _standardise_columns(raw)
    homomorphic = env[:, 0]
    seconds = len(env) / ENV_RATE

    def nothing(reason, quality=0.0):
        return _Block(np.empty(0), np.empty(0), None, quality, reason, homomorphic,
                      np.full(len(env), -1))

    modulation = _modulation(raw[:, 0])
    if modulation < MIN_MODULATION:
        return nothing("no heart sounds (flat envelope)")
    voiced, low, voice = voice_like(x)
    if voice:
        return nothing(f"a voice or music, not heart sounds: {voiced:.0%} of its louder frames "
                       f"voiced, {1 - low:.0%} of its power above 150 Hz")
    candidates = _candidates(_autocorrelation(homomorphic))
    if not candidates:
        return nothing(f"too short for two beats ({seconds:.2f} s)")
    if seconds < SHORT:
        # noise autocorrelates as much as a heart over a few cycles: only an envelope more
        # modulated than any stationary noise's is read, and each lag's autocorrelation is
        # taken over the frames that overlap at it (at a 1 s lag a 1.5 s recording overlaps
        # for a third of its length) and held to the level of a recording of SHORT seconds
        if modulation < STRONG_MODULATION:
            return nothing(f"too short to tell a heart rhythm from noise ({seconds:.2f} s)")
        n = len(homomorphic)
        candidates = [(c, min(1.0, q * n / max(n - c * ENV_RATE, 1.0))) for c, q in candidates]
    quality = max(q for _, q in candidates)
    if quality < _noise_level(max(seconds, SHORT), modulation):
        return nothing(f"no heart rhythm found (periodicity {quality:.2f})", quality)
    log_emission = segmenter.log_emission(env)
    readings = []  # (log-likelihood, cycle, periodicity, labels)
    for cycle, periodicity in candidates:
        if seconds < min(2 * cycle, cycle + 0.25):  # two S1s, each whole
            continue
        labels, log_likelihood = decode(log_emission, cycle, expected_systole(60.0 / cycle))
        readings.append((log_likelihood, cycle, periodicity, labels))
    if not readings:
        return nothing(f"too short for two beats ({seconds:.2f} s)", quality)
    best_ll, cycle, periodicity, labels = max(readings, key=lambda r: r[0])
    s1 = _sound_times(homomorphic, labels, 0)
    beats = max(len(s1), 1)
    rivals = [ll for ll, c, _, _ in readings if abs(c - cycle) > 0.1 * cycle]
    rate_confidence = _sure((best_ll - max(rivals)) / beats) if rivals else 1.0
    # the same cycle with the durations of S1 and S2 swapped (systole the longer interval)
    systole = expected_systole(60.0 / cycle)
    swapped_ll = (decode(log_emission, cycle, cycle - systole)[1]
                  if 0.12 <= cycle - systole <= 0.6 else -np.inf)
    s2 = _sound_times(homomorphic, labels, 2)
    slope, se, _ = _systole_rr_slope(s1, s2)
    by_durations = _sure((best_ll - swapped_ll) / beats)
    # swapped when the "systole" follows the beats (it is the diastole); or where neither the
    # durations (systole near diastole) nor the timing can tell, when the sounds read as S1 sound
    # like S2s (on PhysioNet 2016 the timing contradicted 107 of 144 such swaps without the veto)
    z = (slope - 0.5) / se if se > 0 else np.nan  # > 0: the "systole" follows the beats
    swap = z > SWAP_EVIDENCE
    if not swap and by_durations < SOUND_GATE and not z < -TIMING_VETO:
        swap = _narrower_and_higher(y, sr, s1, s2)
    if swap:
        labels = np.where(labels >= 0, _SWAP[np.maximum(labels, 0)], -1)
        s1, s2, by_durations = (_sound_times(homomorphic, labels, 0),
                                _sound_times(homomorphic, labels, 2), 0.0)
        slope, se, _ = _systole_rr_slope(s1, s2)
    return _Block(s1, s2, cycle, periodicity, None,
                  homomorphic, labels, rate_confidence,
                  max(by_durations, _timing_confidence(slope, se)))


def _blocks(n_samples, sr):
    """(start, end, keep_from, keep_to) sample bounds of overlapping blocks over a recording."""
    if n_samples <= (BLOCK + OVERLAP) * sr:
        return [(0, n_samples, 0, n_samples)]
    step = int(BLOCK * sr)
    half = int(OVERLAP * sr / 2)
    out = []
    for start in range(0, n_samples, step):
        end = min(start + step, n_samples)
        if n_samples - end < step // 4:  # fold a short tail into this block
            end = n_samples
        out.append((max(start - half, 0), min(end + half, n_samples), start, end))
        if end == n_samples:
            break
    return out


_CHUNK = 1 << 20  # samples: a long recording is checked chunk by chunk (no full-size copies)


def _all_finite(y):
    """No NaN or inf (a float64 sum of float samples overflows only if one is inf)."""
    return bool(np.isfinite(np.sum(y, dtype=np.float64)))


def _count_at_least(y, level):
    return sum(int(np.count_nonzero(np.abs(y[i:i + _CHUNK]) >= level))
               for i in range(0, y.size, _CHUNK))


def detect(y, sr, *, segmenter=None):
    """Find the S1 and S2 sounds of a phonocardiogram.

    The recording is resampled to 1 kHz and described by five envelopes at
    50 frames per second (:func:`frame_envelopes`); a learned emission model
    (:class:`Segmenter`, the shipped one by default) says how much each frame
    looks like S1, systole, S2 or diastole; a hidden semi-Markov model decodes
    the most likely sequence for each candidate cycle length from the
    envelope's autocorrelation (40-220 bpm, with the half and double of the
    strongest), and the candidate with the highest decoded likelihood wins.
    S1 and S2 are then swapped when the decoded S1-to-S2 interval follows the
    beat-to-beat interval (as diastole does), or when the durations barely
    prefer the reading (systole near diastole, as at children's rates) and
    the sounds read as S1 are both narrower and higher-pitched than those
    read as S2 (:func:`annotation_cues`: S1 is usually the broader, lower one).
    Recordings over 66 s are segmented in 60 s blocks (6 s overlap), each with
    its own heart rate, so memory stays bounded and the rate may drift. Under
    3 s (down to 1.5 s, or two whole beats) periodicity cannot tell a heart
    from noise: only a strongly modulated envelope is read there. A voice (or
    music) is refused before any decoding: over 30 % of its louder 80 ms
    frames repeat at a speaking voice's pitch period (80-250 Hz) and under
    60 % of its 25-450 Hz power lies below 150 Hz, where heart sounds lie.

    Parameters
    ----------
    y : array-like
        Waveform (any scale), mono.
    sr : int
        Its rate in Hz (1 kHz or more).
    segmenter : Segmenter, optional
        Emission model; default the shipped one (:func:`default_segmenter`,
        read without scikit-learn).

    Returns
    -------
    Heartbeats
        Treat it as read-only: with the shipped segmenter, the last few
        recordings' results are remembered (keyed by a hash of the samples)
        and handed out again, so that the features and the command line that
        segment one recording do it once. With ``reason`` set, and no beats,
        when the recording is empty, silent or constant, shorter than two
        beats, heavily clipped (over 5 % of its samples at full scale: 1 for
        samples in [-1, 1], else the recording's own peak), below 1 kHz, or shows
        no rhythm above what noise gives (noise, a tone), or is a voice or
        music.

    Raises
    ------
    ValueError
        ``y`` has more than one channel (average them first).

    Examples
    --------
    >>> import numpy as np
    >>> detect(np.zeros(8000), 4000).reason
    'silent recording'
    """
    from ._emission import shipped_emission

    y = np.asarray(y)
    if y.ndim != 1:
        if sum(n > 1 for n in y.shape) > 1:
            raise ValueError(f"detect expects one channel, got an array of shape {y.shape}; "
                             "average the channels first")
        y = y.ravel()
    if not np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float64)
    if segmenter is not None:
        return _detect(y, sr, segmenter)
    key = _recording_key(y, sr)
    with _RECENT_LOCK:
        beats = _RECENT.pop(key, None)
        if beats is not None:
            _RECENT[key] = beats  # now the most recent
            return beats
    beats = _detect(y, sr, shipped_emission())
    with _RECENT_LOCK:
        _RECENT[key] = beats
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.pop(next(iter(_RECENT)))
    return beats


# the last few recordings segmented by the shipped model: the features and the command line
# that segment one recording one after another do it once
_RECENT, _RECENT_SIZE, _RECENT_LOCK = {}, 4, threading.Lock()


def _cycle_length(s1, cycles):
    """The heart cycle (s) of a recording from its blocks' winning candidates and its S1 times.

    The winning candidate cycle (the autocorrelation of the whole envelope, steadier than a
    few intervals), unless the decoded beats disagree by over 10% (the duration model let
    them move): then the mean of the S1-S1 intervals within 25% of their median. Where no
    interval is that near the median (two or three S1s, far apart), the candidate stands.
    """
    cycle = float(np.median(cycles))
    rr = np.diff(s1)
    near = rr[np.abs(rr - np.median(rr)) <= 0.25 * np.median(rr)]
    if near.size == 0:
        return cycle
    decoded = float(near.mean())
    return cycle if abs(decoded - cycle) <= 0.1 * cycle else decoded


def _recording_key(y, sr):
    """The samples' hash (no copy of a contiguous array), their type and the rate."""
    import hashlib

    digest = hashlib.blake2b(memoryview(np.ascontiguousarray(y)).cast("B"), digest_size=16)
    return digest.hexdigest(), y.dtype.str, y.size, float(sr)


def _detect(y, sr, segmenter):
    """:func:`detect` of a 1-D float waveform with a given emission model."""
    if y.size == 0 or not _all_finite(y):
        return _none("empty recording or non-finite samples")
    if sr < WORK_RATE:
        return _none(f"sample rate {sr} Hz is below {WORK_RATE} Hz")
    top, bottom = float(y.max()), float(y.min())
    peak = max(top, -bottom)
    if peak == 0:
        return _none("silent recording")
    if top == bottom:
        return _none("constant recording (no sound, only an offset)")
    duration = y.size / sr
    if duration < 2 * MIN_CYCLE + 0.2:
        return _none(f"too short for two beats ({duration:.2f} s)")
    # full scale: 1 for audio read as floats in [-1, 1]; for louder input (integer-scaled
    # samples) the scale is unknown, and the recording's own peak stands in for it
    full = 1.0 if peak <= 1.0 else peak
    if _count_at_least(y, 0.999 * full) > 0.05 * y.size:
        return _none("clipped recording (over 5% of samples at full scale)")
    s1, s2, env, states, cycles, qualities, reasons = [], [], [], [], [], [], []
    confidences = []
    for start, end, keep_from, keep_to in _blocks(y.size, sr):
        block = _segment_block(y[start:end], sr, segmenter)
        t0, lo, hi = start / sr, keep_from / sr, keep_to / sr
        f0, f1 = int(round((lo - t0) * ENV_RATE)), int(round((hi - t0) * ENV_RATE))
        env.append(block.envelope[f0:f1])
        states.append(block.states[f0:f1])
        qualities.append(block.quality)
        if block.reason is not None:
            reasons.append(block.reason)
            continue
        cycles.append(block.cycle)
        confidences += [block.rate_confidence, block.assignment_confidence]
        for out, times in ((s1, block.s1), (s2, block.s2)):
            times = times + t0
            out.append(times[(times >= lo) & (times < hi)])
    env, states = np.concatenate(env), np.concatenate(states)
    quality = float(np.median(qualities))
    if not cycles:
        return _none(reasons[0], quality, env)
    s1, s2 = np.concatenate(s1), np.concatenate(s2)
    if len(s1) < 2:
        return _none("fewer than two S1 sounds found", quality, env)
    systole = np.array([s2[s2 > a][0] - a for a in s1 if np.any(s2 > a)])
    diastole = np.array([s1[s1 > b][0] - b for b in s2 if np.any(s1 > b)])
    return Heartbeats(s1=s1, s2=s2, heart_rate=60.0 / _cycle_length(s1, cycles),
                      intervals=np.diff(s1), systole=systole, diastole=diastole,
                      quality=quality, confidence=min(confidences),
                      envelope=env, states=states)
