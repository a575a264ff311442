"""Keras CNN and RNN heart-sound classifiers as true scikit-learn classifiers.

Both take the 3-D output of :class:`hbclf.features.FixedLength`,
``(n_recordings, n_features, n_frames)`` (a 2-D table is read as one frame
per recording), and sit at the end of any Pipeline:

>>> from sklearn.pipeline import make_pipeline
>>> from hbclf.features import MFCC, FixedLength
>>> from hbclf.neural import CNNClassifier
>>> cnn = make_pipeline(MFCC(), FixedLength(), CNNClassifier(random_state=0))

Built on :class:`scikeras.wrappers.KerasClassifier`, with the fix that
scikit-learn >= 1.6 needs: scikeras puts ``ClassifierMixin`` after
``BaseEstimator``, whose ``__sklearn_tags__`` ends the chain, so the wrapper
reports no estimator type; ``__sklearn_tags__`` here restores the classifier
tags, so ``is_classifier`` is True, an int ``cv`` gives stratified folds and
stacking or calibration treat the network as a classifier.

Training does what a practitioner expects: per-feature standardisation
learned in ``fit`` (never from the data being predicted), optional
``class_weight="balanced"``, early stopping on a *stratified* validation
split of the training data, and ``random_state`` that makes two fits give
identical predictions on CPU (seeds plus TensorFlow's op determinism).

Threads: TensorFlow's intra-op pool is set from ``n_threads`` (default: the
``HBCLF_TF_THREADS`` environment variable, else TensorFlow's own choice)
before TensorFlow starts; under ``cross_validate(..., n_jobs=2)`` on two
cores use ``n_threads=1`` so the two worker processes do not oversubscribe
the cores. TensorFlow is imported with this module, not with :mod:`hbclf`.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit
from sklearn.utils import ClassifierTags

try:
    import keras
    from scikeras.wrappers import KerasClassifier
except ImportError as exc:  # the optional extra is not installed
    raise ImportError(
        f"hbclf.neural needs TensorFlow, Keras and scikeras ({exc.name} is missing): "
        "pip install 'hbclf[neural]'"
    ) from None

__all__ = ["CNNClassifier", "RNNClassifier", "configure_threads"]

_THREADS_SET = []


def configure_threads(n_threads=None):
    """Set TensorFlow's thread pools once per process, before it starts.

    Parameters
    ----------
    n_threads : int, optional
        Intra-op threads; ``None`` reads ``HBCLF_TF_THREADS`` and otherwise
        leaves TensorFlow's default. Inter-op parallelism is set to 1 (these
        small networks gain nothing from running ops side by side).

    Returns
    -------
    bool
        Whether the setting took effect (False once TensorFlow has started
        with other settings).
    """
    import tensorflow as tf

    if n_threads is None:
        env = os.environ.get("HBCLF_TF_THREADS")
        n_threads = int(env) if env else None
    if n_threads is None or _THREADS_SET == [n_threads]:
        return n_threads is not None
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n_threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this process
        return False
    _THREADS_SET[:] = [n_threads]
    return True


class _Standardizer(TransformerMixin, BaseEstimator):
    """Per-feature standardisation of (n, features, frames) input, learned on training data."""

    def __init__(self, enabled=True):
        self.enabled = enabled

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float32)
        if self.enabled:
            self.mean_ = X.mean(axis=(0, 2), keepdims=True)[0]
            std = X.std(axis=(0, 2), keepdims=True)[0]
            self.scale_ = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        else:
            self.mean_ = np.zeros((X.shape[1], 1), np.float32)
            self.scale_ = np.ones((X.shape[1], 1), np.float32)
        return self

    def transform(self, X):
        X = np.array(X, dtype=np.float32)  # one copy, standardised in place
        X -= self.mean_
        X /= self.scale_
        return X


def _as_3d(X):
    """(n, features, frames) float32 input; a 2-D table is one frame per recording."""
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[:, :, np.newaxis]
    return X


def _weighted_draw(weights, rng):
    """Indices drawn with replacement in proportion to ``weights``, as many as they sum to."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=max(1, int(round(p.sum()))), p=p / p.sum())


class _WeightedDraws(keras.utils.PyDataset):
    """Batches of a fresh weighted draw of the training samples every epoch."""

    def __init__(self, X, y, weights, batch_size, rng):
        super().__init__()
        self.X, self.y, self.weights, self.batch_size, self.rng = X, y, weights, batch_size, rng
        self.on_epoch_end()

    def on_epoch_end(self):
        self.index = _weighted_draw(self.weights, self.rng)

    def __len__(self):
        return -(-len(self.index) // self.batch_size)

    def __getitem__(self, i):
        pick = self.index[i * self.batch_size:(i + 1) * self.batch_size]
        return self.X[pick], self.y[pick]

    def release(self):
        """Drop the training arrays: TensorFlow's registry of Python generators keeps the
        dataset built on this object (and so the arrays) alive after ``fit`` returns."""
        self.X = self.y = self.weights = self.index = None


class _NeuralClassifier(KerasClassifier):
    """What the CNN and RNN share: data handling, training loop, tags."""

    def _common(self, *, learning_rate, batch_size, epochs, class_weight, weighted_draws,
                early_stopping, validation_fraction, patience, standardize, random_state,
                verbose, n_threads):
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.class_weight = class_weight
        self.weighted_draws = weighted_draws
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    # -- data --------------------------------------------------------------------------------
    @property
    def feature_encoder(self):
        return _Standardizer(enabled=self.standardize)

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        name = type(self).__name__
        if X is not None:
            if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
                raise TypeError(f"{name} does not support sparse input; pass a dense array")
            X = _as_3d(X)
            if X.shape[0] == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape[:2]}) while a "
                                 "minimum of 1 is required.")
            if X.ndim >= 2 and X.shape[1] == 0:
                raise ValueError(f"Found array with 0 feature(s) (shape={X.shape[:2]}) while a "
                                 "minimum of 1 is required.")
            if X.ndim != 3:
                raise ValueError(
                    f"{name} expects (n_recordings, n_features, n_frames) input "
                    f"(e.g. from FixedLength), got shape {X.shape}. Reshape your data."
                )
            if not reset and hasattr(self, "X_shape_") and X.shape[1:] != self.X_shape_[1:]:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {name} is expecting "
                    f"{self.X_shape_[1]} features as input (and {self.X_shape_[2]} frames)"
                )
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)

    # -- training ----------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, groups=None, **kwargs):
        """Train the network on ``X`` (n, features, frames) and labels ``y``.

        Parameters
        ----------
        groups : array-like, optional
            Patient, sitting or database of each recording: the early-stopping
            validation set then holds whole groups (stratified), so it never
            shares a group with the data the network trains on. In a
            Pipeline pass it as ``<step>__groups``.

        Returns
        -------
        self
        """
        self._split_groups = None if groups is None else np.asarray(groups)
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:  # scikit-learn's convention
            from sklearn.exceptions import DataConversionWarning

            warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                          "change the shape of y to (n_samples, ), for example using ravel().",
                          DataConversionWarning, stacklevel=2)
            y = y_arr.ravel()
        configure_threads(self.n_threads)
        if self.random_state is not None:
            import tensorflow as tf

            seed = int(np.random.RandomState(self.random_state).randint(2**31 - 1)) if not \
                isinstance(self.random_state, (int, np.integer)) else int(self.random_state)
            keras.utils.set_random_seed(seed)
            tf.config.experimental.enable_op_determinism()
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64).copy()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input_shape.*")
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        fit_args = dict(epochs=epochs, verbose=self.verbose)
        callbacks = []
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        counts = np.bincount(labels.astype(int))
        n_val = int(round(self.validation_fraction * len(labels)))
        can_split = (self.early_stopping and n_val >= len(counts)
                     and len(labels) - n_val >= len(counts) and counts.min() >= 2)
        groups = getattr(self, "_split_groups", None)
        if groups is not None and len(groups) != len(labels):
            raise ValueError(f"groups has {len(groups)} entries for {len(labels)} samples")
        n_splits = max(2, int(round(1 / self.validation_fraction)))
        if groups is not None and len(set(groups)) < n_splits:
            can_split = False
        if can_split and groups is not None:
            split = StratifiedGroupKFold(n_splits=n_splits, shuffle=True,
                                         random_state=self._seed_or_none())
            tr, va = next(split.split(np.zeros(len(labels)), labels, groups))
        elif can_split:
            split = StratifiedShuffleSplit(
                n_splits=1, test_size=n_val, random_state=self._seed_or_none()
            )
            tr, va = next(split.split(np.zeros(len(labels)), labels))
        draws = self.weighted_draws and sample_weight is not None
        rng = np.random.default_rng(self._seed_or_none())
        if can_split:
            if draws:  # one fixed weighted draw: as cheap as the draws trained on per epoch
                pick = _weighted_draw(sample_weight[va], rng)
                fit_args["validation_data"] = (X[va][pick], y[va][pick])
            else:
                fit_args["validation_data"] = ((X[va], y[va]) if sample_weight is None
                                               else (X[va], y[va], sample_weight[va]))
            X, y = X[tr], y[tr]
            sample_weight = None if sample_weight is None else sample_weight[tr]
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True
            ))
        if draws:  # the draws batch and shuffle themselves
            batches = _WeightedDraws(X, y, sample_weight, self.batch_size, rng)
            try:
                hist = self.model_.fit(batches, callbacks=callbacks, **fit_args)
            finally:  # else every fit leaves its training data in memory
                batches.release()
        else:
            hist = self.model_.fit(x=X, y=y, sample_weight=sample_weight, callbacks=callbacks,
                                   batch_size=self.batch_size, shuffle=True, **fit_args)
        self.history_ = dict(hist.history)
        self.n_epochs_ = len(hist.history.get("loss", []))

    # -- prediction: scikeras squeezes the output of a single recording -------------------------
    def predict_proba(self, X, **kwargs):
        """Class probabilities, shape ``(n_recordings, n_classes)`` (one recording included)."""
        n = _as_3d(X).shape[0]
        return np.asarray(super().predict_proba(X, **kwargs)).reshape(n, -1)

    def predict(self, X, **kwargs):
        """Class labels, shape ``(n_recordings,)``."""
        n = _as_3d(X).shape[0]
        return np.asarray(super().predict(X, **kwargs)).reshape(n)

    # -- saving ------------------------------------------------------------------------------
    def save_network(self, network_file, meta_file):
        """Write the fitted network: Keras' native format and a JSON of the rest.

        ``network_file`` (``.keras``) holds the architecture and weights;
        ``meta_file`` (JSON) the estimator's parameters, classes, input shape and
        the standardisation learned in ``fit``. Nothing is pickled.
        """
        self.model_.save(network_file)
        meta = {
            "class": type(self).__name__,
            "params": {k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in self.get_params().items()},
            "classes": [str(c) for c in self.classes_],
            "input_shape": list(self.X_shape_[1:]),
            "mean": np.asarray(self.feature_encoder_.mean_).ravel().tolist(),
            "scale": np.asarray(self.feature_encoder_.scale_).ravel().tolist(),
        }
        Path(meta_file).write_text(json.dumps(meta))

    @classmethod
    def load_network(cls, network_file, meta_file):
        """A fitted estimator from :meth:`save_network`'s files.

        The Keras file is loaded with ``safe_mode=True`` (no arbitrary code)
        and must have the architecture its parameters build.

        Raises
        ------
        ValueError
            Not a safe Keras file, or weights of another architecture.
        """
        meta = json.loads(Path(meta_file).read_text())
        if meta.get("class") != cls.__name__:
            raise ValueError(f"{meta_file} describes a {meta.get('class')}, not a {cls.__name__}")
        params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in meta["params"].items()}
        net = cls(**params)
        classes = np.array(meta["classes"], dtype=object)
        # build the wrapper (encoders, an untrained network of the right shape) on dummy data
        net.initialize(np.zeros((len(classes), *meta["input_shape"]), np.float32), classes)
        try:
            saved = keras.models.load_model(network_file, safe_mode=True, compile=False)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds
            raise ValueError(f"not a safe Keras model ({exc})") from None
        if [w.shape for w in saved.get_weights()] != [w.shape for w in net.model_.get_weights()]:
            raise ValueError("architecture differs from its parameters")
        net.model_.set_weights(saved.get_weights())
        net.feature_encoder_.mean_ = np.array(meta["mean"], np.float32).reshape(-1, 1)
        net.feature_encoder_.scale_ = np.array(meta["scale"], np.float32).reshape(-1, 1)
        return net

    def _seed_or_none(self):
        rs = self.random_state
        return int(rs) if isinstance(rs, (int, np.integer)) else None

    def _compile(self, model):
        model.compile(optimizer=_adam(self.learning_rate), loss="sparse_categorical_crossentropy")
        return model

    # scikeras hands the label encoding its loss; ours is compiled in the build function
    @property
    def loss(self):
        return "sparse_categorical_crossentropy"

    @loss.setter
    def loss(self, value):
        pass

    def _get_param_names(self):
        return sorted(self._param_names())

    @classmethod
    def _param_names(cls):
        import inspect

        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def __sklearn_tags__(self):
        # KerasClassifier lists ClassifierMixin after BaseEstimator, whose
        # __sklearn_tags__ does not call super(): the classifier tags are lost.
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        tags.classifier_tags.poor_score = True
        return tags

    def __repr__(self):
        return BaseEstimator.__repr__(self)


def _adam(learning_rate):
    """Keras' Adam, minus the gradients' all-reduce when nothing is distributed.

    Keras sums each step's gradients over replicas with ``tf.distribute``'s
    ``all_reduce``, which wraps them in ``tf.custom_gradient`` even under the
    default one-replica strategy; traced in graph mode, that registers the step's
    gradient function in TensorFlow's global gradient registry for good, and
    with it the traced training graph (TensorFlow issue #97697): about 12 MB
    kept per fit, however the model is dropped. With one replica the sum is the
    gradients themselves, so they are passed on as they are (the same numbers);
    under a distribution strategy Keras' own all-reduce runs. The override is
    this optimizer instance's own: Keras' class, and the saved files, are as
    they were.
    """
    import types

    import tensorflow as tf

    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    all_reduce = getattr(optimizer, "_all_reduce_sum_gradients", None)
    if all_reduce is None:  # another Keras backend, or a Keras that no longer has it
        return optimizer

    def sum_over_replicas(self, grads_and_vars):
        return all_reduce(grads_and_vars) if tf.distribute.has_strategy() else list(grads_and_vars)

    optimizer._all_reduce_sum_gradients = types.MethodType(sum_over_replicas, optimizer)
    return optimizer


class CNNClassifier(_NeuralClassifier):
    """The seed project's convolutional network on MFCC images, as a classifier.

    Blocks of Conv2D(kernel, ReLU) -> MaxPooling2D(2) -> Dropout, then
    GlobalAveragePooling2D and a softmax Dense layer. With the defaults, on
    40 x 130 input and 2 classes, it has exactly 43,570 parameters (the seed).

    Parameters
    ----------
    filters : tuple of int, default=(16, 32, 64, 128)
        Filters of each block (its length is the depth).
    kernel_size : int, default=2
        Square convolution kernel.
    padding : {"valid", "same"}, default="valid"
        Convolution and pooling padding; "same" lets short inputs through deep stacks.
    dropout : float, default=0.2
        Dropout rate after each block.
    learning_rate : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=32
    epochs : int, default=60
        Upper bound; early stopping usually ends training sooner.
    class_weight : {"balanced"} or dict, optional
        Weights of the classes in the loss (PASCAL set B is 320 normal vs 46 extrasystole).
    weighted_draws : bool, default=False
        Each epoch trains on a fresh random draw of the training samples,
        with replacement, in proportion to their weights (``sample_weight``
        times the class weight), as many as the weights sum to, unweighted
        (a weighted random sampler): the expected loss of a weighted pass over
        every sample, at the cost of the weights' sum. Under
        :class:`~hbclf.windows.WindowClassifier`, whose window weights sum to
        one per recording, an epoch is about one window per recording, a new
        one each epoch; the early-stopping set is one such draw, kept fixed.
        Without weights it changes nothing.
    early_stopping : bool, default=True
        Hold out a stratified ``validation_fraction`` of the training data
        and stop when its loss has not improved for ``patience`` epochs,
        restoring the best weights.
    validation_fraction : float, default=0.15
    patience : int, default=10
    standardize : bool, default=True
        Standardise each input feature (row) with means and deviations learned in ``fit``.
    random_state : int, optional
        Seed for weights, shuffling and the validation split; two fits with
        the same seed give identical predictions on CPU.
    verbose : int, default=0
    n_threads : int, optional
        TensorFlow intra-op threads (see the module notes).

    Attributes
    ----------
    classes_ : ndarray
        Class labels (any type, strings included).
    model_ : keras.Model
        The trained network.
    history_ : dict
        Per-epoch losses.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(20, 40, 130)).astype("float32")
    >>> y = np.array(["normal", "murmur"] * 10)
    >>> cnn = CNNClassifier(epochs=1, random_state=0).fit(X, y)
    >>> cnn.model_.count_params(), [str(c) for c in cnn.classes_]
    (43570, ['murmur', 'normal'])
    """

    def __init__(self, *, filters=(16, 32, 64, 128), kernel_size=2, padding="valid", dropout=0.2,
                 learning_rate=1e-3, batch_size=32, epochs=60, class_weight=None,
                 weighted_draws=False, early_stopping=True, validation_fraction=0.15, patience=10,
                 standardize=True, random_state=None, verbose=0, n_threads=None):
        super().__init__()
        self.filters = filters
        self.kernel_size = kernel_size
        self.padding = padding
        self.dropout = dropout
        self._common(learning_rate=learning_rate, batch_size=batch_size, epochs=epochs,
                     class_weight=class_weight, weighted_draws=weighted_draws,
                     early_stopping=early_stopping, validation_fraction=validation_fraction,
                     patience=patience, standardize=standardize, random_state=random_state,
                     verbose=verbose, n_threads=n_threads)

    def _keras_build_fn(self):
        from keras import layers

        n_features, n_frames = self.X_shape_[1], self.X_shape_[2]
        inputs = keras.Input(shape=(n_features, n_frames))
        x = layers.Reshape((n_features, n_frames, 1))(inputs)
        for f in self.filters:
            x = layers.Conv2D(f, self.kernel_size, activation="relu", padding=self.padding)(x)
            if min(x.shape[1], x.shape[2]) >= 2 or self.padding == "same":
                x = layers.MaxPooling2D(2, padding=self.padding)(x)
            x = layers.Dropout(self.dropout)(x)
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(self.n_classes_, activation="softmax")(x)
        return self._compile(keras.Model(inputs, outputs, name="cnn"))


class RNNClassifier(_NeuralClassifier):
    """A recurrent classifier reading the frames of each recording in order.

    Parameters
    ----------
    cell : {"lstm", "gru"}, default="lstm"
    units : tuple of int, default=(64,)
        Units of each stacked recurrent layer.
    bidirectional : bool, default=False
    dropout : float, default=0.2
        Dropout after each recurrent layer.
    learning_rate, batch_size, epochs, class_weight, weighted_draws, early_stopping,
    validation_fraction, patience, standardize, random_state, verbose, n_threads
        As in :class:`CNNClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(20, 13, 30)).astype("float32")
    >>> rnn = RNNClassifier(cell="gru", epochs=1, random_state=0).fit(X, [0, 1] * 10)
    >>> rnn.predict_proba(X).shape
    (20, 2)
    """

    def __init__(self, *, cell="lstm", units=(64,), bidirectional=False, dropout=0.2,
                 learning_rate=1e-3, batch_size=32, epochs=60, class_weight=None,
                 weighted_draws=False, early_stopping=True, validation_fraction=0.15, patience=10,
                 standardize=True, random_state=None, verbose=0, n_threads=None):
        super().__init__()
        self.cell = cell
        self.units = units
        self.bidirectional = bidirectional
        self.dropout = dropout
        self._common(learning_rate=learning_rate, batch_size=batch_size, epochs=epochs,
                     class_weight=class_weight, weighted_draws=weighted_draws,
                     early_stopping=early_stopping, validation_fraction=validation_fraction,
                     patience=patience, standardize=standardize, random_state=random_state,
                     verbose=verbose, n_threads=n_threads)

    def _keras_build_fn(self):
        from keras import layers

        if self.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")
        Cell = layers.LSTM if self.cell == "lstm" else layers.GRU
        n_features, n_frames = self.X_shape_[1], self.X_shape_[2]
        inputs = keras.Input(shape=(n_features, n_frames))
        x = layers.Permute((2, 1))(inputs)  # frames become time steps
        for i, u in enumerate(self.units):
            rnn = Cell(u, return_sequences=i < len(self.units) - 1)
            x = layers.Bidirectional(rnn)(x) if self.bidirectional else rnn(x)
            x = layers.Dropout(self.dropout)(x)
        outputs = layers.Dense(self.n_classes_, activation="softmax")(x)
        return self._compile(keras.Model(inputs, outputs, name="rnn"))
