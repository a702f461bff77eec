"""gradcheck, gradgradcheck, jacobian and hessian: they catch what is wrong and say where."""

import dataclasses
import math
import re

import numpy as np
import pytest

from autograd import GradcheckError, Value, gradcheck, gradgradcheck, hessian, jacobian, ops, value


def neuron(x, w, b):
    return (x * w + b).sin()


@pytest.fixture
def wrong_sin(monkeypatch):
    """Break sin's derivative in the op table (sin instead of cos), as a buggy op would be."""
    broken = dataclasses.replace(ops.SIN, derivatives=(lambda m, x: m.sin(x),))
    monkeypatch.setattr(Value, "sin", lambda self: value._apply(broken, self))


def test_gradcheck_passes_correct_derivatives():
    assert gradcheck(neuron, [0.5, -1.2, 0.3]) is True
    assert gradcheck(lambda a, b: [a * b, a / b, (a**2 + b).log()], [1.5, 2.0]) is True


def test_gradcheck_catches_a_wrong_derivative_and_names_the_input(wrong_sin):
    x, w, b = 0.5, -1.2, 0.3
    with pytest.raises(GradcheckError) as info:
        gradcheck(neuron, [x, w, b])
    message = str(info.value)
    z = x * w + b
    # what the broken and the true derivatives are, worked out here independently
    analytic_w, numerical_w = math.sin(z) * x, math.cos(z) * x
    row = next(line for line in message.splitlines() if line.strip().startswith("w "))
    numbers = [float(t) for t in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+", row)]
    assert numbers[0] == pytest.approx(w)
    assert numbers[1] == pytest.approx(analytic_w, rel=1e-6)
    assert numbers[2] == pytest.approx(numerical_w, rel=1e-6)
    assert numbers[3] == pytest.approx(abs(analytic_w - numerical_w), rel=1e-2)
    assert "<- wrong" in row
    for name in ("x", "b"):
        assert any(line.strip().startswith(name + " ") and "wrong" in line
                   for line in message.splitlines())
    assert "analytic" in message and "numerical" in message and "difference" in message


def test_gradcheck_is_an_assertion_error_for_pytest(wrong_sin):
    assert issubclass(GradcheckError, AssertionError)
    with pytest.raises(AssertionError):
        gradcheck(lambda t: t.sin(), [0.4])


def test_raise_exception_false_returns_false(wrong_sin):
    assert gradcheck(lambda t: t.sin(), [0.4], raise_exception=False) is False


def test_gradcheck_names_inputs_of_lambdas_and_falls_back_to_positions(wrong_sin):
    with pytest.raises(GradcheckError, match=r"\n\s+angle "):
        gradcheck(lambda angle: angle.sin(), [0.4])
    with pytest.raises(GradcheckError, match=r"\n\s+x0 "):
        gradcheck(lambda *xs: xs[0].sin(), [0.4])


def test_gradcheck_refuses_bad_inputs():
    with pytest.raises(TypeError, match=r"inputs\[1\]"):
        gradcheck(neuron, [1.0, "w", 2.0])
    with pytest.raises(ValueError, match="finite"):
        gradcheck(neuron, [1.0, math.nan, 2.0])
    with pytest.raises(TypeError, match="return a Value"):
        gradcheck(lambda x: "not a value", [1.0])


def test_gradgradcheck_catches_a_wrong_second_derivative(monkeypatch):
    assert gradgradcheck(lambda a, b: (a * b).tanh() * a, [0.3, -0.8])
    right = ops.TANH.derivatives[0]

    def half_wrong(m, out):
        """The right number on floats; on Values, 1 - out·c with c = out's number treated as a
        constant, so its own derivative is -out where -2·out is right."""
        return right(out) if m is ops.FLOAT_MATH else 1.0 - out * out.data

    broken = dataclasses.replace(ops.TANH, derivatives=(half_wrong,))
    monkeypatch.setattr(Value, "tanh", lambda self: value._apply(broken, self))
    assert gradcheck(lambda a: a.tanh(), [0.3])
    with pytest.raises(GradcheckError, match="second|gradient"):
        gradgradcheck(lambda a: a.tanh(), [0.3])


def test_jacobian_shape_and_numbers():
    J = jacobian(lambda a, b: [a * b, a + b, a.exp()], [2.0, 3.0])
    assert J.shape == (3, 2)
    np.testing.assert_allclose(J, [[3.0, 2.0], [1.0, 1.0], [math.exp(2.0), 0.0]])
    assert jacobian(lambda a, b: a * b, [2.0, 3.0]).shape == (1, 2)


def test_hessian_of_a_known_function():
    x, y = 0.7, -1.3
    H = hessian(lambda a, b: a * a * b + b.sin(), [x, y])
    np.testing.assert_allclose(H, [[2 * y, 2 * x], [2 * x, -math.sin(y)]], rtol=1e-12)
    assert np.array_equal(H, H.T)


def test_hessian_of_logistic_loss_is_positive_semidefinite():
    points = [(0.5, 1.0), (-1.5, 0.0), (2.0, 1.0), (0.3, 0.0)]

    def loss(w, b):
        total = 0.0
        for xi, yi in points:
            p = (w * xi + b).sigmoid()
            total = total - (yi * p.log() + (1 - yi) * (1 - p).log())
        return total

    assert np.linalg.eigvalsh(hessian(loss, [0.2, -0.1])).min() >= -1e-12


def test_hessian_refuses_vector_outputs():
    with pytest.raises(ValueError, match="one Value"):
        hessian(lambda a: [a, a * a], [1.0])
