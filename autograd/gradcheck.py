"""Check back-propagated derivatives against central differences.

`GradcheckError` is an `AssertionError`, so ``gradcheck(fn, [1.0, 2.0])`` inside a pytest
test fails that test with a table naming each wrong input, its analytic and numerical
derivative and their difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .functional import Function, as_floats, hessian, input_names, jacobian, output_values
from .grad_mode import enable_grad, no_grad
from .value import Value


class GradcheckError(AssertionError):
    """A back-propagated derivative disagrees with its finite-difference estimate."""


def numerical_jacobian(
    fn: Function, inputs: Sequence[float] | float, eps: float = 1e-6
) -> np.ndarray:
    """d(output_i)/d(input_j) by central differences: (f(x + eps) - f(x - eps)) / 2 eps."""
    x = as_floats(inputs, "numerical_jacobian")

    def evaluate(point: list[float]) -> np.ndarray:
        with no_grad():
            return np.array([v.data for v in output_values(fn(*map(Value, point)), "gradcheck")])

    columns = []
    for j in range(len(x)):
        up, down = list(x), list(x)
        up[j] += eps
        down[j] -= eps
        columns.append((evaluate(up) - evaluate(down)) / (2 * eps))
    return np.stack(columns, axis=1)


def _compare(
    what: str, rows: list[str], names: list[str], inputs: list[float], analytic: np.ndarray,
    numerical: np.ndarray, atol: float, rtol: float, raise_exception: bool,
) -> bool:
    difference = np.abs(analytic - numerical)
    tolerance = atol + rtol * np.abs(numerical)
    wrong = ~(difference <= tolerance)
    if not wrong.any():
        return True
    if not raise_exception:
        return False
    lines = [f"{what} disagrees with central differences (atol={atol:g}, rtol={rtol:g}):"]
    for i, row in enumerate(analytic):
        if not wrong[i].any():
            continue
        lines.append(f"  {rows[i]}:" if len(analytic) > 1 else "")
        lines.append(
            f"    {'input':<12}{'value':>14}{'analytic':>16}{'numerical':>16}{'difference':>14}"
        )
        for j, name in enumerate(names):
            mark = "  <- wrong" if wrong[i, j] else ""
            lines.append(
                f"    {name:<12}{inputs[j]:>14.6g}{row[j]:>16.8g}"
                f"{numerical[i, j]:>16.8g}{difference[i, j]:>14.3g}{mark}"
            )
    raise GradcheckError("\n".join(line for line in lines if line))


def gradcheck(
    fn: Function, inputs: Sequence[float] | float, eps: float = 1e-6, atol: float = 1e-5,
    rtol: float = 1e-3, raise_exception: bool = True,
) -> bool:
    """True when fn's back-propagated derivatives match central differences at `inputs`.

    ``fn(*values)`` gets one Value per input and returns a Value or a list of Values.
    A mismatch raises `GradcheckError` (an AssertionError) listing, per input, the
    analytic and numerical derivative and their difference; with
    ``raise_exception=False`` it returns False instead.
    """
    x = as_floats(inputs, "gradcheck")
    names = input_names(fn, len(x))
    analytic = jacobian(fn, x)
    numerical = numerical_jacobian(fn, x, eps)
    rows = [f"output {i}" for i in range(len(analytic))]
    return _compare(
        "gradcheck: d(output)/d(input)", rows, names, x, analytic, numerical, atol, rtol,
        raise_exception,
    )


def gradgradcheck(
    fn: Function, inputs: Sequence[float] | float, eps: float = 1e-6, atol: float = 1e-5,
    rtol: float = 1e-3, raise_exception: bool = True,
) -> bool:
    """Like `gradcheck` for second derivatives: `hessian` against differences of the gradient."""
    x = as_floats(inputs, "gradgradcheck")
    names = input_names(fn, len(x))
    analytic = hessian(fn, x)

    def gradient(*values: Value) -> list[float]:
        with enable_grad():
            return list(jacobian(fn, [v.data for v in values])[0])

    numerical = numerical_jacobian(gradient, x, eps)
    rows = [f"d/d{name} of the gradient" for name in names]
    return _compare(
        "gradgradcheck: d(gradient)/d(input)", rows, names, x, analytic, numerical, atol,
        rtol, raise_exception,
    )
