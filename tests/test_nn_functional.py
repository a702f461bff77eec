"""nn.functional against torch.nn.functional (float64) and central differences."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nested import backward_with, values

from autograd import Value, gradcheck
from autograd.nested import flatten
from nn import functional as F

SETTINGS = settings(max_examples=30, deadline=None)


def compare(torch, ours, theirs, x):
    xs = values(x)
    out = ours(xs)
    t_x = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    t_out = theirs(t_x)
    np.testing.assert_allclose([v.data for v in flatten(out)], t_out.detach().numpy().ravel(),
                               rtol=1e-9, atol=1e-12)
    cotangent = np.linspace(0.5, 1.5, t_out.numel()).reshape(t_out.shape)
    backward_with(out, cotangent)
    t_out.backward(torch.tensor(cotangent, dtype=torch.float64))
    np.testing.assert_allclose([v.grad for v in flatten(xs)], t_x.grad.numpy().ravel(),
                               rtol=1e-9, atol=1e-12)


# Within +-6: further out 1 - tanh(x)² cancels so much that one ulp of difference
# between libm's tanh and torch's shows up above 1e-9 in the derivative.
matrices = st.sampled_from([(5,), (3, 4), (1, 2)]).flatmap(
    lambda shape: st.lists(st.floats(-6, 6), min_size=int(np.prod(shape)),
                           max_size=int(np.prod(shape))).map(
        lambda xs: np.array(xs).reshape(shape)))


@SETTINGS
@given(matrices)
def test_elementwise_activations_match_torch(torch, x):
    tf = torch.nn.functional
    compare(torch, F.relu, tf.relu, x)
    compare(torch, lambda v: F.leaky_relu(v, 0.2), lambda v: tf.leaky_relu(v, 0.2), x)
    compare(torch, F.sigmoid, torch.sigmoid, x)
    compare(torch, F.tanh, torch.tanh, x)
    compare(torch, F.softplus, tf.softplus, x)


@SETTINGS
@given(matrices)
def test_softmax_and_log_softmax_match_torch(torch, x):
    compare(torch, F.softmax, lambda v: torch.softmax(v, dim=-1), x)
    compare(torch, F.log_softmax, lambda v: torch.log_softmax(v, dim=-1), x)


@pytest.mark.parametrize("big", [1000.0, -1000.0, 700.0])
def test_softmax_is_stable_for_huge_logits(torch, big):
    x = np.array([[big, 0.0, -big], [big, big, 1.0]])
    compare(torch, F.softmax, lambda v: torch.softmax(v, dim=-1), x)
    compare(torch, F.log_softmax, lambda v: torch.log_softmax(v, dim=-1), x)


def test_softmax_sums_to_one_and_keeps_nesting():
    out = F.softmax([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert len(out) == 2 and all(len(row) == 3 for row in out)
    assert sum(v.data for v in out[0]) == pytest.approx(1.0)
    assert [v.data for v in out[1]] == pytest.approx([1 / 3] * 3)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-4, 4), min_size=3, max_size=3))
def test_log_softmax_gradient_matches_central_differences(xs):
    assert gradcheck(lambda a, b, c: F.log_softmax([a, b, c]), xs)
    assert gradcheck(lambda a, b, c: F.softmax([a, b, c]), xs)


def test_activations_accept_numbers_and_nested_lists():
    assert F.relu(-2.0).data == 0.0
    out = F.sigmoid([[0.0], [math.log(3.0)]])
    assert out[0][0].data == pytest.approx(0.5) and out[1][0].data == pytest.approx(0.75)
    assert F.leaky_relu(Value(-2.0), 0.1).data == pytest.approx(-0.2)


def test_relu_derivative_at_zero_is_zero_like_torch():
    x = Value(0.0)
    F.relu(x).backward()
    assert x.grad == 0.0


def test_softmax_needs_a_list_of_scores():
    with pytest.raises(ValueError, match="list of scores"):
        F.softmax(Value(1.0))
    with pytest.raises(ValueError, match="at least one score"):
        F.log_softmax([])
    with pytest.raises(TypeError, match="str"):
        F.relu("1.0")


def test_unknown_activation_name_lists_the_choices():
    with pytest.raises(ValueError, match="relu, leaky_relu, sigmoid, tanh, linear"):
        F.activation("swish")
