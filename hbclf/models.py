"""Trained models as safe files: save, load, train, and the shipped default model.

A model is a folder:

* ``card.json``: what the model is (task, classes, training data, the
  pipeline's parameters, library versions, grouped-CV scores) and the
  SHA-256 of every other file;
* ``pipeline.skops``: the scikit-learn part, in skops' format, which
  rebuilds objects from a declared list of types and never unpickles;
* for a network, ``network.keras`` (Keras' native format, loaded with
  ``safe_mode=True``) and ``network.json`` (the wrapper's parameters,
  classes and standardisation arrays).

Loading refuses a folder whose files do not match the card's checksums, a
skops file naming any type outside :data:`TRUSTED_TYPES` (the payload of a
malicious file is never executed), and anything that is not such a folder.

>>> from hbclf.models import read_card, default_model_path
>>> read_card(default_model_path())["classes"]
['artifact', 'extrahls', 'extrastole', 'murmur', 'normal']
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path

__all__ = [
    "ModelFileError",
    "TRUSTED_TYPES",
    "default_model_path",
    "load_model",
    "read_card",
    "save_model",
    "train",
]

CARD, PIPELINE, NETWORK, NETWORK_META = "card.json", "pipeline.skops", "network.keras", \
    "network.json"
FORMAT = "hbclf-model/1"

#: Types a model file may name beyond those skops trusts by default.
TRUSTED_TYPES = (
    "hbclf.features.AudioReader",
    "hbclf.features.MFCC",
    "hbclf.features.LogMel",
    "hbclf.features.SpectralFeatures",
    "hbclf.features.TimeSummary",
    "hbclf.features.FixedLength",
    "hbclf.features.Origin",
    "hbclf.heartbeat.RhythmFeatures",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)


class ModelFileError(ValueError):
    """A model folder that is missing, foreign, tampered with or unsafe."""


def default_model_path():
    """Folder of the model shipped with hbclf."""
    return Path(__file__).resolve().parent / "models" / "default"


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_card(path):
    """The model card of a model folder (no model is loaded).

    Raises
    ------
    ModelFileError
        Not a model folder, or a card that is not hbclf's.
    """
    path = Path(path)
    card_file = path / CARD if path.is_dir() else path
    if not card_file.is_file():
        raise ModelFileError(f"{path}: not an hbclf model folder (no {CARD})")
    try:
        card = json.loads(card_file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{card_file}: not a model card ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelFileError(f"{card_file}: not an hbclf model card (format {FORMAT!r} expected)")
    return card


def _versions():
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("hbclf", "scikit-learn", "numpy", "librosa", "skops", "keras", "tensorflow-cpu",
                "tensorflow", "scikeras"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def save_model(pipe, path, *, card=None):
    """Write a fitted Pipeline as a safe model folder.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        Fitted; its last step may be an :mod:`hbclf.neural` network.
    path : str or path-like
        Folder to create (replaced if it holds a model).
    card : dict, optional
        Extra card entries (task, scores, training data, ...).

    Returns
    -------
    dict
        The card written.
    """
    import skops.io as sio

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stale in (PIPELINE, NETWORK, NETWORK_META):
        (path / stale).unlink(missing_ok=True)
    last = pipe.steps[-1][1]
    is_net = type(last).__module__ == "hbclf.neural"
    files = {}
    if is_net:
        import numpy as np

        sio.dump(pipe[:-1], path / PIPELINE)
        last.model_.save(path / NETWORK)
        meta = {
            "class": type(last).__name__,
            "params": {k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in last.get_params().items()},
            "classes": [str(c) for c in last.classes_],
            "input_shape": list(last.X_shape_[1:]),
            "mean": np.asarray(last.feature_encoder_.mean_).ravel().tolist(),
            "scale": np.asarray(last.feature_encoder_.scale_).ravel().tolist(),
        }
        (path / NETWORK_META).write_text(json.dumps(meta))
        files = {NETWORK: None, NETWORK_META: None}
        classes = meta["classes"]
    else:
        sio.dump(pipe, path / PIPELINE)
        classes = [str(c) for c in pipe.classes_]
    files[PIPELINE] = None
    full = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%d"),
        "classes": classes,
        "steps": [f"{name}: {' '.join(repr(step).split())}" for name, step in pipe.steps],
        "versions": _versions(),
        **(card or {}),
        "files": {name: _sha256(path / name) for name in sorted(files)},
    }
    (path / CARD).write_text(json.dumps(full, indent=2) + "\n")
    return full


def _check_files(path, card):
    listed = card.get("files")
    if not isinstance(listed, dict) or PIPELINE not in listed:
        raise ModelFileError(f"{path}: the card lists no model files")
    for name, digest in listed.items():
        f = path / name
        if name not in (PIPELINE, NETWORK, NETWORK_META) or not f.is_file():
            raise ModelFileError(f"{path}: model file {name} is missing or unexpected")
        if _sha256(f) != digest:
            raise ModelFileError(f"{f}: does not match the checksum in its card (tampered?)")


def _load_skops(f):
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=f)
    except Exception as exc:  # a foreign or corrupt file: skops' own message
        raise ModelFileError(f"{f}: not a skops model file ({type(exc).__name__})") from None
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown:
        raise ModelFileError(f"{f}: refuses to load untrusted types {unknown}")
    return sio.load(f, trusted=list(untrusted))


def load_model(path=None):
    """Load a model folder written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like, optional
        The folder; default the shipped model.

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        Ready to ``predict`` / ``predict_proba`` on file paths.
    card : dict

    Raises
    ------
    ModelFileError
        Missing, foreign, tampered or unsafe files.
    """
    path = Path(default_model_path() if path is None else path)
    card = read_card(path)
    _check_files(path, card)
    head = _load_skops(path / PIPELINE)
    if NETWORK not in card["files"]:
        if not hasattr(head, "predict_proba"):
            raise ModelFileError(f"{path}: the model gives no class probabilities")
        return head, card
    return _with_network(head, path, card), card


def _with_network(head, path, card):
    import keras
    import numpy as np
    from sklearn.pipeline import Pipeline

    from . import neural

    meta = json.loads((path / NETWORK_META).read_text())
    Net = {"CNNClassifier": neural.CNNClassifier, "RNNClassifier": neural.RNNClassifier}.get(
        meta.get("class"))
    if Net is None:
        raise ModelFileError(f"{path}: unknown network class {meta.get('class')!r}")
    params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in meta["params"].items()}
    net = Net(**params)
    classes = np.array(meta["classes"], dtype=object)
    shape = meta["input_shape"]
    # build the wrapper (encoders, an untrained network of the right shape) on dummy data
    net.initialize(np.zeros((len(classes), *shape), np.float32), classes)
    try:
        saved = keras.models.load_model(path / NETWORK, safe_mode=True, compile=False)
    except Exception as exc:
        raise ModelFileError(f"{path / NETWORK}: not a safe Keras model ({exc})") from None
    if [w.shape for w in saved.get_weights()] != [w.shape for w in net.model_.get_weights()]:
        raise ModelFileError(f"{path / NETWORK}: architecture differs from its card")
    net.model_.set_weights(saved.get_weights())
    net.feature_encoder_.mean_ = np.array(meta["mean"], np.float32).reshape(-1, 1)
    net.feature_encoder_.scale_ = np.array(meta["scale"], np.float32).reshape(-1, 1)
    return Pipeline(list(head.steps) + [("clf", net)])


def train(task="all", model="logreg_rhythm", out=None, *, cv=5, seed=0, data_home=None,
          physionet_home=None, log=print):
    """Fit a registry model on every labelled recording of a task and save it.

    The card records the model's scores under the task's first protocol
    (grouped ``cv``-fold, out of fold, mean over folds), computed by
    :func:`hbclf.tasks.evaluate_fold` exactly as the benchmark harness does,
    before the final fit on everything.

    Parameters
    ----------
    task : str, default="all"
        A name of :func:`hbclf.tasks.names`: ``"all"`` is PASCAL sets A and
        B, five classes; ``"binary"`` normal vs abnormal, no artifact.
    model : str, default="logreg_rhythm"
        A name of :func:`hbclf.pipelines.names`.
    out : path-like
        Folder to write.
    cv : int, default=5
        Grouped folds for the card's scores (PASCAL tasks).
    seed : int, default=0
    data_home, physionet_home : path-like, optional
        See :meth:`hbclf.tasks.Task.load`.

    Returns
    -------
    dict
        The card.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import Pipeline

    from . import pipelines, tasks
    from .datasets import CITATION, PHYSIONET_CITATION

    t = tasks.get(task)
    data = t.load(data_home=data_home, physionet_home=physionet_home)
    X, y, groups = data.filenames, data.y, data.groups
    pipe = pipelines.make(model, random_state=seed)
    featurizer, head = pipelines.split_stateless(pipe)
    t0 = time.perf_counter()
    # feature extraction learns nothing: computed once, shared by the CV folds and the fit
    F = featurizer.fit_transform(X) if featurizer is not None else X
    protocol = t.protocols(cv=cv if t.kfold is None else None)[0]
    fold, _ = tasks.make_folds(protocol, y, groups, data.origin, seed=seed)
    per_fold = []
    for k in np.unique(fold):
        _, rec = tasks.evaluate_fold(task, clone(head), F, y, groups, np.flatnonzero(fold != k),
                                     np.flatnonzero(fold == k), seed=seed)
        per_fold.append(rec["scores"])
    names = sorted(set().union(*per_fold))
    scores = {k: round(float(np.nanmean([s.get(k, np.nan) for s in per_fold])), 4)
              for k in names}
    log(f"{protocol}: balanced accuracy {scores['balanced_accuracy']:.3f} (mean over folds)")
    if not hasattr(head, "predict_proba"):  # SVC: Platt scaling on grouped internal folds
        from sklearn.calibration import CalibratedClassifierCV

        splits = list(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
                      .split(np.zeros(len(y)), y, groups))
        head.steps[-1] = (head.steps[-1][0], CalibratedClassifierCV(head.steps[-1][1],
                                                                    cv=splits))
    head.fit(F, y)
    pipe = Pipeline((featurizer.steps if featurizer is not None else []) + head.steps)
    counts = {str(k): int(v) for k, v in zip(*np.unique(y, return_counts=True))}
    preprocessing = {"audio": f"hbclf.io.load_audio(path, sr={data.sr}, mono=True)"}
    if featurizer is not None:
        preprocessing.update({
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in sorted(featurizer.get_params(deep=True).items())
            if isinstance(v, (int, float, str, tuple, type(None))) and "__" in k
        })
    physionet = t.dataset == "physionet"
    card = {
        "model": model,
        "task": task,
        "training_data": {
            "dataset": t.title,
            "recordings": int(len(y)), "groups": int(len(set(groups))),
            "origins": sorted(set(data.origin)),
            "per_class": counts, "rate_hz": data.sr,
            "citation": PHYSIONET_CITATION if physionet else CITATION,
        },
        "preprocessing": preprocessing,
        "cv": {"protocol": protocol,
               "scheme": f"StratifiedGroupKFold(n_splits={len(per_fold)}, shuffle=True, "
                         f"random_state={seed}) on the task's groups; scores are means over "
                         "folds of out-of-fold predictions",
               "scores": scores},
        "training_seconds": round(time.perf_counter() - t0, 1),
        "command": f"hbclf train --task {task} --model {model} --out <dir>",
    }
    return save_model(pipe, out, card=card)
