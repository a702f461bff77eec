"""Module, Neuron, Layer, MLP, Sequential: calling, parameters, modes, state and files."""

import json
import os
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from nn import (
    MLP,
    Activation,
    BatchNorm,
    Dropout,
    GaussianNoise,
    Layer,
    LayerNorm,
    Module,
    Neuron,
    Sequential,
)

# --- calling a model ---------------------------------------------------------------------


def test_one_example_gives_one_value_and_a_batch_one_per_example():
    model = MLP(2, [4, 1], seed=0)
    out = model([0.5, -1.2])
    assert isinstance(out, Value)
    batch = model([[0.5, -1.2], [1.0, 0.0], [0.0, 0.0]])
    assert len(batch) == 3 and all(isinstance(v, Value) for v in batch)
    assert batch[0].data == out.data


def test_a_wider_last_layer_gives_a_list():
    model = MLP(3, [4, 2], seed=0)
    assert [type(v) for v in model([1.0, 2.0, 3.0])] == [Value, Value]
    batch = model(np.ones((5, 3)))
    assert len(batch) == 5 and all(len(row) == 2 for row in batch)


def test_inputs_may_be_ints_numpy_or_values_and_gradients_reach_value_inputs():
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    a = model([1, 2]).data
    assert model(np.array([1.0, 2.0])).data == a
    assert model([np.float32(1.0), np.int64(2)]).data == a
    x = [Value(1.0), Value(2.0)]
    model(x).backward()
    assert any(v.grad != 0.0 for v in x)


def test_neuron_computes_activation_of_w_dot_x_plus_b():
    n = Neuron(3, activation="tanh", seed=0)
    for w, v in zip(n.weight, [0.5, -1.0, 2.0]):
        w.data = v
    n.bias.data = 0.25
    x = [1.0, 2.0, -0.5]
    expected = np.tanh(0.5 * 1 - 1.0 * 2 + 2.0 * -0.5 + 0.25)
    assert n(x).data == pytest.approx(expected)
    assert n.w is n.weight and n.b is n.bias  # micrograd's names


@pytest.mark.parametrize("activation, fn", [
    ("relu", lambda z: max(z, 0.0)),
    ("leaky_relu", lambda z: z if z > 0 else 0.01 * z),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("tanh", np.tanh),
    ("linear", lambda z: z),
])
def test_hidden_activation_and_linear_last_layer(activation, fn):
    model = MLP(2, [3, 1], activation=activation, seed=2)
    x = [0.3, -0.7]
    hidden = [fn(sum(w.data * xi for w, xi in zip(n.weight, x)) + n.bias.data)
              for n in model.layers[0].neurons]
    last = model.layers[1].neurons[0]
    expected = sum(w.data * h for w, h in zip(last.weight, hidden)) + last.bias.data
    assert model(x).data == pytest.approx(expected)
    assert model.layers[-1].neurons[0].activation == "linear"


def test_wrong_input_width_names_expected_and_got():
    with pytest.raises(ValueError, match="expects 2 inputs per example, got 3"):
        MLP(2, [4, 1])([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="expects 2 inputs per example, got 1"):
        MLP(2, [4, 1])([[1.0, 2.0], [1.0]])
    with pytest.raises(ValueError, match="expects 3 inputs per example, got 2"):
        Layer(3, 2)([1.0, 2.0])
    with pytest.raises(ValueError, match="expects 4 inputs per example, got 0"):
        Neuron(4)([])


def test_non_numbers_are_refused():
    with pytest.raises(TypeError, match="input 1 must be a number or a Value, got str"):
        MLP(2, [1])([1.0, "2"])
    with pytest.raises(TypeError):
        MLP(2, [1])(np.array(["a", "b"]))


@pytest.mark.parametrize("make, message", [
    (lambda: MLP(2, []), "non-empty list"),
    (lambda: MLP(2, 3), "non-empty list"),
    (lambda: MLP(0, [1]), "nin must be a positive"),
    (lambda: MLP(2, [4, 0]), "every layer size"),
    (lambda: MLP(2, [1], activation="swish"), "unknown activation 'swish'"),
    (lambda: MLP(2, [1], init="glorot"), "unknown init 'glorot'"),
    (lambda: Layer(2, 1.5), "nout must be a positive"),
])
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- parameters ----------------------------------------------------------------------------


def test_parameters_of_micrograds_mlp():
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    assert len(params) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    names = [name for name, _ in model.named_parameters()]
    assert len(set(names)) == 337
    assert names[:3] == ["layers.0.neurons.0.weight.0", "layers.0.neurons.0.weight.1",
                         "layers.0.neurons.0.bias"]
    assert all(isinstance(p, Value) and p.is_leaf for p in params)


def test_layer_weight_is_a_matrix_with_one_row_per_neuron():
    layer = Layer(3, 2, seed=0)
    assert [len(row) for row in layer.weight] == [3, 3]
    assert layer.weight[1][2] is layer.neurons[1].weight[2]
    assert Layer(3, 2, bias=False).bias is None
    assert len(Layer(3, 2, bias=False).parameters()) == 6


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_same_seed_same_model_different_seed_different_model():
    assert MLP(2, [8, 1], seed=3).state_dict() == MLP(2, [8, 1], seed=3).state_dict()
    assert MLP(2, [8, 1], seed=3).state_dict() != MLP(2, [8, 1], seed=4).state_dict()


class Tied(Module):
    """A user-defined module whose two layers share one Value."""

    def __init__(self, width=2):
        self.width = width
        self.a = Layer(width, width, seed=0)
        self.scale = Value(2.0)
        self.b = Layer(width, 1, "linear", seed=1)
        self.b.neurons[0].bias = self.a.neurons[0].bias

    def forward(self, x):
        return self.b([v * self.scale for v in self.a(x)])[0]

    def config(self):
        return {"width": self.width}


def test_user_modules_and_shared_parameters_are_listed_once():
    model = Tied()
    names = [n for n, _ in model.named_parameters()]
    assert "scale" in names
    assert len(model.parameters()) == 6 + 1 + 2  # the shared bias once
    assert isinstance(model([1.0, 2.0]), Value)


class Odd(Module):
    """Attributes that are not all parameters or children: mixed lists, private ones."""

    def __init__(self):
        self.mixed = [Value(1.0), 2.0]  # not all Values: not a parameter
        self.pair = (Value(3.0), Value(4.0))
        self.parts = [Layer(1, 1, seed=0), Activation("relu")]
        self.not_parts = [Layer(1, 1, seed=0), 3]  # not all Modules: not children
        self._private = Value(5.0)
        self.again = self.parts[0]  # the same child under two names


def test_parameters_are_named_parameters_without_the_names():
    for model in (Odd(), Tied(), MLP(2, [3, 1], seed=0)):
        assert model.parameters() == [v for _, v in model.named_parameters()]
    names = [n for n, _ in Odd().named_parameters()]
    assert names == ["pair.0", "pair.1", "parts.0.neurons.0.weight.0", "parts.0.neurons.0.bias"]
    assert [n for n, _ in Odd().named_children()] == ["parts.0", "parts.1", "again"]


def test_train_and_eval_reach_every_module_inside():
    model = Sequential(Layer(2, 4), Dropout(0.5), Sequential(BatchNorm(4), Activation("tanh")))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_apply_visits_children_then_parent():
    seen = []
    model = Sequential(Layer(2, 2), Activation("relu"))
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Sequential" and seen.count("Neuron") == 2


def test_repr_is_short_and_shows_the_shape():
    text = repr(MLP(2, [16, 1]))
    assert "Layer(2, 16, activation='relu')" in text
    assert "Layer(16, 1, activation='linear')" in text
    assert "Neuron" not in text


# --- state_dict ----------------------------------------------------------------------------


def test_state_dict_holds_plain_numbers_and_is_a_copy():
    model = MLP(2, [2, 1], seed=0)
    state = model.state_dict()
    assert list(state) == [
        "layers.0.neurons.0.weight", "layers.0.neurons.0.bias",
        "layers.0.neurons.1.weight", "layers.0.neurons.1.bias",
        "layers.1.neurons.0.weight", "layers.1.neurons.0.bias",
    ]
    assert all(isinstance(x, float) for x in state["layers.0.neurons.0.weight"])
    state["layers.0.neurons.0.weight"][0] = 99.0
    assert model.layers[0].neurons[0].weight[0].data != 99.0


def test_load_state_dict_copies_numbers_into_the_same_values():
    source, target = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    before = target.parameters()
    target.load_state_dict(source.state_dict())
    assert target.parameters() == before  # same Value objects: optimizers keep working
    assert target.state_dict() == source.state_dict()
    assert target([0.2, 0.4]).data == source([0.2, 0.4]).data


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.pop("layers.1.neurons.0.bias"), "missing keys: layers.1.neurons.0.bias"),
    (lambda s: s.update(extra=1.0), "unexpected keys: extra"),
    (lambda s: s.update({"layers.0.neurons.0.weight": [1.0]}), "expected 2 numbers, got 1"),
    (lambda s: s.update({"layers.0.neurons.0.bias": [1.0]}), "expected a finite number"),
    (lambda s: s.update({"layers.0.neurons.0.bias": float("nan")}), "expected a finite number"),
    (lambda s: s.update({"layers.0.neurons.1.weight": [1.0, "x"]}), "entry 1 is 'x'"),
    (lambda s: s.update({"layers.0.neurons.1.weight": 3.0}), "expected a list of 2 numbers"),
])
def test_bad_state_dict_is_refused_and_changes_nothing(damage, message):
    model = MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    state = MLP(2, [2, 1], seed=5).state_dict()
    state["layers.0.neurons.0.bias"] = 123.0  # a good entry that must not be loaded
    damage(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_non_strict_loading_reports_what_it_skipped():
    model = MLP(2, [2, 1], seed=0)
    state = {"layers.0.neurons.0.bias": 0.5, "stray": 1.0}
    result = model.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["stray"]
    assert "layers.1.neurons.0.weight" in result.missing_keys
    assert model.layers[0].neurons[0].bias.data == 0.5


# --- files ---------------------------------------------------------------------------------


def test_save_and_load_rebuild_the_same_model(tmp_path):
    model = MLP(2, [5, 3], activation="tanh", seed=0, negative_slope=0.2)
    path = model.save(tmp_path / "model.json")
    loaded = MLP.load(path)
    assert type(loaded) is MLP
    assert loaded.state_dict() == model.state_dict()
    assert loaded.layers[0].neurons[0].activation == "tanh"
    assert [v.data for v in loaded([0.1, 0.2])] == [v.data for v in model([0.1, 0.2])]
    document = json.loads((tmp_path / "model.json").read_text())
    assert document["class"] == "nn.layers.MLP"
    assert os.listdir(tmp_path) == ["model.json"]  # no temporary file left behind


def test_every_kind_of_module_survives_a_round_trip(tmp_path):
    model = Sequential(Layer(2, 4, "linear", seed=0), BatchNorm(4, momentum=None),
                       Activation("leaky_relu", 0.1), Dropout(0.25), GaussianNoise(0.1),
                       LayerNorm(4), Neuron(4, activation="sigmoid", seed=1))
    model([[1.0, 2.0], [0.5, -1.0]])  # moves BatchNorm's running statistics
    loaded = Module.load(model.save(tmp_path / "seq.json"))
    assert [type(m) for m in loaded] == [type(m) for m in model]
    assert loaded.state_dict() == model.state_dict()
    assert loaded[3].p == 0.25 and loaded[2].negative_slope == 0.1
    model.eval()
    loaded.eval()
    assert loaded([0.3, 0.3]).data == model([0.3, 0.3]).data


def test_user_module_round_trip(tmp_path):
    model = Tied(width=3)
    loaded = Tied.load(model.save(tmp_path / "tied.json"))
    assert loaded.state_dict() == model.state_dict()


def test_save_overwrites_atomically_and_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    old = MLP(2, [1], seed=0)
    old.save(path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [1], seed=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_unsaveable_state_writes_nothing(tmp_path):
    model = BatchNorm(2)
    model.running_mean = [float("inf"), 0.0]
    with pytest.raises(ValueError):
        model.save(tmp_path / "bad.json")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_saving_a_non_finite_parameter_names_it_and_writes_nothing(tmp_path, bad):
    model = MLP(2, [2, 1], seed=0)
    model.layers[0].neurons[1].weight[0].data = bad
    path = tmp_path / "model.json"
    with pytest.raises(ValueError, match=(
        rf"cannot save .*model\.json: parameter 'layers\.0\.neurons\.1\.weight\.0' is {bad!r}"
    )):
        model.save(path)
    assert os.listdir(tmp_path) == []


def test_saving_a_non_finite_buffer_names_it(tmp_path):
    model = BatchNorm(2)
    model.running_var = [1.0, float("inf")]
    with pytest.raises(ValueError, match="buffer 'running_var.1' is inf"):
        model.save(tmp_path / "bn.json")
    assert os.listdir(tmp_path) == []


def test_a_huge_integer_in_a_state_dict_is_a_value_error_naming_the_entry():
    model = MLP(2, [1], seed=0)
    state = model.state_dict()
    before = dict(state)
    state["layers.0.neurons.0.bias"] = 10**400
    with pytest.raises(ValueError, match=(
        r"layers\.0\.neurons\.0\.bias: expected a finite number, got an integer of 401 digits"
    )):
        model.load_state_dict(state)
    state["layers.0.neurons.0.bias"] = 0.0
    state["layers.0.neurons.0.weight"] = [0.0, -(10**5000)]
    with pytest.raises(ValueError, match=r"entry 1 is an integer of about 500[01] digits"):
        model.load_state_dict(state)
    assert model.state_dict() == before


def write(tmp_path, content):
    path = tmp_path / "file.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def good_document():
    model = MLP(2, [2, 1], seed=0)
    return json.loads(json.dumps({"format": "chainrule.module", "version": 1,
                                  "class": "nn.layers.MLP", "config": model.config(),
                                  "state_dict": model.state_dict()}))


@pytest.mark.parametrize("content, message", [
    (lambda d: json.dumps(d)[:-40], "not valid JSON"),
    (lambda d: b"\x89PNG\r\n\x1a\n\x00\x00", "not valid JSON"),
    (lambda d: pickle.dumps({"a": 1}), "not valid JSON"),
    (lambda d: "[1, 2, 3]", "expected a JSON object"),
    (lambda d: '{"weights": [1, 2]}', "format is None"),
    (lambda d: json.dumps({**d, "version": 99}), "version 99 is not supported"),
    (lambda d: json.dumps({**d, "class": "os.system"}), "unknown model class 'os.system'"),
    (lambda d: json.dumps({**d, "class": "nn.layers.Sequential"}), "not a MLP"),
    (lambda d: json.dumps({**d, "config": {"nin": 2, "sizes": "x"}}), "cannot rebuild"),
    (lambda d: json.dumps({**d, "config": {"bogus": 1}}), "cannot rebuild"),
    (lambda d: json.dumps({**d, "state_dict": {}}), "missing keys"),
    (lambda d: json.dumps(d).replace("0.", "NaN, 0.", 1), "not valid JSON|finite"),
    (lambda d: json.dumps({**d, "version": True}), "version True is not supported"),
    (lambda d: json.dumps({**d, "version": 1.0}), "version 1.0 is not supported"),
    (lambda d: json.dumps({**d, "version": "1"}), "version '1' is not supported"),
    (lambda d: json.dumps(d).replace(
        json.dumps(d["state_dict"]["layers.0.neurons.0.weight"][0]), "9" * 400, 1),
     r"layers\.0\.neurons\.0\.weight: entry 0 is an integer of 400 digits"),
])
def test_truncated_or_foreign_files_raise_value_error(tmp_path, content, message):
    path = write(tmp_path, content(good_document()))
    with pytest.raises(ValueError, match=message):
        MLP.load(path)


def test_the_good_document_itself_loads(tmp_path):
    assert isinstance(MLP.load(write(tmp_path, json.dumps(good_document()))), MLP)


def numbers_in(state):
    return sum(len(v) if isinstance(v, list) else 1 for v in state.values())


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=3), st.booleans(),
       st.booleans(), st.booleans())
def test_state_size_counts_the_state_dict_without_building(nin, sizes, bias, affine, track):
    for model in (MLP(nin, sizes, bias=bias), Layer(nin, sizes[0], bias=bias),
                  Neuron(nin, bias=bias),
                  BatchNorm(nin, affine=affine, track_running_stats=track),
                  LayerNorm([nin], elementwise_affine=affine, bias=bias),
                  Sequential(Layer(nin, 2, bias=bias), Dropout(0.1), GaussianNoise(0.1),
                             Activation("tanh"), BatchNorm(2, affine=affine))):
        assert type(model).state_size(model.config()) == numbers_in(model.state_dict())
    assert Tied.state_size(Tied().config()) is None  # a user module that cannot tell


def forbid_building(monkeypatch):
    def refuse(cls, config):
        raise AssertionError(f"load built a {cls.__name__} before checking the file's size")

    for cls in (Module, Sequential):
        monkeypatch.setattr(cls, "from_config", classmethod(refuse))


@pytest.mark.parametrize("config", [
    {"nin": 2, "sizes": [10**9, 1]},
    {"nin": 10**12, "sizes": [1]},
    {"nin": 2, "sizes": [2, 1], "bias": False},  # small, but not what the file holds
])
def test_a_config_larger_than_its_state_dict_is_refused_before_building(
        tmp_path, monkeypatch, config):
    path = write(tmp_path, json.dumps({**good_document(), "config": config}))
    forbid_building(monkeypatch)
    with pytest.raises(ValueError, match=r"describes \d+ numbers .* the state_dict holds 9"):
        MLP.load(path)


def test_a_sequential_asking_for_huge_layers_is_refused_before_building(tmp_path, monkeypatch):
    model = Sequential(Layer(2, 3, seed=0), BatchNorm(3), LayerNorm(3))
    saved = model.save(tmp_path / "m.json")
    assert isinstance(Module.load(saved), Sequential)  # the honest file loads
    with open(saved) as f:
        document = json.load(f)
    for i, key in [(0, "nout"), (1, "num_features"), (2, "normalized_shape")]:
        bad = json.loads(json.dumps(document))
        bad["config"]["modules"][i]["config"][key] = 10**9
        path = write(tmp_path, json.dumps(bad))
        with monkeypatch.context() as patch:
            forbid_building(patch)
            with pytest.raises(ValueError, match="describes .* numbers"):
                Module.load(path)


@pytest.mark.parametrize("inner", [[1], "x", None])
def test_a_nested_config_that_is_not_a_dict_is_a_value_error(tmp_path, inner):
    document = {"format": "chainrule.module", "version": 1, "class": "nn.layers.Sequential",
                "config": {"modules": [{"class": "nn.layers.Sequential", "config": inner}]},
                "state_dict": {}}
    with pytest.raises(ValueError, match="cannot rebuild"):
        Module.load(write(tmp_path, json.dumps(document)))


def test_numpy_whole_numbers_are_sizes_too(tmp_path):
    n = np.int64(3)
    model = Sequential(MLP(2, [n, n]), Layer(n, 2), BatchNorm(np.int32(2)), LayerNorm(n - 1))
    assert model.layers[0].config()["sizes"] == [3, 3]
    assert type(model.layers[1].nout) is int and type(model.layers[2].num_features) is int
    assert Module.load(model.save(tmp_path / "m.json")).state_dict() == model.state_dict()
