"""Network speed (pytest-benchmark): fit on all of set B, predict one recording.

``python -m pytest benchmarks/test_networks.py --benchmark-only``. The
default CNN and RNN of the registry (early stopping, at most 40 epochs,
class-balanced) are fitted on the 461 labelled set B recordings' 40 x 130
MFCC images (features computed once, outside the timing), on the threads
TensorFlow chooses for this machine; predicting one recording includes
reading the file and its features.
"""

import pytest

from hbclf import pipelines
from hbclf.datasets import load_pascal

NETS = ("cnn", "rnn")


@pytest.fixture(scope="module")
def set_b():
    data = load_pascal("b")
    feats, _ = pipelines.split_stateless(pipelines.make("cnn"))
    return data, feats.fit_transform(data.filenames)


@pytest.mark.parametrize("name", NETS)
def test_fit_on_set_b(benchmark, set_b, name):
    data, X = set_b
    _, net = pipelines.split_stateless(pipelines.make(name, random_state=0))
    fitted = benchmark.pedantic(net.fit, args=(X, data.label), rounds=1, iterations=1)
    benchmark.extra_info["epochs"] = fitted[-1].n_epochs_
    assert fitted.predict(X[:3]).shape == (3,)


@pytest.mark.parametrize("name", NETS)
def test_predict_one_recording(benchmark, set_b, name):
    data, X = set_b
    pipe = pipelines.make(name, random_state=0, quick=True)
    pipe.fit(data.filenames[::4], data.label[::4])
    one = data.filenames[:1]
    pipe.predict(one)  # build TensorFlow's prediction function once
    out = benchmark.pedantic(pipe.predict, args=(one,), rounds=5, warmup_rounds=1)
    assert out.shape == (1,)
