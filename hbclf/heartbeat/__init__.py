"""Heartbeat detection: S1 and S2 locations, heart rate and rhythm features.

The method follows the field's reference, Springer et al. (2016), "Logistic
regression-HSMM-based heart sound segmentation" (IEEE TBME 63(4)):

1. resample to 1 kHz, band-pass 25-400 Hz, and compute five envelopes at 50
   frames per second (:func:`frame_envelopes`: homomorphic, Hilbert, and the
   log energy of three sub-bands), each standardised over the recording;
2. a learned emission model (:class:`Segmenter`: a multinomial logistic
   regression, as Springer's, and a 32-unit perceptron, their posteriors
   averaged, on each frame's envelopes and its neighbours', trained on
   annotated recordings; the shipped one on the 21 annotated set A
   recordings) gives each frame's likelihood under S1, systole, S2 and diastole;
3. candidate cycles (40-220 bpm) from the homomorphic envelope's
   autocorrelation, with the half and double of the strongest;
4. for each, a four-state hidden semi-Markov model with Gaussian durations
   (S1 122 +/- 22 ms, S2 94 +/- 22 ms, Springer's values; S1-to-S2 from
   Weissler's QS2 regression at that rate; diastole the rest of the cycle)
   decoded with an explicit-duration Viterbi; the candidate with the highest
   decoded likelihood wins;
5. where the decoded S1-to-S2 interval follows the beat-to-beat interval
   (slope over 0.5 by three standard errors), S1 and S2 are swapped: systole
   stays nearly constant while diastole takes the heart's changes;
6. each S1 or S2 is placed at the envelope's maximum inside its segment, and
   the reading gets a confidence (its log-likelihood margin per beat over the
   best reading at another rate and over the S1/S2-swapped one).

:func:`faster_heart` makes faster versions of annotated recordings (children's
rates) that keep the sounds' shape, to test a segmenter where systole and
diastole are nearly equal.

Input that is silent, too short for two beats, heavily clipped, or without a
rhythm above what noise of its length gives, yields a :class:`Heartbeats` with
no beats and a ``reason``, never an exception.

>>> from hbclf.heartbeat import detect, synthetic_pcg
>>> y, truth = synthetic_pcg(heart_rate=72, seconds=8, sr=4000, seed=0)
>>> beats = detect(y, 4000)
>>> round(beats.heart_rate)
72
"""

from ._annotations import annotation_cues
from ._detect import Heartbeats, detect
from ._envelopes import ENV_RATE, ENVELOPES, envelope, frame_envelopes
from ._hsmm import expected_systole
from ._scoring import score_detection
from ._emission import STATES, state_labels
from ._synthetic import synthetic_pcg
from ._variants import faster_heart

# these need scikit-learn, which detection itself does not: imported on first use (PEP 562)
_LEARNING = ("Segmenter", "annotated_recordings", "default_segmenter", "train_default_segmenter")


def __getattr__(name):
    if name in _LEARNING:
        from . import _segmenter

        return getattr(_segmenter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ENVELOPES",
    "ENV_RATE",
    "Heartbeats",
    "STATES",
    "Segmenter",
    "annotated_recordings",
    "annotation_cues",
    "default_segmenter",
    "detect",
    "envelope",
    "expected_systole",
    "faster_heart",
    "frame_envelopes",
    "score_detection",
    "state_labels",
    "synthetic_pcg",
    "train_default_segmenter",
]

Heartbeats.__module__ = __name__
