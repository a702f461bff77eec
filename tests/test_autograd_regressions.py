"""Issue 11, the engine part: one test per finding, each checking the real numbers.

Expected values are worked out in the test (closed forms), by central differences or by
PyTorch in float64 (the `torch` fixture skips cleanly without it).
"""

import math
import threading

import numpy as np
import pytest

from autograd import Value, grad, hessian, is_grad_enabled, no_grad, ops
from autograd.grad_mode import enable_grad


def raises(error, fn):
    """The exception `fn()` raises (of class `error`), for checking its message."""
    with pytest.raises(error) as info:
        fn()
    return str(info.value)


# --- '/': d(x/y)/dy is -out/y, so tiny denominators do not overflow on the way ------------


def test_division_gradient_wrt_a_tiny_denominator_is_finite_and_right():
    x, y = Value(1e-300), Value(1e-170)
    (x / y).backward()
    # -x/y² = -1e-300/1e-340 = -1e40; written as -x/(y*y) the y*y underflows to 0
    assert y.grad == pytest.approx(-1e40, rel=1e-12)
    assert x.grad == pytest.approx(1e170, rel=1e-12)


def test_division_gradient_at_y_1e_160_is_right():
    x, y = Value(1e-160), Value(1e-160)
    (x / y).backward()
    assert y.grad == pytest.approx(-1e160, rel=1e-12)  # -x/y² = -1/y
    assert x.grad == pytest.approx(1e160, rel=1e-12)


def test_x_over_x_has_derivative_zero_at_a_tiny_x():
    x = Value(1e-155)
    (x / x).backward()
    assert abs(x.grad) <= 1e-12 * 1e155  # the two terms ±1/x cancel (1e155 each)
    (g,) = grad(x / x, [x])
    assert g == x.grad


@pytest.mark.parametrize("y", [1e-78, 1e-82, 1e-100])
def test_hessian_of_reciprocal_is_finite_and_right_at_tiny_y(y):
    h = hessian(lambda y: 1 / y, [y])
    assert np.isfinite(h).all()
    assert h[0, 0] == pytest.approx(2 / y**3, rel=1e-12)  # 2e246 at y = 1e-82: no overflow


def test_hessian_of_reciprocal_raises_where_the_true_value_overflows():
    # 2/y³ = 2e309 at y = 1e-103: not a float, so an OverflowError naming '/'
    assert "'/'" in raises(OverflowError, lambda: hessian(lambda y: 1 / y, [1e-103]))


def test_reciprocal_gradient_that_overflows_raises_from_backward_and_grad():
    x = Value(1e-160, label="x")
    x.grad = 0.25  # an earlier backward's gradient, to check nothing is touched
    out = 1 / x  # -1/x² = -1e320: not a float
    for call in (out.backward, lambda: grad(out, [x]), lambda: grad(out, [x], create_graph=True)):
        message = raises(OverflowError, call)
        assert "'/'" in message and "1e-160" in message
    assert (x.grad, out.grad) == (0.25, 0.0)


# --- a local derivative beyond the float range, times a gradient that brings it back ------
# Found by tests/test_autograd_contract.py. The chain rule multiplies the gradient by each
# local derivative; where the derivative alone overflows (1/x at a subnormal x) or
# underflows to a subnormal or 0 while the product is an ordinary float, backward()
# raised a spurious OverflowError or gave a wrong number (0). It now evaluates that
# node's rule again with a wide exponent range (ops.Wide) and rounds the product once.


def test_log_at_a_subnormal_with_a_small_gradient():
    x = Value(2.225073858507203e-309)
    out = x.log() * 1e-6  # d/dx = 1e-6/x = 4.49e302; 1/x alone is 4.49e308 > max float
    out.backward()
    assert x.grad == pytest.approx(1e-6 / 2.225073858507203e-309, rel=1e-12)
    assert grad(out, [x]) == (x.grad,)
    # with create_graph the local derivative 1/x is a node of the graph: it cannot exist
    assert "'log'" in raises(OverflowError, lambda: grad(out, [x], create_graph=True))


def test_sqrt_of_a_quotient_with_a_huge_intermediate_derivative():
    # d(x/y)/dy = -out/y = -1e310 overflows, times sqrt's 5e-151 it is -5e159
    x, y = Value(1e290), Value(1e-10)
    out = (x / y) ** 0.5
    out.backward()
    assert x.grad == pytest.approx(0.5 / math.sqrt(1e290 * 1e-10), rel=1e-12)  # 5e-141
    assert y.grad == pytest.approx(-0.5 * math.sqrt(1e290) / 1e-10**1.5, rel=1e-12)  # -5e159
    assert grad(out, [x, y]) == (x.grad, y.grad)


def test_pow_with_a_subnormal_base_and_exponent_zero():
    # d(x**y)/dx = y·x^(y-1) = 0·(1e310): the true derivative is 0, d/dy = log(x)
    x, y = Value(1e-310), Value(0.0)
    (x**y).backward()
    assert x.grad == 0.0
    assert y.grad == pytest.approx(math.log(1e-310), rel=1e-12)


def test_a_derivative_that_underflows_to_zero_meets_a_huge_gradient():
    # (x/y) ** -1 = y/x: d/dy = 1/x = 3.64e-85. On the way, d(x/y)/dy = -out/y = 2.5e-324
    # (0 as a float) meets the gradient 1.5e239 of a ** -1 at a = 2.6e-120: it gave 0.
    x, y = Value(2.7473486945859436e84), Value(1.0545817493799779e204)
    out = (x / y) ** -1
    out.backward()
    assert y.grad == pytest.approx(1 / 2.7473486945859436e84, rel=1e-9)
    assert x.grad == pytest.approx(-(1.0545817493799779e204 / 2.7473486945859436e84)
                                   / 2.7473486945859436e84, rel=1e-9)


def test_a_subnormal_derivative_keeps_its_digits():
    # log(x ** -1) = -log(x): d/dx = -1/x = -1e-160. d(x**-1)/dx = -1e-320 has 3 digits as
    # a float; times the gradient 1e160 that reaches it, it gave -1.0e-160 to 3 digits.
    x = Value(1e160)
    (x**-1).log().backward()
    assert x.grad == pytest.approx(-1e-160, rel=1e-12)


def test_the_tape_gives_the_eager_numbers_there():
    # the batched tape's numpy gradient is inf here; it redoes the example eagerly
    from autograd import trace

    w = Value(1e290, label="w")
    X = np.array([[1e-10], [1e-10]])
    tape = trace(lambda x: (w / x[0]) ** 0.5, [w], (X[0],))
    tape.backward(X, reduction="sum")
    assert w.grad == pytest.approx(2 * 0.5 / math.sqrt(1e290 * 1e-10), rel=1e-12)


# --- sigmoid: the derivative in the right tail ------------------------------------------


@pytest.mark.parametrize("x", [15.0, 20.0, 30.0, 40.0, 700.0])
def test_sigmoid_derivative_is_accurate_in_both_tails(x):
    # sigmoid'(x) = e^-x / (1 + e^-x)²; out·(1 - out) lost it to rounding for large x
    # (1 - out is 0 from x = 37 on), while sigmoid'(-x), the same number, was exact.
    e = math.exp(-x)
    expected = e / (1 + e) ** 2
    for point in (x, -x):
        v = Value(point)
        v.sigmoid().backward()
        assert v.grad == pytest.approx(expected, rel=1e-13, abs=0.0), point


def test_sigmoid_second_derivative_in_the_right_tail():
    # sigmoid''(x) = sigmoid'(x)·(1 - 2 sigmoid(x)), about -e^-x for large x
    x = 30.0
    e = math.exp(-x)
    expected = e / (1 + e) ** 2 * (1 - 2 / (1 + e))
    assert hessian(lambda x: x.sigmoid(), [x])[0, 0] == pytest.approx(expected, rel=1e-9)
    assert hessian(lambda x: x.sigmoid(), [-x])[0, 0] == pytest.approx(-expected, rel=1e-9)


def test_sigmoid_rule_works_on_arrays_and_prints():
    x = np.array([-40.0, -1.0, 0.0, 1.0, 40.0])
    (d,) = ops.SIGMOID.local_derivatives(ops.ARRAY_MATH, x, None, ops._array_sigmoid(x))
    expected = np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))) ** 2
    np.testing.assert_allclose(d, expected, rtol=1e-13, atol=0)
    assert ops.SIGMOID.describe() == "sigmoid: d/dx = out·sigmoid(-x)"


# --- backward() and grad() follow one policy -------------------------------------------


def every_way(fn, x0):
    """d fn/dx at x0 by backward, grad, grad(create_graph=True); and the Hessian."""
    x = Value(x0)
    out = fn(x)
    (by_grad,) = grad(out, [x])
    (by_graph,) = grad(out, [x], create_graph=True)
    out.backward()
    return x.grad, by_grad, by_graph.data, hessian(fn, [x0])[0, 0]


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sqrt() * 0.0,
        lambda x: (x.sqrt() - 1).relu(),  # relu'(-1) = 0 meets sqrt'(0) = inf
        lambda x: (x**0.5) * 0.0,
        lambda x: x.sqrt().relu() * (x - x),  # the gradient reaching sqrt is computed: 0
    ],
    ids=["sqrt*0", "relu(sqrt-1)", "pow0.5*0", "relu(sqrt)*(x-x)"],
)
def test_zero_stops_in_every_entry_point(fn):
    # "zero stops": 0 times an infinite local derivative is 0 (torch gives nan)
    assert every_way(fn, 0.0) == (0.0, 0.0, 0.0, 0.0)


def test_zero_stops_where_torch_gives_nan(torch):
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (torch.sqrt(t) * 0.0).backward()
    assert math.isnan(t.grad.item())  # the reason we differ: never nan
    assert every_way(lambda x: x.sqrt() * 0.0, 0.0)[0] == 0.0


@pytest.mark.parametrize(
    "fn, error, name",
    [
        (lambda x: x.sqrt() * 2.0, ZeroDivisionError, "'sqrt'"),
        (lambda x: (x.sqrt() + 1).relu(), ZeroDivisionError, "'sqrt'"),
        (lambda x: x**0.5, ZeroDivisionError, "'**'"),
        (lambda x: (x + 1e-300).log() * 1e300, OverflowError, "'log'"),
    ],
)
def test_a_nonzero_gradient_meeting_an_infinite_derivative_raises_everywhere(fn, error, name):
    for call in (
        lambda: fn(Value(0.0)).backward(),
        lambda: grad(fn(Value(0.0)), [Value(0.0)]),  # an unrelated input: still walks the graph
        lambda: grad(fn(x := Value(0.0)), [x]),
        lambda: grad(fn(x := Value(0.0)), [x], create_graph=True),
        lambda: hessian(fn, [0.0]),
    ):
        assert name in raises(error, call)


def test_a_failed_backward_changes_no_grad():
    x, w = Value(0.0), Value(3.0)
    first = w * 2.0
    first.backward()
    out = first + x.sqrt() * w
    with pytest.raises(ZeroDivisionError, match="sqrt"):
        out.backward()
    assert (x.grad, w.grad, first.grad, out.grad) == (0.0, 2.0, 1.0, 0.0)


# --- x ** y: second derivatives at y = 0 for a tiny base -------------------------------


@pytest.mark.parametrize("x", [1e-6, 1e-12, 1e-100])
def test_hessian_of_pow_at_exponent_zero(x):
    # f = x**y: f_xx = y(y-1)x^(y-2) = 0, f_xy = x^(y-1)(1 + y log x) = 1/x, f_yy = log(x)²
    h = hessian(lambda x, y: x**y, [x, 0.0])
    expected = np.array([[0.0, 1 / x], [1 / x, math.log(x) ** 2]])
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("x", [1e-6, 1e-12])
def test_hessian_of_pow_at_exponent_zero_against_torch_and_differences(torch, x):
    ours = hessian(lambda x, y: x**y, [x, 0.0])
    theirs = torch.autograd.functional.hessian(
        lambda x, y: x**y, (torch.tensor(x, dtype=torch.float64), torch.tensor(0.0).double())
    )
    theirs = np.array([[t.item() for t in row] for row in theirs])
    # torch masks d(x**y)/dx to 0 where y == 0, so its row for x misses the mixed term
    # (its Hessian is not symmetric there); the row it differentiates in full agrees.
    assert theirs[0, 1] == 0.0
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=0)
    np.testing.assert_allclose(ours[0, 0], theirs[0, 0], atol=0)
    # central differences of the gradient along y (step relative to nothing: y = 0)
    h = 1e-7

    def full_gradient(y):
        xv, yv = Value(x), Value(y)
        return np.array(grad(xv**yv, [xv, yv]))

    numerical = (full_gradient(h) - full_gradient(-h)) / (2 * h)
    np.testing.assert_allclose(ours[:, 1], numerical, rtol=1e-9, atol=0)


# --- no_grad results, leaves, and backward's seed ----------------------------------------


def test_backward_on_a_no_grad_result_says_why():
    with no_grad():
        out = Value(2.0) * 3.0
    message = raises(RuntimeError, out.backward)
    assert "no_grad" in message and "enable_grad" in message
    assert out.grad == 0.0


def test_a_leaf_made_inside_no_grad_can_still_backward():
    with no_grad():
        leaf = Value(2.0)
    leaf.backward()
    assert leaf.grad == 1.0
    with no_grad(), enable_grad():
        out = leaf * 3.0
    out.backward()
    assert leaf.grad == 4.0  # leaves accumulate


def test_backward_with_a_nan_seed_says_not_finite():
    message = raises(ValueError, lambda: Value(1.0).backward(float("nan")))
    assert "finite" in message and "nan" in message and "overflow" not in message
    assert "finite" in raises(ValueError, lambda: Value(1.0).backward(float("-inf")))


def test_a_hand_assigned_nan_is_named_at_the_next_op():
    v = Value(1.0)
    v.data = float("nan")
    message = raises(ValueError, lambda: v + 1)
    assert "input holds nan" in message and ".data assigned by hand" in message


@pytest.mark.parametrize("seed", ["2", None, [1.0], 1j, True, np.bool_(True)])
def test_backward_seed_must_be_a_real_number(seed):
    # Value("2") is a TypeError, so backward("2") is too. bool is refused as a seed (as torch
    # refuses a bool gradient for a float tensor) although Value(True) is accepted as data.
    v = Value(1.0)
    assert "backward(gradient)" in raises(TypeError, lambda: v.backward(seed))
    assert v.grad == 0.0
    with pytest.raises(TypeError):
        Value("2")


def test_backward_seed_accepts_real_numbers():
    v = Value(1.0)
    for seed in (2, 0.5, np.float64(0.25), np.int64(1), Value(0.25)):
        v.backward(seed)
    assert v.grad == 4.0


# --- one no_grad() object shared by two threads ----------------------------------------


def test_a_no_grad_object_shared_by_two_threads_restores_each_thread():
    guard = no_grad()
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with guard:
            a_inside.set()
            b_inside.wait(5)
            seen["a inside"] = is_grad_enabled()
        a_left.set()
        seen["a after"] = is_grad_enabled()
        seen["a records"] = not (Value(1.0) * 2).is_leaf

    def thread_b():
        a_inside.wait(5)
        with guard:
            b_inside.set()
            a_left.wait(5)  # A leaves while B is still inside the same guard
            seen["b inside"] = is_grad_enabled()
        seen["b after"] = is_grad_enabled()
        seen["b records"] = not (Value(1.0) * 2).is_leaf

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {
        "a inside": False, "b inside": False,
        "a after": True, "b after": True, "a records": True, "b records": True,
    }
    assert is_grad_enabled() and not (Value(1.0) * 2).is_leaf  # the main thread too
