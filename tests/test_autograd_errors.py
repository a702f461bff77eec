"""Bad input gets a clear error at the op that caused it; finite functions stay finite."""

import math

import pytest

from autograd import Value, grad


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Value(0.0).log(), ValueError, ["log", "0.0"]),
        (lambda: Value(-1.0).log(), ValueError, ["log", "-1.0"]),
        (lambda: Value(-1.0).sqrt(), ValueError, ["sqrt", "-1.0"]),
        (lambda: Value(1.0) / 0, ZeroDivisionError, ["/", "1.0", "0.0"]),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, ["/", "0.0"]),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, ["**", "0.0", "-1"]),
        (lambda: Value(-8.0) ** 0.5, ValueError, ["**", "-8.0", "0.5"]),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, ["**", "-2.0", "positive"]),
        (lambda: Value(1000.0).exp(), OverflowError, ["exp", "1000.0", "overflow"]),
        (lambda: Value(1e200) * 1e200, OverflowError, ["*", "1e+200"]),
        (lambda: Value(10.0) ** 400, OverflowError, ["**", "400"]),
    ],
)
def test_domain_errors_name_the_op_and_the_value(make, error, words):
    with pytest.raises(error) as info:
        make()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_the_error_is_raised_at_the_op_not_later():
    x = Value(-1.0)
    ok = x * 2
    with pytest.raises(ValueError):
        ok.log()
    assert ok.grad == 0.0 and ok.data == -2.0  # nothing half-done to what existed


@pytest.mark.parametrize(
    "x, op, value, gradient",
    [
        (-1000.0, "sigmoid", 0.0, 0.0),
        (1000.0, "sigmoid", 1.0, 0.0),
        (1000.0, "softplus", 1000.0, 1.0),
        (-1000.0, "softplus", 0.0, 0.0),
        (800.0, "tanh", 1.0, 0.0),
        (-800.0, "tanh", -1.0, 0.0),
    ],
)
def test_saturating_functions_are_stable_far_out(x, op, value, gradient):
    v = Value(x)
    out = getattr(v, op)()
    out.backward()
    assert math.isfinite(out.data) and math.isfinite(v.grad)
    assert out.data == pytest.approx(value, abs=1e-300)
    assert v.grad == pytest.approx(gradient, abs=1e-300)


def test_infinite_derivative_is_reported_by_backward_not_returned():
    x = Value(0.0)
    y = x.sqrt()
    with pytest.raises(ZeroDivisionError, match=r"sqrt.*x=0\.0"):
        y.backward()
    with pytest.raises(ZeroDivisionError, match=r"\*\*.*exponent=0\.5"):
        grad(x**0.5, [x])


def test_a_failed_backward_leaves_every_grad_as_it_was():
    x, w = Value(0.0, label="x"), Value(2.0, label="w")
    hidden = w * 3.0
    hidden.backward()  # w.grad = 3, hidden.grad = 1
    out = hidden + x.sqrt() * w  # d sqrt(x)/dx is infinite at 0
    with pytest.raises(ZeroDivisionError, match="sqrt"):
        out.backward()
    assert (x.grad, w.grad, hidden.grad, out.grad) == (0.0, 3.0, 1.0, 0.0)


def test_gradient_overflow_is_reported_not_stored():
    w = Value(1e-300, label="w")
    out = w.log() * 1e300  # finite (about -6.9e302), but d(out)/dw = 1e300 / 1e-300
    with pytest.raises(OverflowError, match=r"'log' at x=1e-300.*overflows"):
        out.backward()
    assert w.grad == 0.0  # not inf
    hidden = Value(1e-300) * 1.0  # a computed node whose gradient overflows
    with pytest.raises(OverflowError, match=r"'log'.*overflows"):
        (hidden.log() * 1e300).backward()
