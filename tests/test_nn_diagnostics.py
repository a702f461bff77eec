"""nn.diagnostics: layer outputs, dead units, per-layer gradient sizes (for the notebooks)."""

import numpy as np
import pytest

from nn import MLP, Activation, BatchNorm, Dropout, Layer, Neuron, Sequential, losses
from nn.diagnostics import dead_units, layer_outputs, mean_abs_grad


def _matrix(layer):
    return np.array([[w.data for w in row] for row in layer.weight])


def _bias(layer):
    return np.array([b.data for b in layer.bias])


def _set(layer, W, b):
    for row, w_row in zip(layer.weight, W):
        for v, w in zip(row, w_row):
            v.data = float(w)
    for v, x in zip(layer.bias, b):
        v.data = float(x)


def test_layer_outputs_match_the_same_network_in_numpy():
    rng = np.random.default_rng(1)
    model = MLP(3, [5, 4, 2], activation="tanh", seed=0)
    for layer in model.layers:  # non-zero biases so they are exercised
        _set(layer, _matrix(layer), rng.normal(size=layer.nout))
    X = rng.normal(size=(7, 3))
    W1, W2, W3 = (_matrix(layer) for layer in model.layers)
    b1, b2, b3 = (_bias(layer) for layer in model.layers)
    h1 = np.tanh(X @ W1.T + b1)
    h2 = np.tanh(h1 @ W2.T + b2)
    h3 = h2 @ W3.T + b3
    outs = layer_outputs(model, X)
    assert [o.shape for o in outs] == [(7, 5), (7, 4), (7, 2)]
    for got, want in zip(outs, [h1, h2, h3]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_layer_outputs_one_output_unit_is_a_column():
    model = MLP(2, [3, 1], seed=0)
    outs = layer_outputs(model, np.ones((4, 2)))
    assert outs[-1].shape == (4, 1)


def test_layer_outputs_build_no_graph_and_leave_gradients_and_mode_alone():
    model = Sequential(Layer(2, 6, "linear", seed=0), Activation("relu"), Dropout(0.5, seed=0),
                       Layer(6, 1, "linear", seed=1))
    for p in model.parameters():
        p.grad = 0.25
    model.train()
    X = np.array([[0.5, -1.0], [2.0, 0.3], [-1.0, -1.0]])
    first = layer_outputs(model, X)
    second = layer_outputs(model, X)
    assert model.training  # restored
    for p in model.parameters():
        assert p.grad == 0.25
    # evaluation mode: dropout passes its input through, so two calls agree and the
    # dropout layer's output equals the activation's
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[2], first[1])
    assert [o.shape for o in first] == [(3, 6), (3, 6), (3, 6), (3, 1)]


def test_layer_outputs_of_a_single_layer():
    layer = Layer(2, 3, "relu", seed=0)
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    (out,) = layer_outputs(layer, X)
    np.testing.assert_allclose(out, np.maximum(X @ _matrix(layer).T + _bias(layer), 0.0))


def test_dead_units_are_those_at_zero_on_every_example():
    model = MLP(2, [4, 1], activation="relu", seed=0)
    hidden = model.layers[0]
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    b = np.array([-10.0, 0.0, -2.5, 0.0])
    _set(hidden, W, b)
    X = np.array([[1.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    # unit 0: x0 - 10 < 0 always -> dead; unit 1: x1 > 0 on examples 0 and 2 -> alive;
    # unit 2: x0 + x1 - 2.5 <= 0 on all three (max 1 - 2.5) -> dead; unit 3: -x0 < 0 -> dead
    dead = dead_units(model, X)
    np.testing.assert_array_equal(dead[0], [True, False, True, True])
    assert dead[1].shape == (1,)


def test_a_unit_that_fires_on_one_example_is_alive():
    layer = Layer(1, 1, "relu", seed=0)
    _set(layer, [[1.0]], [0.0])
    (dead,) = dead_units(layer, np.array([[-3.0], [-2.0], [0.001]]))
    assert not dead[0]
    (dead,) = dead_units(layer, np.array([[-3.0], [-2.0], [0.0]]))
    assert dead[0]


def test_dead_units_get_no_gradient():
    model = MLP(2, [8, 1], activation="relu", seed=3)
    hidden = model.layers[0]
    _set(hidden, _matrix(hidden), [-50.0, 0, 0, 0, -50.0, 0, 0, 0])
    X = np.random.default_rng(0).normal(size=(20, 2))
    dead = dead_units(model, X)[0]
    assert dead[0] and dead[4]
    loss = losses.mse_loss(model(X), np.ones(20).tolist())
    model.zero_grad()
    loss.backward()
    for i, neuron in enumerate(hidden.neurons):
        grads = [w.grad for w in neuron.weight] + [neuron.bias.grad]
        if dead[i]:
            assert grads == [0.0] * 3
    assert any(w.grad != 0.0 for i, n in enumerate(hidden.neurons) if not dead[i]
               for w in n.weight)


def test_mean_abs_grad_per_weight_matrix():
    model = MLP(3, [4, 2], seed=0)
    rng = np.random.default_rng(5)
    want = {}
    for k, layer in enumerate(model.layers):
        G = rng.normal(size=(layer.nout, layer.nin))
        for row, g_row in zip(layer.weight, G):
            for v, g in zip(row, g_row):
                v.grad = float(g)
        for b in layer.bias:
            b.grad = 1000.0  # biases are not counted
        want[f"layers.{k}"] = float(np.abs(G).mean())
    got = mean_abs_grad(model)
    assert list(got) == ["layers.0", "layers.1"]
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12)


def test_mean_abs_grad_skips_normalization_and_names_a_lone_layer():
    model = Sequential(Layer(2, 3, "linear"), BatchNorm(3), Activation("relu"), Layer(3, 1))
    for p in model.parameters():
        p.grad = -2.0
    assert mean_abs_grad(model) == {"layers.0": 2.0, "layers.3": 2.0}
    layer = Layer(2, 2)
    for p in layer.parameters():
        p.grad = 0.5
    assert mean_abs_grad(layer) == {"Layer": 0.5}


def test_vanishing_gradient_in_a_deep_sigmoid_network():
    X = np.random.default_rng(0).normal(size=(16, 4))
    model = MLP(4, [8] * 6 + [1], activation="sigmoid", seed=0)
    losses.mse_loss(model(X), np.zeros(16).tolist()).backward()
    sizes = list(mean_abs_grad(model).values())
    assert all(a < b for a, b in zip(sizes, sizes[1:]))
    assert sizes[0] < 1e-2 * sizes[-1]


def test_bad_input_is_refused():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="shape"):
        layer_outputs(model, np.ones(2))
    with pytest.raises(ValueError, match="non-empty"):
        dead_units(model, np.ones((0, 2)))
    with pytest.raises(TypeError, match="nn.Module"):
        layer_outputs([1, 2], np.ones((1, 2)))
    with pytest.raises(TypeError, match="nn.Module"):
        mean_abs_grad("model")
    with pytest.raises(ValueError, match="no weight matrix"):
        mean_abs_grad(Neuron(3))
