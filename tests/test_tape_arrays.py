"""Tape.value_and_grad: the tape with parameters and gradients as numpy vectors."""

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tape_cases import close, eager_batch, make_mlp, moons, torch_hinge_loss

import autograd.tape as tape_module
from autograd import Value
from autograd.tape import Tape, trace


@contextlib.contextmanager
def values_at(params, vector):
    """The Values hold `vector`'s numbers inside the block, their own again after it."""
    saved = [p.data for p in params]
    for p, x in zip(params, vector):
        p.data = float(x)
    try:
        yield
    finally:
        for p, x in zip(params, saved):
            p.data = x


def hinge_mlp(sizes, seed=0):
    """An MLP's hinge loss for one example, its parameters, and an L2 penalty on them."""
    model, params = make_mlp(sizes, seed)

    def hinge(x, label):
        return (1 + -label * model(x)).relu()

    def l2():
        return 1e-3 * sum(p * p for p in params)

    return hinge, params, l2


def state(params):
    return [(p.data, p.grad) for p in params]


# --- at the Values' own numbers: what backward adds to .grad --------------------------------


@pytest.mark.parametrize("case", ["mean", "sum", "penalty", "has_aux"])
def test_value_and_grad_equals_what_backward_adds_and_changes_no_value(case):
    hinge, params, l2 = hinge_mlp([2, 8, 8, 1], seed=1)
    X, y = moons(40, seed=1)
    reduction = "sum" if case == "sum" else "mean"
    def with_aux(x, t):
        loss = hinge(x, t)
        return loss, [loss * 2.0, Value(0.0) + t]

    fn = with_aux if case == "has_aux" else hinge
    tape = trace(fn, params, (X[0], y[0]), penalty=l2 if case == "penalty" else None,
                 has_aux=case == "has_aux")
    for p in params:
        p.grad = 0.25  # something to keep
    before = state(params)

    result, grads = tape.value_and_grad(X, y, reduction=reduction)
    result_vector, grads_vector = tape.value_and_grad(X, y, params=tape.parameter_vector(),
                                                      reduction=reduction)
    assert state(params) == before

    for p in params:
        p.grad = 0.0
    expected = tape.backward(X, y, reduction=reduction)
    expected_grads = [p.grad for p in params]

    assert isinstance(grads, np.ndarray) and grads.shape == (len(params),)
    assert grads.dtype == np.float64
    close(grads, expected_grads, rtol=1e-12)
    close(grads_vector, expected_grads, rtol=1e-12)
    assert np.any(grads != 0.0)
    if case == "has_aux":
        (loss, aux), (loss_vector, aux_vector) = result, result_vector
        expected_loss, expected_aux = expected
        assert aux.shape == (len(X), 2)
        close(aux, expected_aux, rtol=1e-12)
        close(aux_vector, expected_aux, rtol=1e-12)
    else:
        loss, loss_vector, expected_loss = result, result_vector, expected
    assert isinstance(loss, float)
    close(loss, expected_loss, rtol=1e-12)
    close(loss_vector, expected_loss, rtol=1e-12)


def test_parameter_vector_is_a_new_array_of_the_values_numbers():
    hinge, params, _ = hinge_mlp([2, 4, 1])
    X, y = moons(5)
    tape = trace(hinge, params, (X[0], y[0]))
    theta = tape.parameter_vector()
    assert theta.tolist() == [p.data for p in params]
    theta += 1.0
    assert tape.parameter_vector().tolist() == [p.data for p in params]
    assert tape.parameter_vector() is not tape.parameter_vector()


def test_grads_are_a_new_array_each_call():
    hinge, params, _ = hinge_mlp([2, 4, 1])
    X, y = moons(10)
    tape = trace(hinge, params, (X[0], y[0]))
    theta = tape.parameter_vector()
    _, first = tape.value_and_grad(X, y, params=theta)
    kept = first.copy()
    _, second = tape.value_and_grad(X, y, params=theta + 0.5)
    assert second is not first
    assert first.tolist() == kept.tolist()


# --- at another vector: the eager engine with the Values set to it ---------------------------


@pytest.mark.parametrize("penalty", [False, True])
def test_value_and_grad_at_another_vector_equals_eager_there(penalty):
    hinge, params, l2 = hinge_mlp([2, 16, 16, 1], seed=2)
    X, y = moons(50, seed=2)
    penalty = l2 if penalty else None
    tape = trace(hinge, params, (X[0], y[0]), penalty=penalty)
    theta = tape.parameter_vector() + np.random.default_rng(0).normal(0, 0.3, len(params))
    theta_before = theta.copy()
    before = state(params)

    loss, grads = tape.value_and_grad(X, y, params=theta)

    assert state(params) == before
    assert theta.tolist() == theta_before.tolist()
    with values_at(params, theta):
        eager_loss, eager_grads, _ = eager_batch(hinge, params, (X, y), penalty=penalty)
    close(loss, eager_loss)
    close(grads, eager_grads)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    n=st.integers(1, 12),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.01, 3.0),
    reduction=st.sampled_from(["mean", "sum"]),
)
def test_random_mlps_at_random_vectors_match_eager(sizes, n, seed, scale, reduction):
    hinge, params, _ = hinge_mlp([2, *sizes, 1], seed=seed)
    X, y = moons(n, seed=seed)
    tape = trace(hinge, params, (X[0], y[0]))
    theta = np.random.default_rng(seed).normal(0, scale, len(params))
    before = state(params)

    loss, grads = tape.value_and_grad(X, y, params=theta, reduction=reduction)

    assert state(params) == before
    with values_at(params, theta):
        eager_loss, eager_grads, _ = eager_batch(hinge, params, (X, y), reduction)
    close(loss, eager_loss)
    close(grads, eager_grads)


def test_value_and_grad_matches_pytorch_at_a_vector():
    torch = pytest.importorskip("torch")
    hinge, params, l2 = hinge_mlp([2, 16, 16, 1], seed=3)
    X, y = moons(30, seed=3)
    tape = trace(hinge, params, (X[0], y[0]), penalty=l2)
    theta = np.random.default_rng(3).normal(0, 0.5, len(params))
    loss, grads = tape.value_and_grad(X, y, params=theta)

    flat = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    torch_loss = torch_hinge_loss(torch, flat, X, y, [2, 16, 16, 1]) + 1e-3 * (flat * flat).sum()
    torch_loss.backward()
    close(loss, torch_loss.item())
    close(grads, flat.grad.numpy())


def test_gradient_descent_on_a_vector_follows_backward_and_data_updates():
    hinge, params, l2 = hinge_mlp([2, 8, 8, 1], seed=4)
    twin_hinge, twin, twin_l2 = hinge_mlp([2, 8, 8, 1], seed=4)
    X, y = moons(40, seed=4)
    tape = trace(hinge, params, (X[0], y[0]), penalty=l2)
    twin_tape = trace(twin_hinge, twin, (X[0], y[0]), penalty=twin_l2)
    initial = state(params)

    theta = tape.parameter_vector()
    losses, twin_losses = [], []
    for _ in range(20):
        loss, g = tape.value_and_grad(X, y, params=theta)
        theta -= 0.1 * g
        losses.append(loss)
        for p in twin:
            p.grad = 0.0
        twin_losses.append(twin_tape.backward(X, y))
        for p in twin:
            p.data -= 0.1 * p.grad

    close(theta, [p.data for p in twin], rtol=1e-12)
    close(losses, twin_losses, rtol=1e-12)
    assert losses[-1] < 0.8 * losses[0]
    assert state(params) == initial


# --- bad params: a clear error, and nothing changed ----------------------------------------


@pytest.mark.parametrize("bad, error, message", [
    (lambda n: np.zeros(n - 1), ValueError,
     r"params has 16 numbers, but the tape has 17 parameters; pass one number per tape.params"),
    (lambda n: np.zeros(n + 3), ValueError, "params has 20 numbers"),
    (lambda n: np.zeros((1, n)), ValueError,
     r"params must be a 1-D array of real numbers, one per tape.params.*got shape \(1, 17\)"),
    (lambda n: np.zeros(n, dtype=complex), TypeError, "dtype complex128"),
    (lambda n: [0.5] * (n - 1) + [float("nan")], ValueError, r"finite; params\[16\] is nan"),
    (lambda n: np.r_[np.inf, np.zeros(n - 2), -np.inf], ValueError,
     r"params\[0\] is inf \(2 non-finite numbers in all\)"),
    (lambda n: "0.1", TypeError, "dtype <U3"),
    (lambda n: ["0.1"] * n, TypeError, "dtype <U3"),
    (lambda n: [0.1] * (n - 1) + [None], TypeError, "dtype object"),
    (lambda n: np.ones(n, dtype=bool), TypeError, "dtype bool"),
    (lambda n: [[0.1, 0.2], [0.3]], TypeError, "numpy cannot read the list"),
    (lambda n: 0.5, ValueError, r"got shape \(\)"),
])
def test_bad_params_raise_a_clear_error_and_change_nothing(bad, error, message):
    hinge, params, _ = hinge_mlp([2, 4, 1])
    X, y = moons(10)
    tape = trace(hinge, params, (X[0], y[0]))
    theta = tape.parameter_vector() * 0.5
    expected = tape.value_and_grad(X, y, params=theta)
    before, traces = state(params), tape.traces

    with pytest.raises(error, match=rf"^value_and_grad\(\): .*{message}"):
        tape.value_and_grad(X, y, params=bad(len(params)))

    assert state(params) == before and tape.traces == traces
    loss, grads = tape.value_and_grad(X, y, params=theta)
    assert loss == expected[0] and grads.tolist() == expected[1].tolist()


def test_integer_and_float32_vectors_are_read_as_floats():
    w = [Value(0.5), Value(2.0)]
    tape = trace(lambda x: w[0] * x[0] * x[0] + w[1] * x[1], w, (np.zeros(2),))
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    loss, grads = tape.value_and_grad(X, params=[2, -1], reduction="sum")
    assert loss == 2 * (1 + 9) - (2 + 4) and grads.tolist() == [10.0, 6.0]
    loss32, grads32 = tape.value_and_grad(X, params=np.array([2, -1], np.float32), reduction="sum")
    assert (loss32, grads32.tolist()) == (loss, grads.tolist())
    assert [v.data for v in w] == [0.5, 2.0] and all(type(v.data) is float for v in w)


def test_reduction_and_output_shape_errors_name_value_and_grad():
    w = Value(1.0)
    tape = trace(lambda x: x[0] * w, [w], (np.zeros(1),))
    with pytest.raises(ValueError, match=r"value_and_grad\(\): reduction must be 'mean' or 'sum'"):
        tape.value_and_grad(np.ones((2, 1)), reduction="max")
    with pytest.raises(ValueError, match=r"backward\(\): reduction"):
        tape.backward(np.ones((2, 1)), reduction="max")
    pair = trace(lambda x: [x[0] * w, x[0] + w], [w], (np.zeros(1),))
    with pytest.raises(TypeError, match=r"value_and_grad\(\) needs fn to return one Value"):
        pair.value_and_grad(np.ones((2, 1)), params=[1.0])


def growing_model():
    """fn of a model whose parameter list can grow, and the list."""
    layers = [[Value(0.5), Value(-0.25)]]

    def fn(x):
        return sum((w * x[0] for layer in layers for w in layer), Value(0.0)) ** 2

    return fn, layers, lambda: [w for layer in layers for w in layer]


def test_after_the_model_grows_a_vector_is_checked_against_the_new_parameters():
    fn, layers, parameters = growing_model()
    tape = trace(fn, parameters, (np.ones(1),))
    X = np.array([[1.0], [2.0]])
    theta = tape.parameter_vector()
    layers.append([Value(0.75)])
    with pytest.raises(ValueError, match=r"params has 2 numbers, but the tape has 3 parameters "
                                         r"\(the model's parameters changed, so the tape traced "
                                         r"fn again\).*tape.parameter_vector\(\)"):
        tape.value_and_grad(X, params=theta)
    assert len(tape.params) == 3 and tape.traces == 2
    for vector in (np.r_[theta, 1.0], np.r_[theta, -1.0]):
        loss, grads = tape.value_and_grad(X, params=vector)
        with values_at(tape.params, vector):
            eager_loss, eager_grads, _ = eager_batch(fn, tape.params, (X,))
        close(loss, eager_loss)
        close(grads, eager_grads)


def test_a_vector_for_the_grown_model_is_taken_at_once():
    fn, layers, parameters = growing_model()
    tape = trace(fn, parameters, (np.ones(1),))
    X = np.array([[1.0], [2.0]])
    layers.append([Value(0.75)])
    vector = np.array([1.0, 2.0, -4.0])
    before = state(parameters())
    loss, grads = tape.value_and_grad(X, params=vector)
    assert tape.traces == 2 and state(parameters()) == before
    with values_at(parameters(), vector):
        eager_loss, eager_grads, _ = eager_batch(fn, parameters(), (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)


# --- examples the eager engine computes: at the vector, and the Values restored after ----------


def branchy(w):
    """A neuron with a jump at z = 0: a guard, so examples of the other sign take another
    program, and one within rounding of 0 goes to the eager engine."""

    def fn(x):
        z = w[0] * x[0] + w[1] * x[1] + w[2]
        return z * z + w[0] if z.data > 0 else -0.5 * z + w[1] * w[2]

    return fn


# At the Values' numbers (2, 1, 0) every z is >= 0; at THETA (0.5, -0.5, 0) the signs are
# mixed and the third example's z is 0.5 * (0.1 + 0.2) - 0.5 * 0.3, about 3e-17: the tape
# cannot tell its side, so the eager engine computes it.
BRANCH_X = np.array([[1.0, 1.0], [3.0, 1.0], [0.1 + 0.2, 0.3], [-1.0, 2.0], [2.0, 4.0],
                     [4.0, -1.0]])
THETA = np.array([0.5, -0.5, 0.0])


@pytest.fixture
def eager_numbers(monkeypatch):
    """The parameters' numbers each time the eager engine computes an example, in a list."""
    seen = []
    eager_example = Tape._eager_example

    def spy(self, *args, **kwargs):
        result = eager_example(self, *args, **kwargs)
        seen.append([p.data for p in self.params])
        return result

    monkeypatch.setattr(Tape, "_eager_example", spy)
    return seen


@pytest.mark.parametrize("max_programs", [64, 1])
def test_guarded_paths_and_eager_examples_are_computed_at_the_vector(monkeypatch, max_programs,
                                                                   eager_numbers):
    # With max_programs=1 every example off the first program's path runs eagerly.
    monkeypatch.setattr(tape_module, "MAX_PROGRAMS", max_programs)
    w = [Value(2.0), Value(1.0), Value(0.0)]
    fn = branchy(w)
    tape = trace(fn, w, (BRANCH_X[1],))
    assert tape.traces == 1
    seen = eager_numbers
    before = state(w)

    loss, grads = tape.value_and_grad(BRANCH_X, params=THETA)
    losses, aux_free_grads = tape.value_and_grad(BRANCH_X, params=THETA, reduction="sum")

    assert state(w) == before
    assert seen and all(data == THETA.tolist() for data in seen)
    assert tape.traces == (2 if max_programs == 64 else 1)
    with values_at(w, THETA):
        eager_loss, eager_grads, _ = eager_batch(fn, w, (BRANCH_X,))
        eager_sum, eager_sum_grads, _ = eager_batch(fn, w, (BRANCH_X,), "sum")
    close(loss, eager_loss)
    close(grads, eager_grads)
    close(losses, eager_sum)
    close(aux_free_grads, eager_sum_grads)
    # and at the Values' own numbers, after all that, the tape still agrees with eager
    for p in w:
        p.grad = 0.0
    own_loss = tape.backward(BRANCH_X)
    expected_loss, expected_grads, _ = eager_batch(fn, w, (BRANCH_X,))
    close(own_loss, expected_loss)
    close([p.grad for p in w], expected_grads)


def test_a_new_path_is_traced_at_the_vector(monkeypatch):
    w = [Value(2.0), Value(1.0), Value(0.0)]
    fn = branchy(w)
    tape = trace(fn, w, (BRANCH_X[1],), check=False)
    X = BRANCH_X[[4]]  # z = 8 at the Values' numbers, -1 at THETA
    eager_calls = []
    eager_example = Tape._eager_example

    def spy(self, *args, **kwargs):
        eager_calls.append(args)
        return eager_example(self, *args, **kwargs)

    monkeypatch.setattr(Tape, "_eager_example", spy)
    loss, grads = tape.value_and_grad(X, params=THETA)
    # The z <= 0 path, which the example takes at THETA only, is traced and replays it;
    # traced at the Values' numbers it would be the z > 0 path again, and of no use to it.
    assert tape.traces == 2
    assert eager_calls == []
    with values_at(w, THETA):
        eager_loss, eager_grads, _ = eager_batch(fn, w, (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)


def test_the_values_get_their_numbers_back_after_an_error_or_an_interrupt(monkeypatch):
    w = [Value(1.0), Value(1.0)]

    def fn(x):
        return (w[0] * x[0]).log() + w[1] * x[1]

    tape = trace(fn, w, (np.array([1.0, 1.0]),))
    X = np.array([[1.0, 2.0], [2.0, 3.0]])
    before = state(w)
    # at w0 = -1 the log's input is negative: the tape meets nan and the eager engine raises
    with pytest.raises(ValueError, match="example 0 of the batch: log"):
        tape.value_and_grad(X, params=[-1.0, 0.5])
    assert state(w) == before

    eager_example = Tape._eager_example

    def interrupted(self, *args, **kwargs):
        eager_example(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Tape, "_eager_example", interrupted)
    w3 = [Value(2.0), Value(1.0), Value(0.0)]
    branchy_tape = trace(branchy(w3), w3, (BRANCH_X[1],))
    before = state(w3)
    with pytest.raises(KeyboardInterrupt):
        branchy_tape.value_and_grad(BRANCH_X, params=THETA)
    assert state(w3) == before


def test_non_finite_local_derivatives_are_redone_eagerly_at_the_vector(eager_numbers):
    # sqrt at 0 has an infinite derivative; times the 0 gradient x[1] the tape gets nan
    # where the eager engine stops at the 0: those examples are redone eagerly.
    w, v = Value(1.0), Value(3.0)

    def fn(x):
        return (w * x[0]).sqrt() * x[1] + v * v * x[2]

    tape = trace(fn, [w, v], (np.array([1.0, 1.0, 1.0]),))
    X = np.array([[0.0, 0.0, 2.0], [4.0, 1.0, 1.0], [0.0, 0.0, -1.0]])
    seen = eager_numbers
    theta = np.array([0.25, -2.0])

    loss, grads = tape.value_and_grad(X, params=theta)

    assert seen and all(data == theta.tolist() for data in seen)
    assert [w.data, v.data] == [1.0, 3.0]
    with values_at([w, v], theta):
        eager_loss, eager_grads, _ = eager_batch(fn, [w, v], (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)
