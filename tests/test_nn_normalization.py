"""BatchNorm and LayerNorm against torch.nn.BatchNorm1d / LayerNorm in float64."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nested import backward_with, data_of, values

from autograd.nested import flatten
from nn import BatchNorm, LayerNorm, Sequential

RTOL, ATOL = 1e-9, 1e-12


def copy_affine(torch, ours, theirs, rng):
    w = rng.uniform(0.5, 2.0, size=len(ours.weight))
    b = rng.uniform(-1.0, 1.0, size=len(ours.weight))
    for v, x in zip(ours.weight, w):
        v.data = float(x)
    if ours.bias is not None:
        for v, x in zip(ours.bias, b):
            v.data = float(x)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
        if theirs.bias is not None:
            theirs.bias.copy_(torch.tensor(b))


def compare_forward_backward(torch, ours, theirs, x, rng):
    xs = values(x)
    out = ours(xs)
    t_x = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    t_out = theirs(t_x)
    np.testing.assert_allclose(data_of(out), t_out.detach().numpy().ravel(), rtol=RTOL, atol=ATOL)
    cotangent = rng.uniform(-1.0, 1.0, size=t_out.shape)
    backward_with(out, cotangent)
    t_out.backward(torch.tensor(cotangent))
    np.testing.assert_allclose([v.grad for v in flatten(xs)],
                               t_x.grad.numpy().ravel(), rtol=1e-9, atol=1e-11)
    if getattr(ours, "weight", None) is not None:
        np.testing.assert_allclose([v.grad for v in ours.weight], theirs.weight.grad.numpy(),
                                   rtol=1e-9, atol=1e-11)
    if getattr(ours, "bias", None) is not None:
        np.testing.assert_allclose([v.grad for v in ours.bias], theirs.bias.grad.numpy(),
                                   rtol=1e-9, atol=1e-11)


batches = st.tuples(st.integers(2, 6), st.integers(1, 4), st.integers(0, 10_000))


@settings(max_examples=25, deadline=None)
@given(batches, st.sampled_from([0.1, 0.3, None]), st.booleans())
def test_batchnorm_train_mode_matches_torch(torch, shape, momentum, affine):
    n, features, seed = shape
    rng = np.random.default_rng(seed)
    ours = BatchNorm(features, momentum=momentum, affine=affine)
    theirs = torch.nn.BatchNorm1d(features, momentum=momentum, affine=affine,
                                  dtype=torch.float64)
    if affine:
        copy_affine(torch, ours, theirs, rng)
    for _ in range(3):  # three batches, so the running statistics move
        for p in ours.parameters():
            p.grad = 0.0
        theirs.zero_grad()
        x = rng.normal(1.0, 2.0, size=(n, features))
        compare_forward_backward(torch, ours, theirs, x, rng)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=RTOL)
    assert ours.num_batches_tracked == theirs.num_batches_tracked.item() == 3
    ours.eval()
    theirs.eval()
    x = rng.normal(size=(3, features))
    np.testing.assert_allclose(data_of(ours(values(x))),
                               theirs(torch.tensor(x)).detach().numpy().ravel(), rtol=RTOL)
    one = data_of(ours(values(x[0])))  # in eval mode one example works alone
    np.testing.assert_allclose(one, theirs(torch.tensor(x[:1])).detach().numpy().ravel(),
                               rtol=RTOL)


def test_batchnorm_without_running_stats_always_uses_the_batch(torch):
    rng = np.random.default_rng(1)
    ours = BatchNorm(3, track_running_stats=False).eval()
    theirs = torch.nn.BatchNorm1d(3, track_running_stats=False, dtype=torch.float64).eval()
    compare_forward_backward(torch, ours, theirs, rng.normal(size=(4, 3)), rng)
    assert "running_mean" not in ours.state_dict()


@settings(max_examples=25, deadline=None)
@given(batches, st.booleans(), st.booleans(), st.booleans())
def test_layernorm_matches_torch(torch, shape, affine, bias, batched):
    n, features, seed = shape
    rng = np.random.default_rng(seed)
    ours = LayerNorm(features, elementwise_affine=affine, bias=bias)
    theirs = torch.nn.LayerNorm(features, elementwise_affine=affine, bias=bias,
                                dtype=torch.float64)
    if affine:
        copy_affine(torch, ours, theirs, rng)
    x = rng.normal(0.5, 3.0, size=(n, features) if batched else (features,))
    compare_forward_backward(torch, ours, theirs, x, rng)


def test_batchnorm_output_has_zero_mean_and_unit_variance_per_feature():
    x = [[1.0, 10.0], [2.0, 20.0], [6.0, 0.0]]
    out = np.array([[v.data for v in row] for row in BatchNorm(2)(x)])
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-4)  # eps = 1e-5


def test_batchnorm_in_training_needs_a_batch():
    with pytest.raises(ValueError, match="needs a batch.*model.eval"):
        BatchNorm(2)([1.0, 2.0])
    with pytest.raises(ValueError, match="more than 1 example"):
        BatchNorm(2)([[1.0, 2.0]])


def test_normalization_checks_the_width():
    with pytest.raises(ValueError, match="expects 3 inputs per example, got 2"):
        BatchNorm(3)([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="expects 3 inputs per example, got 2"):
        LayerNorm(3)([1.0, 2.0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive whole number"):
        BatchNorm(0)
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(2, momentum=1.5)
    with pytest.raises(ValueError, match="eps"):
        LayerNorm(2, eps=-1.0)


def test_running_statistics_are_saved_and_restored(tmp_path):
    model = Sequential(BatchNorm(2))
    model([[1.0, 2.0], [3.0, 8.0]])
    path = model.save(tmp_path / "bn.json")
    loaded = Sequential.load(path)
    assert loaded.state_dict() == model.state_dict()
    assert loaded.layers[0].num_batches_tracked == 1
    assert loaded.layers[0].running_mean == pytest.approx([0.2, 0.5])
