"""Derivatives of a whole function of several numbers: Jacobians and Hessians.

``fn`` is called as ``fn(*values)``, one Value per input (as PyTorch's
``torch.autograd.functional`` calls it), and returns a Value or a list of Values.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np

from .backprop import grad
from .value import Value

Function: TypeAlias = Callable[..., Any]
"""A function of Values, called as ``fn(*values)``, returning a Value or a list of Values."""


def input_names(fn: Function, n: int) -> list[str]:
    """The names of fn's first n positional parameters where it has them, else x0, x1, ..."""
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return params[:n] if len(params) >= n else [f"x{i}" for i in range(n)]


def as_floats(inputs: object, caller: str) -> list[float]:
    items: Any = inputs
    if isinstance(inputs, (Value, str, bytes)) or not hasattr(inputs, "__iter__"):
        items = [inputs]
    numbers = []
    for i, x in enumerate(items):
        if isinstance(x, Value):
            x = x.data
        try:
            number = float(x)
        except (TypeError, ValueError):
            raise TypeError(
                f"{caller}(): inputs[{i}] must be a real number, got {type(x).__name__}: {x!r}"
            ) from None
        if not math.isfinite(number):
            raise ValueError(f"{caller}(): inputs[{i}] must be finite, got {number!r}")
        numbers.append(number)
    if not numbers:
        raise ValueError(f"{caller}(): needs at least one input")
    return numbers


def output_values(result: object, caller: str) -> list[Value]:
    """fn's result as a list of Values (numbers count as constants)."""
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    if not items:
        raise ValueError(f"{caller}(): fn returned no outputs")
    outputs = []
    for i, item in enumerate(items):
        if isinstance(item, Value):
            outputs.append(item)
        elif isinstance(item, (int, float, np.number)):
            outputs.append(Value(item))  # type: ignore[arg-type]  # Value() refuses complex
        else:
            raise TypeError(
                f"{caller}(): fn must return a Value or a list of Values, "
                f"output {i} is {type(item).__name__}"
            )
    return outputs


def call_on_values(
    fn: Function, numbers: Sequence[float], caller: str
) -> tuple[list[Value], list[Value]]:
    names = input_names(fn, len(numbers))
    values = [Value(x, label=name) for x, name in zip(numbers, names)]
    return values, output_values(fn(*values), caller)


def jacobian(fn: Function, inputs: Sequence[float] | float) -> np.ndarray:
    """The m×n matrix of d(output_i)/d(input_j), by back-propagation (one pass per output)."""
    values, outputs = call_on_values(fn, as_floats(inputs, "jacobian"), "jacobian")
    return np.array([grad(out, values) for out in outputs], dtype=float).reshape(
        len(outputs), len(values)
    )


def hessian(fn: Function, inputs: Sequence[float] | float) -> np.ndarray:
    """The n×n second derivatives of a scalar fn, by differentiating its gradient's graph."""
    values, outputs = call_on_values(fn, as_floats(inputs, "hessian"), "hessian")
    if len(outputs) != 1:
        raise ValueError(f"hessian(): fn must return one Value, it returned {len(outputs)}")
    first = grad(outputs[0], values, create_graph=True)
    return np.array([grad(g, values) for g in first], dtype=float)
