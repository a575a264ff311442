"""Every estimator hbclf defines, found rather than listed.

>>> from hbclf.discovery import all_estimators
>>> [name for name, _ in all_estimators(type_filter="transformer")][:3]
['AudioReader', 'CycleFeatures', 'FixedLength']

Adding a transformer to :mod:`hbclf.features` (and to its ``__all__``) is all
it takes for it to be found here, allowed in model files
(:func:`hbclf.model_files.trusted_types`), treated as learning nothing when
it carries :class:`hbclf.base.LearnsNothingMixin`, and run through
scikit-learn's estimator checks by the tests.
"""

from __future__ import annotations

import importlib
import inspect

__all__ = ["all_estimators"]

#: Public modules that define estimators; ``hbclf.neural`` needs the ``neural`` extra.
MODULES = ("hbclf.features", "hbclf.boosting", "hbclf.calibration", "hbclf.domains",
           "hbclf.windows", "hbclf.neural")


def all_estimators(type_filter=None, *, include_neural=True):
    """``(name, class)`` of every public hbclf estimator, sorted by name.

    Parameters
    ----------
    type_filter : {"transformer", "classifier"}, optional
        Keep only transformers or only classifiers.
    include_neural : bool, default=True
        Include the networks of :mod:`hbclf.neural` (imports TensorFlow) when
        the ``neural`` extra is installed.

    Returns
    -------
    list of (str, type)
    """
    from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

    found = {}
    for module_name in MODULES:
        if module_name == "hbclf.neural" and not include_neural:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # the optional extra is not installed
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[name] = obj
    kinds = {"transformer": TransformerMixin, "classifier": ClassifierMixin}
    if type_filter is not None and type_filter not in kinds:
        raise ValueError(f"type_filter must be one of {sorted(kinds)} or None")
    out = sorted(found.items())
    if type_filter is not None:
        out = [(n, c) for n, c in out if issubclass(c, kinds[type_filter])]
    return out
