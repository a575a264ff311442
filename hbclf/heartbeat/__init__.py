"""Heartbeat detection: S1 and S2 locations, heart rate and rhythm features.

The method follows the field's reference, Springer et al. (2016), "Logistic
regression-HSMM-based heart sound segmentation" (IEEE TBME 63(4)), without its
trained emission model:

1. band-pass 25-400 Hz (4th-order Butterworth, zero phase);
2. homomorphic envelope (low-pass 8 Hz of the log Hilbert magnitude),
   sampled at 50 Hz and standardised;
3. heart rate and systolic interval from the envelope's autocorrelation
   (cycle: a peak between 0.3 s and 2 s, i.e. 30-200 bpm, that is followed
   by a second peak at the systole expected at that rate; systole: that
   second peak). Springer searches the systole below half a cycle, which
   fails above ~100 bpm, where systole is longer than diastole; here the
   search window comes from Weissler's QS2 regression (546 - 2.1 HR ms);
4. a four-state (S1, systole, S2, diastole) hidden semi-Markov model with
   Gaussian state durations (S1 122 +/- 22 ms, S2 94 +/- 22 ms, Springer's
   values; the S1-S2 interval from Weissler's regression at the detected
   rate, which placed S1 and S2 better on the annotated recordings than the
   autocorrelation's systole peak (``systole=`` chooses; the segmentation
   task reports that choice leave-one-recording-out); diastole the rest of the cycle,
   sd 7% of it), decoded with an explicit-duration Viterbi; the envelope's
   loudness is the emission (sounds loud, gaps quiet);
5. each S1 or S2 is placed at the envelope's maximum inside its segment.

The constants come from physiology, Springer et al., or noise (the
periodicity threshold); the one choice made while looking at the PASCAL
annotations is noted in step 4, so the segmentation scores are not a
held-out measurement of that choice. Input that is silent, too short for two
beats, heavily clipped, or without periodic heart sounds gives a
:class:`Heartbeats` with no beats and a ``reason``, never an exception.

>>> import numpy as np
>>> from hbclf.heartbeat import detect, synthetic_pcg
>>> y, truth = synthetic_pcg(heart_rate=72, seconds=8, sr=4000, seed=0)
>>> beats = detect(y, 4000)
>>> round(beats.heart_rate)
72
"""

from ._detect import (
    ENV_RATE,
    SYSTOLE_PRIORS,
    Heartbeats,
    detect,
    envelope,
    expected_systole,
)
from ._scoring import score_detection
from ._synthetic import synthetic_pcg

__all__ = [
    "ENV_RATE",
    "Heartbeats",
    "SYSTOLE_PRIORS",
    "detect",
    "envelope",
    "expected_systole",
    "score_detection",
    "synthetic_pcg",
]

Heartbeats.__module__ = __name__
