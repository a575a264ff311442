"""Shared anatomy of hbclf's transformers.

Markers that the rest of the library reads instead of keeping lists:

* :class:`LearnsNothingMixin`: ``fit`` learns nothing from the data (it
  validates parameters and, at most, records shapes), so the transformer's
  output can be computed once per recording and shared by every fold and
  model without leaking a test fold (:func:`hbclf.pipelines.split_stateless`);
* :class:`RecordingTransformerMixin`: reads recordings (paths or waveforms);
* :class:`NoTableOutputMixin`: returns waveforms, frame sequences or 3-D
  images, which have no table form: scikit-learn's pandas or polars output
  (``set_output`` or ``set_config(transform_output=...)``) leaves them as they
  are, and the next table-making step (:class:`~hbclf.features.TimeSummary`)
  gives the DataFrame.

:func:`hbclf.discovery.all_estimators` finds every estimator of hbclf; the
skops allow-list of :mod:`hbclf.model_files` and the estimator checks in the
tests are derived from it.
"""

from __future__ import annotations

__all__ = ["LearnsNothingMixin", "NoTableOutputMixin", "RecordingTransformerMixin"]


class LearnsNothingMixin:
    """Marker: ``fit`` learns nothing from the data; the output depends on one recording."""


class RecordingTransformerMixin(LearnsNothingMixin):
    """Transformers that read recordings (file paths or waveforms) and learn nothing."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.string = True
        return tags


class NoTableOutputMixin:
    """Transformers whose output has no table form: never wrapped in a DataFrame.

    scikit-learn wraps ``transform`` of every transformer with
    ``get_feature_names_out`` so that ``set_config(transform_output="pandas")``
    turns its output into a DataFrame; a ragged array of matrices cannot be
    one. This mixin opts the class and its subclasses out of that wrapping and
    accepts ``set_output`` (so ``Pipeline.set_output`` reaches the later
    steps) without changing the output.
    """

    def __init_subclass__(cls, **kwargs):
        kwargs["auto_wrap_output_keys"] = None
        super().__init_subclass__(**kwargs)

    def set_output(self, *, transform=None):
        """Accepted for pipelines; the output stays as it is (it has no table form)."""
        return self
