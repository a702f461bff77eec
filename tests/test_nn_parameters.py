"""nn's weights are `Parameter`s labelled with their path in the model, and a module turns
its input numbers into Values once, so a diagram of a model reads in the model's names."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autograd
import nn
from autograd import Parameter, Value, topological_order
from nn import MLP, BatchNorm, Layer, LayerNorm, Module, Neuron, Sequential


def label_of(name: str) -> str:
    """A named_parameters name as a label spells it: a list's index in brackets."""
    return re.sub(r"\.(\d+)$", r"[\1]", name)


def assert_labelled(model, path=""):
    """Every parameter is a Parameter labelled with its name after the module's `path`."""
    named = model.named_parameters()
    assert named, "the model has parameters"
    for name, p in named:
        assert isinstance(p, Parameter), name
        assert p.label == path + label_of(name)


def input_leaves(outputs) -> list:
    """The leaves of the graph of `outputs` that are not Parameters, in graph order."""
    outputs = outputs if isinstance(outputs, list) else [outputs]
    seen, leaves = set(), []
    for out in outputs:
        for v in topological_order(out):
            if v.is_leaf and not isinstance(v, Parameter) and v not in seen:
                seen.add(v)
                leaves.append(v)
    return leaves


class Block(Module):
    def __init__(self, width=3):
        self.width = width
        self.body = MLP(2, [width, width], activation="tanh", seed=1)
        self.norm = LayerNorm(width)
        self.heads = [Layer(width, 1, "linear", seed=2), Neuron(width, "linear", seed=3)]
        self.scale = Parameter(2.0)
        self.shift = [Parameter(0.5), Parameter(-0.5)]

    def forward(self, x):
        h = self.norm(self.body(x))
        return self.scale * self.heads[0](h)[0] + self.heads[1](h) + self.shift[0]

    def config(self):
        return {"width": self.width}


class Outer(Module):
    def __init__(self):
        self.blocks = [Block(), Block(4)]
        self.final = Sequential(Layer(2, 2, seed=4), BatchNorm(2), Layer(2, 1, "linear"))

    def forward(self, x):
        return self.final.layers[2](self.final.layers[0](
            [self.blocks[0](x), self.blocks[1](x)]))[0]


def test_nn_parameter_is_autograd_parameter():
    assert nn.Parameter is autograd.Parameter
    assert "Parameter" in nn.__all__
    p = nn.Parameter(1.5)
    assert isinstance(p, Value) and p.data == 1.5


def test_a_standalone_neuron_is_labelled_by_its_own_names():
    neuron = Neuron(3, seed=0)
    assert [p.label for p in neuron.parameters()] == ["weight[0]", "weight[1]", "weight[2]", "bias"]
    assert_labelled(neuron)


def test_mlp_labels_are_named_parameters_paths():
    model = MLP(2, [3, 2, 1], seed=0)
    assert_labelled(model)
    labels = [p.label for p in model.parameters()]  # set when built, before any listing
    assert labels[:3] == [
        "layers.0.neurons.0.weight[0]", "layers.0.neurons.0.weight[1]", "layers.0.neurons.0.bias"
    ]
    assert labels[-1] == "layers.2.neurons.0.bias"
    assert len(set(labels)) == len(labels)


def test_labels_of_modules_nested_in_a_users_modules():
    model = Outer()
    labels = {p.label for p in model.parameters()}  # set by assignment alone
    assert "blocks.1.body.layers.0.neurons.2.weight[1]" in labels
    assert "blocks.0.norm.weight[2]" in labels
    assert "blocks.0.heads.0.neurons.0.bias" in labels
    assert "blocks.1.heads.1.weight[3]" in labels
    assert "blocks.0.shift[1]" in labels and "blocks.1.scale" in labels
    assert "final.layers.1.bias[0]" in labels
    assert_labelled(model)
    assert_labelled(model.blocks[1], "blocks.1.")  # a child's listing keeps the full paths
    first = model.blocks[1].body.parameters()[0]
    assert first.label == "blocks.1.body.layers.0.neurons.0.weight[0]"


def test_labels_when_built_top_down_and_changed_afterwards():
    outer = Module()
    outer.inner = Module()
    outer.inner.layer = Layer(2, 2, seed=0)  # assigned into a module that is already placed
    assert outer.inner.layer.neurons[1].bias.label == "inner.layer.neurons.1.bias"
    outer.inner.layer.neurons[0].bias = Parameter(3.0)  # a new parameter in place
    assert outer.inner.layer.neurons[0].bias.label == "inner.layer.neurons.0.bias"
    seq = Sequential(Layer(2, 2, seed=0))
    seq.layers.append(Layer(2, 1, seed=1))  # a list changed in place: named_parameters fixes
    assert_labelled(seq)
    assert seq.layers[1].neurons[0].weight[1].label == "layers.1.neurons.0.weight[1]"


def test_a_shared_parameter_carries_the_name_it_is_listed_under():
    model = Module()
    model.a = Layer(2, 2, seed=0)
    model.b = Layer(2, 1, seed=1)
    model.b.neurons[0].bias = model.a.neurons[0].bias
    names = dict((id(p), n) for n, p in model.named_parameters())
    assert names[id(model.a.neurons[0].bias)] == "a.neurons.0.bias"
    assert_labelled(model)


def test_a_plain_value_keeps_the_label_its_user_gave():
    model = Module()
    model.scale = Value(2.0, label="my scale")
    model.layer = Layer(1, 1, seed=0)
    assert [n for n, _ in model.named_parameters()][0] == "scale"
    assert model.scale.label == "my scale"
    assert not isinstance(model.scale, Parameter)


def test_labels_survive_load_state_dict_save_load_and_from_config(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    state = MLP(2, [3, 1], seed=7).state_dict()
    params = model.parameters()
    model.load_state_dict(state)
    assert model.parameters() == params  # the same Parameters, new numbers
    assert model.state_dict() == state
    assert_labelled(model)

    path = model.save(tmp_path / "model.json")
    loaded = MLP.load(path)
    assert loaded.state_dict() == state
    assert_labelled(loaded)
    assert [p.label for p in loaded.parameters()] == [p.label for p in params]

    for built in (MLP.from_config(model.config()),
                  Sequential.from_config(Sequential(Layer(2, 3), LayerNorm(3),
                                                    BatchNorm(3)).config())):
        assert_labelled(built)
    outer = Outer()
    outer.load_state_dict(Outer().state_dict())
    assert_labelled(outer)


def test_init_optimizers_and_penalties_keep_parameters_and_labels():
    model = MLP(2, [4, 1], seed=0)
    before = [(type(p), p.label) for p in model.parameters()]
    for layer in model.layers:
        nn.init.normal(layer.weight, std=0.5, seed=0)
        nn.init.zeros(layer.bias)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.1)
    loss = nn.losses.mse_loss(model([[0.5, -1.0], [1.0, 2.0]]), [0.3, -0.2])
    loss = loss + nn.l2_penalty(model, 1e-3)
    loss.backward()
    optimizer.step()
    assert [(type(p), p.label) for p in model.parameters()] == before


@pytest.mark.parametrize("example", [[1.5, 1.5, -2.0], np.array([1.5, 1.5, -2.0])])
def test_a_layer_reads_each_input_number_as_one_node(example):
    layer = Layer(3, 4, seed=0)
    out = layer(example)
    leaves = input_leaves(out)
    assert len(leaves) == 3  # one per input number, although 1.5 appears twice
    assert [v.label for v in leaves] == ["x[0]", "x[1]", "x[2]"]
    assert [v.data for v in leaves] == [1.5, 1.5, -2.0]
    uses = {v: 0 for v in leaves}
    for o in out:
        for node in topological_order(o):
            for parent in node.parents:
                if parent in uses:
                    uses[parent] += 1
    assert list(uses.values()) == [4, 4, 4]  # one edge to each neuron


def test_values_pass_through_and_their_gradients_add_up():
    x = [Value(0.5, label="a"), Value(-1.0, label="b")]
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    out = model(x)
    assert input_leaves(out) == x  # the caller's Values themselves, nothing added
    out.backward()
    eps = 1e-6
    for i in range(2):
        up = [v.data + eps * (j == i) for j, v in enumerate(x)]
        down = [v.data - eps * (j == i) for j, v in enumerate(x)]
        numeric = (model(up).data - model(down).data) / (2 * eps)
        assert x[i].grad == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_input_gradients_match_torch():
    torch = pytest.importorskip("torch")
    model = MLP(3, [4, 2], activation="relu", seed=0)
    x = [Value(v) for v in (0.3, -1.2, 0.8)]
    out = model(x)
    (out[0] * 2 + out[1]).backward()
    xt = torch.tensor([0.3, -1.2, 0.8], dtype=torch.float64, requires_grad=True)
    h = xt
    for k, layer in enumerate(model.layers):
        W = torch.tensor([[w.data for w in row] for row in layer.weight], dtype=torch.float64)
        b = torch.tensor([v.data for v in layer.bias], dtype=torch.float64)
        h = h @ W.T + b
        if k < len(model.layers) - 1:
            h = torch.relu(h)
    (h[0] * 2 + h[1]).backward()
    assert [v.grad for v in x] == pytest.approx(xt.grad.tolist(), rel=1e-12, abs=1e-12)


def test_an_mlp_and_a_batch_read_each_input_number_once():
    model = MLP(2, [3, 3, 1], seed=0)
    assert len(input_leaves(model([0.5, 0.5]))) == 2
    batch = model([[0.5, 0.5], [1.0, 2.0]])
    assert len(input_leaves(batch)) == 4  # two per example


def test_normalization_reads_each_input_number_once():
    def inputs(out):  # the labelled leaves: not the constants n and eps of the formulas
        return [v.label for v in input_leaves(out) if v.label]

    layer_norm = LayerNorm(3)
    assert inputs(layer_norm([1.0, Value(2.0, label="h"), 1.0])) == ["x[0]", "h", "x[2]"]
    batch_norm = BatchNorm(2)
    out = batch_norm([[1.0, 2.0], [3.0, 5.0], [0.0, 1.0]])
    assert sorted(inputs(out)) == ["x[0]"] * 3 + ["x[1]"] * 3  # one per number of the batch
    batch_norm.eval()
    assert inputs(batch_norm([1.0, 2.0])) == ["x[0]", "x[1]"]


def test_every_parameter_of_nn_modules_is_a_parameter():
    model = Sequential(Layer(2, 3), BatchNorm(3), LayerNorm(3), nn.Activation("tanh"),
                       nn.Dropout(0.1), Layer(3, 1, "linear"))
    assert all(isinstance(p, Parameter) for p in model.parameters())
    assert_labelled(model)


def test_backward_and_topological_order_see_parameters_as_leaves():
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    out = model([0.5, -1.0])
    order = topological_order(out)
    assert order[-1] is out
    params = model.parameters()
    assert set(params) <= set(order) and all(p.is_leaf for p in params)
    assert len(order) == len(set(order))
    out.backward()
    grads = [p.grad for p in params]
    model.zero_grad()
    autograd.backward(model([0.5, -1.0]))
    assert [p.grad for p in params] == grads
    assert grads == [g for g in autograd.grad(model([0.5, -1.0]), params)]
