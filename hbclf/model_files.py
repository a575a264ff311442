"""Trained models as safe files: save, load, train, and the shipped default model.

A model is a folder:

* ``card.json``: what the model is (task, classes, training data, the
  pipeline's parameters, library versions, grouped-CV scores) and the
  SHA-256 of every other file;
* ``pipeline.skops``: the scikit-learn part, in skops' format, which
  rebuilds objects from a declared list of types and never unpickles;
* ``novelty.npz`` (numbers only, read with ``allow_pickle=False``): how far a
  recording's features may lie from the training recordings' before a
  prediction is "uncertain" (:class:`Novelty`);
* for a network, the files its estimator writes and reads itself
  (:meth:`hbclf.neural.CNNClassifier.save_network`): ``network.keras``
  (Keras' native format, loaded with ``safe_mode=True``) and
  ``network.json`` (parameters, classes, standardisation).

Loading refuses a folder whose files do not match the card's checksums, a
skops file naming any type outside :func:`trusted_types` (the payload of a
malicious file is never executed), and anything that is not such a folder.

>>> from hbclf.model_files import read_card, default_model_path
>>> read_card(default_model_path())["classes"]
['abnormal', 'normal']
"""

from __future__ import annotations

import copy
import hashlib
import json
import platform
import time
from pathlib import Path

import numpy as np

from .novelty import Novelty

__all__ = [
    "ModelFileError",
    "Novelty",
    "load_novelty",
    "trusted_types",
    "default_model_path",
    "load_model",
    "read_card",
    "save_model",
    "train",
]

CARD, PIPELINE, NETWORK, NETWORK_META = "card.json", "pipeline.skops", "network.keras", \
    "network.json"
NOVELTY = "novelty.npz"
FORMAT = "hbclf-model/1"

#: scikit-learn internals a fitted model holds that skops does not trust by default.
_SKLEARN_TYPES = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.tree._tree.Tree",
)


def trusted_types():
    """Types a model file may name beyond those skops trusts by default:
    every hbclf estimator but the networks (:func:`hbclf.discovery.all_estimators`)
    and a few scikit-learn internals."""
    from .discovery import all_estimators

    ours = [f"{cls.__module__}.{cls.__qualname__}"
            for _, cls in all_estimators(include_neural=False)]
    return tuple(sorted(ours)) + _SKLEARN_TYPES


class ModelFileError(ValueError):
    """A model folder that is missing, foreign, tampered with or unsafe."""


def default_model_path():
    """Folder of the model shipped with hbclf."""
    return Path(__file__).resolve().parent / "pretrained" / "default"


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


def load_novelty(path=None):
    """The :class:`Novelty` of a model folder, or None if it has none (networks, older models)."""
    path = Path(default_model_path() if path is None else path)
    digest = read_card(path).get("files", {}).get(NOVELTY)
    if digest is None:
        return None
    _check_file(path, NOVELTY, digest)  # only this file: load_model checks the others
    return Novelty.load(path / NOVELTY)


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


def save_model(pipe, path, *, card=None, novelty=None):
    """Write a fitted Pipeline as a safe model folder.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        Fitted; its last step may be an :mod:`hbclf.neural` network, bare or
        inside a :class:`hbclf.windows.WindowClassifier`.
    path : str or path-like
        Folder to create (replaced if it holds a model).
    card : dict, optional
        Extra card entries (task, scores, training data, ...).
    novelty : Novelty, optional
        Fitted on the features before :func:`hbclf.novelty.gate_end`; saved beside the
        pipeline.

    Returns
    -------
    dict
        The card written.
    """
    import zipfile

    import skops.io as sio

    def dump(obj, f):  # deflated: a forest's node arrays shrink about five-fold
        sio.dump(obj, f, compression=zipfile.ZIP_DEFLATED, compresslevel=6)

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stale in (PIPELINE, NETWORK, NETWORK_META, NOVELTY):
        (path / stale).unlink(missing_ok=True)
    name, last = pipe.steps[-1]
    net = getattr(last, "estimator_", last)  # a network, bare or read by windows
    files = {}
    if hasattr(net, "save_network"):  # a network saves itself (Keras format, no pickle)
        if net is last:
            dump(pipe[:-1], path / PIPELINE)
        else:  # the WindowClassifier without its network, which load_model puts back
            from sklearn.pipeline import Pipeline

            shell = copy.copy(last)
            shell.estimator, shell.estimator_ = None, None
            dump(Pipeline(pipe.steps[:-1] + [(name, shell)]), path / PIPELINE)
        net.save_network(path / NETWORK, path / NETWORK_META)
        files = {NETWORK: None, NETWORK_META: None}
        classes = [str(c) for c in net.classes_]
    else:
        dump(pipe, path / PIPELINE)
        classes = [str(c) for c in pipe.classes_]
    files[PIPELINE] = None
    if novelty is not None:
        novelty.save(path / NOVELTY)
        files[NOVELTY] = None
    full = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%d"),
        "classes": classes,
        "steps": _steps_text(pipe),
        "versions": _versions(),
        **(card or {}),
        "files": {name: _sha256(path / name) for name in sorted(files)},
    }
    (path / CARD).write_text(json.dumps(full, indent=2) + "\n")
    return full


def _steps_text(pipe):
    """Each step as the card shows it, with the names of the columns it keeps or drops by
    position.

    A step choosing columns of the table before it (dropping the recording
    columns of :data:`hbclf.pipelines.RECORDING_COLUMNS`, or keeping only the
    :data:`hbclf.features.MURMUR_CONTRASTS`) holds their positions only; the
    card names them, as the steps before it name their output.
    """
    texts = []
    for i, (name, step) in enumerate(pipe.steps):
        text = f"{name}: {' '.join(repr(step).split())}"
        # how each part was asked for: fitted, a "passthrough" is a FunctionTransformer
        asked = {part: how for part, how, _ in getattr(step, "transformers", ())}
        chosen = [(asked[part], cols) for part, _, cols in getattr(step, "transformers_", ())
                  if isinstance(asked.get(part), str) and asked[part] in ("passthrough", "drop")]
        if i and chosen:
            how = "passthrough" if any(h == "passthrough" for h, _ in chosen) else "drop"
            try:
                names = np.asarray(pipe[:i].get_feature_names_out())
                text += ("; keeps " if how == "passthrough" else "; drops ") + ", ".join(
                    str(n) for h, cols in chosen if h == how for n in names[cols])
            except (AttributeError, IndexError, TypeError, ValueError):
                pass  # the steps before cannot name their columns: the positions stand alone
        texts.append(text)
    return texts


def _check_files(path, card):
    listed = card.get("files")
    if not isinstance(listed, dict) or PIPELINE not in listed:
        raise ModelFileError(f"{path}: the card lists no model files")
    for name, digest in listed.items():
        _check_file(path, name, digest)


def _check_file(path, name, digest):
    f = path / name
    if name not in (PIPELINE, NETWORK, NETWORK_META, NOVELTY) or not f.is_file():
        raise ModelFileError(f"{path}: model file {name} is missing or unexpected")
    if _sha256(f) != digest:
        raise ModelFileError(f"{f}: does not match the checksum in its card (tampered?)")


def _load_skops(f):
    """One pass over the file: skops refuses any type outside :func:`trusted_types`."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.load(f, trusted=list(trusted_types()))
    except UntrustedTypesFoundException:  # name them (a second pass, on refusal only)
        unknown = sorted(set(sio.get_untrusted_types(file=f)) - set(trusted_types()))
        raise ModelFileError(f"{f}: refuses to load untrusted types {unknown}") from None
    except Exception as exc:  # a foreign or corrupt file: skops' own message
        raise ModelFileError(f"{f}: not a skops model file ({type(exc).__name__})") from None


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
    from sklearn.pipeline import Pipeline

    from .discovery import all_estimators

    try:
        meta = json.loads((path / NETWORK_META).read_text())
    except ValueError as exc:
        raise ModelFileError(f"{path / NETWORK_META}: not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path / NETWORK_META}: not a network description")
    Net = dict(all_estimators("classifier")).get(meta.get("class"))
    if Net is None or not hasattr(Net, "load_network"):
        raise ModelFileError(f"{path}: unknown network class {meta.get('class')!r} (is the "
                             "'neural' extra installed?)")
    try:
        net = Net.load_network(path / NETWORK, path / NETWORK_META)
    except (ValueError, TypeError, KeyError) as exc:  # bad parameters or shapes in the JSON too
        raise ModelFileError(f"{path / NETWORK}: {type(exc).__name__}: {exc}") from None
    last = head.steps[-1][1]
    if getattr(last, "estimator_", False) is None:  # windows saved without their network
        last.estimator = Net(**net.get_params())
        last.estimator_ = net
        return head
    return Pipeline(list(head.steps) + [("clf", net)])


def _calibration_text(clf):
    """What the card says of the probabilities' calibration."""
    from sklearn.utils.validation import has_fit_parameter

    from .calibration import GroupedCalibration

    if not isinstance(clf, GroupedCalibration):
        return None
    text = ("Platt scaling on 5 StratifiedGroupKFold folds of the training data "
            "(hbclf.calibration.GroupedCalibration)")
    if has_fit_parameter(clf.estimator, "domains"):  # GroupedCalibration.fit's own test
        text += (", weighted as the classifier is (every database and class the same "
                 "weight): the probabilities are those of a recording from a database as "
                 "often abnormal as normal, not of the training data's mix")
    return text


def _calibrated(head, *, calibrate, seed):
    """``head`` with its classifier calibrated on grouped folds, as :func:`train` fits it.

    A classifier without probabilities is calibrated whatever ``calibrate`` says
    (a network is passed ``calibrate=False``: Keras saves its weights, not a
    calibrator). A learned threshold (:class:`hbclf.calibration.GroupedThreshold`)
    is unwrapped: the calibrated probability's decision takes its place.
    """
    from .calibration import GroupedCalibration, GroupedThreshold

    if calibrate or not hasattr(head, "predict_proba"):
        name, clf = head.steps[-1]
        if isinstance(clf, GroupedThreshold):
            clf = clf.estimator
        head.steps[-1] = (name, GroupedCalibration(clf, n_splits=5, random_state=seed))
    return head


def _with_copies(F, copies, *columns):
    """``F`` and each of ``columns`` (labels, groups, origins, folds) with one augmented copy's
    row after the originals' (a copy takes its source's label, group, origin and fold); as they
    are when ``copies`` is None."""
    columns = [np.asarray(c) for c in columns]
    if copies is None:
        return (F, *columns)
    return (np.concatenate([F, copies]), *(np.r_[c, c] for c in columns))


def _fold_record(*args, **kwargs):
    """:func:`hbclf.tasks.evaluate_fold`'s record, without the fitted model (from a worker,
    only what the card needs travels back)."""
    from . import tasks

    return tasks.evaluate_fold(*args, **kwargs)[1]


def _evaluate(task, head, F, data, protocol, *, seed, copies=None, n_jobs=None):
    """Out-of-fold scores of ``head`` under one protocol, as the harness computes them.

    ``copies``: features of one augmented copy of each recording, rows in the
    recordings' order; a copy joins the training rows of every fold but its
    source's (never a test row), as the harness's ``lodo-augmented`` does.
    Returns the mean over folds of each score, the scores of the pooled
    out-of-fold predictions per origin (PASCAL set, PhysioNet database) with
    the share of each beyond the fold's novelty gate (``uncertain``), the
    top-class expected calibration error, and the fold of each recording.
    ``n_jobs``: folds run side by side in that many processes.
    """
    from joblib import Parallel, delayed
    from sklearn.base import clone

    from . import tasks
    from .calibration import is_probability, reliability

    y, groups = data.y, data.groups
    fold, _ = tasks.make_folds(protocol, y, groups, data.origin, seed=seed)
    X, y_all, groups_all, origin_all, fold_all = _with_copies(F, copies, y, groups, data.origin,
                                                              fold)
    per_fold, proba, classes = [], None, None
    pred, novel = np.empty(len(y), dtype=object), np.full(len(y), np.nan)
    # each fold's test rows: originals only (the copies come after them, never tested)
    tests = {k: np.flatnonzero(fold == k) for k in np.unique(fold)}
    # each fold is seeded: the same records whether they run one by one or side by side
    records = Parallel(n_jobs=n_jobs)(
        delayed(_fold_record)(task, clone(head), X, y_all, groups_all,
                              np.flatnonzero(fold_all != k), test, seed=seed, domains=origin_all)
        for k, test in tests.items())
    for test, rec in zip(tests.values(), records):
        per_fold.append(rec["scores"])
        classes = rec["classes"]
        if proba is None:
            proba = np.zeros((len(y), len(classes)))
        proba[test] = rec["class_scores"]
        pred[test] = rec["pred"]
        if rec["novel"] is not None:
            novel[test] = rec["novel"]
    names = sorted(set().union(*per_fold))
    scores = {k: round(float(np.nanmean([s.get(k, np.nan) for s in per_fold])), 4)
              for k in names}
    # with the share of each origin that would have been answered "uncertain"
    keep = ("n", *tasks.get(task).origin_metrics, "uncertain")
    per_origin = {str(o): {k: (s[k] if k == "n" else round(float(s[k]), 4))
                           for k in keep if k in s}
                  for o, s in tasks.score_by_origin(task, y, pred, proba, classes,
                                                    data.origin, novel=novel).items()}
    ece = reliability(y, proba, classes)[2] if is_probability(proba) else None
    return {"scores": scores, "per_origin": per_origin,
            "ece": None if ece is None else round(ece, 4)}, fold


#: What the card says a model must not be used for, whatever its scores.
NOT_FOR = (
    "diagnosis or triage of a patient: it is a research baseline, not a medical device, and "
    "was never validated clinically",
    "recordings unlike its training data (other stethoscopes, phones, children, fetal or "
    "lung sounds): its scores on a database it was not trained on are those of the "
    "leave-one-database-out rows, near chance",
    "telling which abnormality a recording holds: the classes are all it knows",
)


def train(task="heart", model="et_cycles_experts", out=None, *, cv=5, seed=0, data_home=None,
          physionet_home=None, calibrate=True, augment=False, n_jobs=None, log=print):
    """Fit a registry model on every labelled recording of a task and save it.

    The card records the model's out-of-fold scores under every protocol of
    the task (grouped folds and, where the task has several databases,
    leave-one-database-out), overall and per database, computed by
    :func:`hbclf.tasks.evaluate_fold` exactly as the benchmark harness does,
    before the final fit on everything.

    Parameters
    ----------
    task : str, default="heart"
        A name of :func:`hbclf.tasks.names`: ``"heart"`` is PASCAL sets A and
        B and PhysioNet 2016, normal vs abnormal; ``"all"`` PASCAL's five
        classes.
    model : str, default="et_cycles_experts"
        A name of :func:`hbclf.pipelines.names` (the default: the shipped model's).
    out : path-like
        Folder to write.
    cv : int, default=5
        Grouped folds for the card's scores (PASCAL tasks).
    seed : int, default=0
    data_home, physionet_home : path-like, optional
        See :meth:`hbclf.tasks.Task.load`.
    calibrate : bool, default=True
        Calibrate the probabilities on grouped folds of the training data
        (:class:`hbclf.calibration.GroupedCalibration`, Platt scaling); the
        card's scores and calibration error are those of the calibrated model.
        A model without probabilities (SVC) is calibrated whatever this says;
        a network never is (Keras saves its weights, not a calibrator). A
        learned decision threshold (:class:`hbclf.calibration.GroupedThreshold`,
        ``potes_features``) gives way to the calibration's own decision, also
        learned on grouped folds.
    augment : bool, default=False
        Add one device-augmented copy of every recording to the training data
        (:func:`hbclf.augment.augment_files`, written to a temporary folder):
        the copies join the final fit, the calibration and the novelty gate,
        and in the card's scores the training folds of their sources only
        (never a test fold).
    n_jobs : int, optional
        Processes for the feature extraction and the card's folds (joblib's
        convention: None one, -1 every core). The model and its card are the
        same whatever it is.

    Returns
    -------
    dict
        The card.
    """
    from sklearn.pipeline import Pipeline

    from . import pipelines, tasks
    from .datasets import CITATION, PHYSIONET_CITATION
    from .novelty import fit_novelty, reads_features

    t = tasks.get(task)
    data = t.load(data_home=data_home, physionet_home=physionet_home)
    X, y, groups = data.filenames, data.y, data.groups
    pipe = pipelines.make(model, random_state=seed)
    featurizer, head = pipelines.split_stateless(pipe)
    t0 = time.perf_counter()
    # feature extraction learns nothing: computed once, shared by the CV folds and the fit
    F = pipelines.feature_table(featurizer, X, n_jobs=n_jobs) if featurizer is not None else X
    copies = None
    if augment:
        import tempfile

        from .augment import augment_files

        if featurizer is None:
            raise ValueError(f"model {model!r} reads the files itself; augment needs a model "
                             "that reads a feature table")
        log(f"augmenting {len(X)} recordings")
        with tempfile.TemporaryDirectory() as tmp:
            copies = pipelines.feature_table(
                featurizer, augment_files(X, tmp, random_state=seed, n_jobs=-1), n_jobs=n_jobs)
    head = _calibrated(head, calibrate=calibrate and model not in pipelines.networks(),
                       seed=seed)
    evaluation, fold = {}, None
    for protocol in t.protocols(cv=cv if t.kfold is None else None):
        evaluation[protocol], folds = _evaluate(
            task, head, F, data, protocol, seed=seed, copies=copies,
            n_jobs=1 if model in pipelines.networks() else n_jobs)  # TensorFlow has threads
        fold = folds if fold is None else fold
        bacc = evaluation[protocol]["scores"]["balanced_accuracy"]
        log(f"{protocol}: balanced accuracy {bacc:.3f} (mean over folds)")
    protocol = next(iter(evaluation))
    # the copies, if any, in their sources' groups and databases
    F, y, groups, origin = _with_copies(F, copies, y, groups, data.origin)
    head.fit(F, y, **tasks.fit_params(head, groups, origin))
    # "uncertain": farther from the training recordings than most of a source held out
    novelty = (fit_novelty(head, F, y, domains=origin, groups=groups, seed=seed)
               if reads_features(head, F) else None)
    pipe = Pipeline((featurizer.steps if featurizer is not None else []) + head.steps)
    counts = {str(k): int(v) for k, v in zip(*np.unique(data.y, return_counts=True))}
    preprocessing = {"audio": f"hbclf.io.load_audio(path, sr={data.sr}, mono=True)"}
    if featurizer is not None:
        preprocessing.update({
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in sorted(featurizer.get_params(deep=True).items())
            if isinstance(v, (int, float, str, tuple, type(None))) and "__" in k
        })
    citations = {"pascal": [CITATION], "physionet": [PHYSIONET_CITATION],
                 "both": [CITATION, PHYSIONET_CITATION]}[t.dataset]
    card = {
        "model": model,
        "task": task,
        "training_data": {
            "dataset": t.title,
            "recordings": int(len(data.y)), "groups": int(len(set(data.groups))),
            "origins": sorted(set(data.origin)),
            "per_class": counts, "rate_hz": data.sr,
            "citation": " ".join(citations),
        },
        "preprocessing": preprocessing,
        "calibration": _calibration_text(head.steps[-1][1]),
        "cv": {"protocol": protocol,
               "scheme": f"StratifiedGroupKFold(n_splits={len(np.unique(fold))}, shuffle=True, "
                         f"random_state={seed}) on the task's groups; scores are means over "
                         "folds of out-of-fold predictions",
               "scores": evaluation[protocol]["scores"]},
        "evaluation": {
            "protocols": evaluation,
            "note": "scores: means over folds; per_origin and ece: the pooled out-of-fold "
                    "predictions of each PASCAL set / PhysioNet database (lodo: each one "
                    "predicted by a model trained on the others only); ece: expected "
                    "calibration error of the top class, 10 bins; uncertain: the share "
                    "beyond a novelty gate fitted on the fold's training recordings",
        },
        "intended_use": "research: a baseline to compare heart-sound classifiers against, and "
                        "a quick look at recordings like its training data",
        "not_for": list(NOT_FOR),
        **({"novelty": {
            "file": NOVELTY, "threshold": round(novelty.threshold_, 2),
            "quantile": novelty.quantile_, "held_out": novelty.held_out_,
            "measure": "squared Mahalanobis distance (Ledoit-Wolf covariance of the training "
                       "recordings) of the features before the classifier (before its 'reads' "
                       "step, if any: hbclf.novelty.gate_end); the threshold is the "
                       f"largest {novelty.quantile_} quantile of the distances of a "
                       f"{novelty.held_out_} held out of the fit, each in turn "
                       "(hbclf.novelty.fit_novelty); farther: the prediction is 'uncertain'"}}
           if novelty is not None else {}),
        "training_seconds": round(time.perf_counter() - t0, 1),
        "augment": bool(augment),
        "command": f"hbclf train --task {task} --model {model} --out <dir>"
                   + (" --augment" if augment else "")
                   + ("" if calibrate else " --no-calibrate"),
    }
    return save_model(pipe, out, card=card, novelty=novelty)
