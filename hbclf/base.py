"""Shared anatomy of hbclf's transformers.

Two markers that the rest of the library reads instead of keeping lists:

* :class:`LearnsNothingMixin`: ``fit`` learns nothing from the data (it
  validates parameters and, at most, records shapes), so the transformer's
  output can be computed once per recording and shared by every fold and
  model without leaking a test fold (:func:`hbclf.pipelines.split_stateless`);
* :class:`RecordingTransformerMixin`: reads recordings (paths or waveforms).

:func:`hbclf.discovery.all_estimators` finds every estimator of hbclf; the
skops allow-list of :mod:`hbclf.model_files` and the estimator checks in the
tests are derived from it.
"""

from __future__ import annotations

__all__ = ["LearnsNothingMixin", "RecordingTransformerMixin"]


class LearnsNothingMixin:
    """Marker: ``fit`` learns nothing from the data; the output depends on one recording."""


class RecordingTransformerMixin(LearnsNothingMixin):
    """Transformers that read recordings (file paths or waveforms) and learn nothing."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.string = True
        return tags

    def set_output(self, *, transform=None):
        """Accepted for pipelines; waveforms and frame sequences have no table form
        (a later :class:`~hbclf.features.TimeSummary` gives one), so the output stays
        as it is."""
        return self
