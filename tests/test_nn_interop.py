"""PyTorch interop: model.to_torch() and nn.from_torch give the same numbers both ways."""

import subprocess
import sys

import numpy as np
import pytest

import nn
from autograd import Value
from nn.interop import load_torch_state_dict, state_dict_names, torch_state_dict

X = np.random.default_rng(0).normal(size=(5, 3)).tolist()
Y = [0.5, -1.0, 2.0, 0.0, 1.5]


def _models():
    return {
        "mlp_relu": nn.MLP(3, [6, 5, 1], activation="relu", seed=1),
        "mlp_tanh": nn.MLP(3, [4, 2], activation="tanh", seed=2),
        "mlp_leaky_nobias": nn.MLP(3, [4, 1], activation="leaky_relu", negative_slope=0.2,
                                   bias=False, seed=3),
        "mlp_sigmoid": nn.MLP(3, [4, 1], activation="sigmoid", seed=4),
        "neuron": nn.Neuron(3, "tanh", seed=5),
        "layer": nn.Layer(3, 2, "sigmoid", seed=6),
        "sequential": nn.Sequential(
            nn.Layer(3, 6, "linear", seed=7), nn.BatchNorm(6), nn.Activation("relu"),
            nn.Dropout(0.3), nn.Layer(6, 4, "tanh", seed=8), nn.LayerNorm(4),
            nn.Layer(4, 1, "linear", seed=9),
        ),
        "layernorm_no_bias": nn.Sequential(nn.Layer(3, 4, "linear", seed=10),
                                           nn.LayerNorm(4, bias=False), nn.Activation("tanh"),
                                           nn.Layer(4, 1, "linear", seed=11)),
        "batchnorm_cumulative": nn.Sequential(nn.Layer(3, 4, "linear", seed=12),
                                              nn.BatchNorm(4, momentum=None, affine=False)),
    }


def _perturb(model, seed=0):
    """Non-default norm weights and running statistics, so the test sees them move."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm, nn.LayerNorm)):
            for p in (m.weight or []) + (m.bias or []):
                p.data = float(rng.normal(1.0, 0.3))
        if isinstance(m, nn.BatchNorm) and m.running_mean is not None:
            m.running_mean = rng.normal(size=m.num_features).tolist()
            m.running_var = rng.uniform(0.5, 2.0, size=m.num_features).tolist()
            m.num_batches_tracked = 3
    return model


def _outputs(out):
    """A batch's outputs as an (n, width) array."""
    rows = [o if isinstance(o, list) else [o] for o in out]
    return np.array([[v.data for v in row] for row in rows])


def _loss(outputs):
    return sum(((o - y) ** 2 for o, y in zip(outputs, Y)), Value(0.0))


def _torch_grads(model, tmodel):
    """Each chainrule parameter's gradient read from the torch model, by the name map."""
    grads = {k: p.grad for k, p in tmodel.named_parameters()}
    out = {}
    for ck, (tk, row) in _pairs(model).items():
        if tk in grads:
            g = grads[tk] if row is None else grads[tk][row]
            out[ck] = g.tolist()
    return out


def _grads(model):
    """{state_dict key: gradient(s)} for each parameter entry of `model`."""
    out = {}
    for key, (module, attr, is_parameter) in model._slots().items():
        item = getattr(module, attr)
        if is_parameter:
            out[key] = [p.grad for p in item] if isinstance(item, list) else item.grad
    return out


def _pairs(model):
    out = {}
    for ck, name in state_dict_names(model).to_torch.items():
        if name.endswith("]"):
            tk, row = name[:-1].split("[")
            out[ck] = (tk, int(row))
        else:
            out[ck] = (name, None)
    return out


@pytest.mark.parametrize("name", list(_models()))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_to_torch_same_outputs_and_gradients(torch, name, training):
    model = _perturb(_models()[name])
    uses_dropout = any(isinstance(m, nn.Dropout) for m in model.modules())
    if training and uses_dropout:
        pytest.skip("dropout masks come from each framework's own generator")
    model.train(training)
    tmodel = model.to_torch()
    assert isinstance(tmodel, torch.nn.Module) and tmodel.training == training
    assert all(p.dtype == torch.float64 for p in tmodel.parameters())

    out = model(X)
    tout = tmodel(torch.tensor(X, dtype=torch.float64))
    np.testing.assert_allclose(_outputs(out), tout.detach().numpy(), rtol=0, atol=1e-12)

    model.zero_grad()
    _loss([o if isinstance(o, Value) else o[0] for o in out]).backward()
    y = torch.tensor(Y, dtype=torch.float64)
    ((tout[:, 0] - y) ** 2).sum().backward()
    theirs = _torch_grads(model, tmodel)
    ours = _grads(model)
    assert set(theirs) == set(ours)  # every parameter has its torch counterpart
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, atol=1e-12, err_msg=key)
    # BatchNorm's running statistics moved the same way in training
    theirs = tmodel.state_dict()
    for key, value in torch_state_dict(model).items():
        np.testing.assert_allclose(value.numpy(), theirs[key].numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=key)


def test_from_torch_brings_a_torch_model_back(torch):
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(),
        torch.nn.Linear(8, 2),
    ).double()
    model = nn.from_torch(tmodel)
    assert isinstance(model, nn.MLP) and model.config()["activation"] == "tanh"
    np.testing.assert_allclose(_outputs(model(X)),
                               tmodel(torch.tensor(X, dtype=torch.float64)).detach().numpy(),
                               rtol=0, atol=1e-12)
    # and back again: the very same state_dict
    again = model.to_torch().state_dict()
    assert list(again) == list(tmodel.state_dict())
    for k, v in tmodel.state_dict().items():
        assert torch.equal(v, again[k]), k


def test_from_torch_mixed_and_single_modules(torch):
    torch.manual_seed(1)
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.LeakyReLU(0.1),
        torch.nn.Dropout(0.2), torch.nn.LayerNorm(4), torch.nn.Linear(4, 1), torch.nn.Sigmoid(),
    ).double().eval()
    with torch.no_grad():
        tmodel[1].running_mean.normal_()
        tmodel(torch.zeros(2, 3, dtype=torch.float64))
    model = nn.from_torch(tmodel)
    assert isinstance(model, nn.Sequential) and not model.training
    assert [type(m).__name__ for m in model] == [
        "Layer", "BatchNorm", "Activation", "Dropout", "LayerNorm", "Layer"]
    np.testing.assert_allclose(_outputs(model(X)),
                               tmodel(torch.tensor(X, dtype=torch.float64)).detach().numpy(),
                               rtol=0, atol=1e-12)
    single = nn.from_torch(torch.nn.Linear(3, 2).double())
    assert isinstance(single, nn.MLP) and single.config()["sizes"] == [2]
    # float32 weights come back as the float64 of the same numbers
    f32 = torch.nn.Linear(3, 1)
    back = nn.from_torch(f32)
    assert back.layers[0].neurons[0].weight[0].data == float(f32.weight.detach()[0, 0])


def test_state_dict_names_map_both_ways(torch):
    model = nn.Sequential(nn.Layer(2, 3, "relu", seed=0), nn.BatchNorm(3),
                          nn.Layer(3, 1, "linear", seed=1))
    names = state_dict_names(model)
    assert names.to_torch["layers.0.neurons.2.weight"] == "0.weight[2]"
    assert names.to_torch["layers.0.neurons.2.bias"] == "0.bias[2]"
    assert names.to_torch["layers.1.running_var"] == "2.running_var"
    assert names.to_torch["layers.2.neurons.0.weight"] == "3.weight[0]"
    assert names.from_torch["0.weight"] == [f"layers.0.neurons.{j}.weight" for j in range(3)]
    assert set(names.to_torch) == set(model.state_dict())  # every entry has a counterpart
    tstate = model.to_torch().state_dict()
    assert set(names.from_torch) == set(tstate)
    assert set(torch_state_dict(model)) == set(tstate)


def test_load_torch_state_dict_names_what_does_not_map(torch):
    model = nn.MLP(2, [3, 1], seed=0)
    state = model.to_torch().state_dict()
    state["5.weight"] = torch.zeros(1)
    del state["2.bias"]
    before = model.state_dict()
    with pytest.raises(ValueError) as e:
        load_torch_state_dict(model, state)
    message = str(e.value)
    assert "5.weight" in message and "layers.1.neurons.0.bias (from 2.bias[0])" in message
    assert model.state_dict() == before  # nothing loaded
    state["0.weight"] = state["0.weight"] * 2
    result = load_torch_state_dict(model, state, strict=False)
    assert result.unexpected_keys == ["5.weight"]
    assert result.missing_keys == ["layers.1.neurons.0.bias"]
    assert model.state_dict()["layers.0.neurons.0.weight"] == [
        2 * w for w in before["layers.0.neurons.0.weight"]]


def test_unsupported_modules_are_named(torch):
    model = nn.Sequential(nn.Layer(2, 2, "linear"), nn.GaussianNoise(0.1))
    with pytest.raises(TypeError, match=r"GaussianNoise at 'layers.1' has no PyTorch"):
        model.to_torch()
    with pytest.raises(TypeError, match=r"Conv1d at index 1 has no chainrule counterpart"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Conv1d(1, 1, 1)))
    with pytest.raises(TypeError, match="flatten it first"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 2))))
    with pytest.raises(TypeError, match="takes a torch.nn.Module"):
        nn.from_torch([1, 2])


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_torch_is_imported_only_when_used():
    result = _run("import sys, nn, autograd, viz; m = nn.MLP(2, [2, 1]); m.state_dict(); "
                  "print('torch' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_clear_error_without_torch():
    # sys.modules["torch"] = None makes "import torch" fail as it does where torch is missing
    result = _run("import sys; sys.modules['torch'] = None\nimport nn\n"
                  "try:\n    nn.MLP(2, [1]).to_torch()\nexcept ImportError as e:\n    print(e)\n")
    assert result.returncode == 0, result.stderr
    assert "PyTorch is not installed" in result.stdout
    assert "pip install 'chainrule[torch]'" in result.stdout


@pytest.mark.slow
def test_hand_over_training_continues_in_torch(torch):
    """A step in chainrule then a step in torch equals two steps in torch (and in chainrule)."""
    Xm, ym = nn.data.make_moons(20, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)

    def chainrule_step(m, opt):
        opt.zero_grad()
        loss = nn.losses.mse_loss(m(Xm), ym.tolist())
        loss.backward()
        opt.step()
        return loss.data

    opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.0)
    chainrule_step(model, opt)
    tmodel = model.to_torch()
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1)
    tX, ty = torch.tensor(Xm), torch.tensor(ym, dtype=torch.float64)
    topt.zero_grad()
    tloss = torch.nn.functional.mse_loss(tmodel(tX)[:, 0], ty)
    tloss.backward()
    topt.step()
    loss2 = chainrule_step(model, opt)
    assert abs(loss2 - tloss.item()) < 1e-12
    for k, v in model.to_torch().state_dict().items():
        np.testing.assert_allclose(v.numpy(), tmodel.state_dict()[k].numpy(), atol=1e-12)
