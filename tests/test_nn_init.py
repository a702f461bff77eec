"""nn.init: the distributions torch.nn.init uses, seeded, and the symmetry of zero init."""

from functools import partial

import numpy as np
import pytest

from autograd import Value
from nn import MLP, Layer, Neuron, data, init, losses, optim


def matrix(rows, cols):
    return [[Value(0.0) for _ in range(cols)] for _ in range(rows)]


def numbers(tensor):
    return np.array([[v.data for v in row] for row in tensor])


@pytest.mark.parametrize("name, param", [
    ("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
])
def test_gains_match_torch(torch, name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-12)


@pytest.mark.parametrize("ours, theirs, bounded", [
    (init.xavier_uniform, "xavier_uniform_", True),
    (init.xavier_normal, "xavier_normal_", False),
    (init.he_uniform, "kaiming_uniform_", True),
    (init.he_normal, "kaiming_normal_", False),
    (partial(init.he_uniform, mode="fan_out"), "kaiming_uniform_", True),
])
def test_distributions_match_torchs(torch, ours, theirs, bounded):
    rows, cols = 300, 200
    w = numbers(ours(matrix(rows, cols), seed=0))
    kwargs = {"mode": "fan_out", "nonlinearity": "relu"} if isinstance(ours, partial) else {}
    if "kaiming" in theirs and not kwargs:
        kwargs = {"nonlinearity": "relu"}
    t = getattr(torch.nn.init, theirs)(torch.empty(rows, cols, dtype=torch.float64), **kwargs)
    t = t.numpy()
    assert w.std() == pytest.approx(t.std(), rel=0.02)
    assert abs(w.mean()) < 0.02 * w.std() * 10
    if bounded:  # both fill [-b, b], so their extremes agree closely
        assert np.abs(w).max() == pytest.approx(np.abs(t).max(), rel=0.01)


def test_uniform_normal_and_constants():
    w = numbers(init.uniform(matrix(50, 40), -2.0, 3.0, seed=1))
    assert w.min() >= -2.0 and w.max() <= 3.0 and w.mean() == pytest.approx(0.5, abs=0.1)
    w = numbers(init.normal(matrix(50, 40), 1.0, 0.5, seed=1))
    assert w.mean() == pytest.approx(1.0, abs=0.05) and w.std() == pytest.approx(0.5, rel=0.05)
    assert (numbers(init.constant(matrix(2, 3), 0.7)) == 0.7).all()
    assert (numbers(init.zeros(matrix(2, 3))) == 0.0).all()
    assert (numbers(init.ones(matrix(2, 3))) == 1.0).all()
    v = Value(5.0)
    assert init.zeros(v) is v and v.data == 0.0


def test_same_seed_same_numbers_and_generators_continue():
    a = numbers(init.he_normal(matrix(3, 4), seed=7))
    b = numbers(init.he_normal(matrix(3, 4), seed=7))
    assert (a == b).all()
    rng = np.random.default_rng(7)
    first = numbers(init.uniform(matrix(2, 2), seed=rng))
    second = numbers(init.uniform(matrix(2, 2), seed=rng))
    assert not (first == second).all()


def test_fans_need_a_matrix_and_fills_need_values():
    with pytest.raises(ValueError, match="weight matrix.*shape \\(3,\\)"):
        init.xavier_uniform([Value(0.0)] * 3)
    with pytest.raises(TypeError, match="fills Values in place"):
        init.zeros([1.0, 2.0])
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform(matrix(1, 1), 1.0, 0.0)
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(TypeError, match="seed"):
        init.normal(matrix(1, 1), seed="0")


def test_layers_use_the_named_initialization():
    assert (numbers(Layer(3, 4, init="zeros").weight) == 0).all()
    w = numbers(Layer(20, 30, init="he_uniform", seed=0).weight)
    assert np.abs(w).max() <= np.sqrt(6 / 20)
    w = numbers(Layer(20, 30, activation="tanh", seed=0).weight)  # default for tanh: Xavier
    assert np.abs(w).max() <= np.sqrt(6 / 50) and np.abs(w).max() > 0.9 * np.sqrt(6 / 50)
    w = numbers([Neuron(5, init="uniform", seed=0).weight])
    assert np.abs(w).max() <= 1.0
    layer = Layer(2, 2, init=lambda weight: init.constant(weight, 0.5))
    assert (numbers(layer.weight) == 0.5).all()


def train(model, steps=15):
    X, y = data.make_moons(40, noise=0.1, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        losses.hinge_loss(model(X), 2 * y - 1).backward()
        opt.step()
    return model


@pytest.mark.parametrize("make, start", [
    (lambda: MLP(2, [4, 4, 1], activation="tanh", init="zeros"), 0.0),
    (lambda: MLP(2, [4, 4, 1], activation="tanh", init=partial(init.constant, value=0.3)), 0.3),
    (lambda: MLP(2, [4, 4, 1], activation="relu", init=partial(init.constant, value=0.3)), 0.3),
])
def test_zero_and_constant_init_keep_neurons_identical_through_training(make, start):
    model = train(make())
    if start:  # the weights did move, yet every neuron moved the same way
        assert (numbers(model.layers[0].weight) != start).all()
    for layer in model.layers:
        rows = numbers(layer.weight)
        biases = [n.bias.data for n in layer.neurons]
        assert (rows == rows[0]).all(), "neurons of a layer drifted apart"
        assert biases == [biases[0]] * len(biases)


def test_random_init_breaks_the_symmetry():
    model = train(MLP(2, [4, 4, 1], activation="tanh", seed=0))
    rows = numbers(model.layers[0].weight)
    assert not (rows == rows[0]).all()
