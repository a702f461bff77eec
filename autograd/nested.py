"""Nested lists of Values and numbers: the "tensors" of a scalar engine.

    from autograd.nested import shape, flatten, unflatten
    shape([[a, b, c], [d, e, f]])   # (2, 3)

A model sees one example as a flat list of numbers (its features) and a batch as a list
of examples. Losses and activations work on any nesting: a Value, a list, a list of lists.
These helpers find the shape of such a nest, flatten it and rebuild it. They serve the
tape (fn's results), nn (layers, losses, metrics) and anyone's tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

import numpy as np

from .value import _REAL as REAL  # the numbers Value() accepts
from .value import Number, Value
from .value import _data as data_of  # the number inside a Value; a plain number as it is

Scalar: TypeAlias = "Value | Number"
"""One scalar of a nest: a Value or a plain number."""

Nested: TypeAlias = Any
"""A Value, a number, or a (nested) list or tuple of them (numpy arrays of numbers too where
inputs are read). Spelled Any: a type checker cannot follow the depth of a nest."""

__all__ = [
    "Scalar", "Nested", "REAL", "is_scalar", "as_nested", "shape", "flatten", "unflatten",
    "map_nested", "as_value", "data_of", "total", "is_batch", "as_example", "for_each_example",
    "to_numpy",
]


def is_scalar(x: object) -> bool:
    return isinstance(x, (Value, *REAL))


def as_nested(x: Nested) -> Nested:
    """numpy arrays become nested lists of Python floats; everything else is left alone."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"expected an array of real numbers, got dtype {x.dtype}")
        return x.astype(float).tolist()
    return x


def shape(x: Nested, what: str = "input") -> tuple[int, ...]:
    """The shape of a nest, e.g. (4, 3) for four examples of three numbers; () for a scalar."""
    x = as_nested(x)
    if is_scalar(x):
        return ()
    if not isinstance(x, (list, tuple)):
        raise TypeError(
            f"{what} must be a Value, a number or a (nested) list of them, "
            f"got {type(x).__name__}: {x!r}"
        )
    if not x:
        return (0,)
    inner = [shape(item, what) for item in x]
    if any(s != inner[0] for s in inner):
        raise ValueError(f"{what} is ragged: its rows have shapes {sorted(set(inner))}")
    return (len(x), *inner[0])


def flatten(x: Nested) -> list[Scalar]:
    """The scalars of a nest in row order."""
    x = as_nested(x)
    if is_scalar(x):
        return [x]
    out: list[Scalar] = []
    for item in x:
        out.extend(flatten(item))
    return out


def unflatten(items: list[Any], dims: tuple[int, ...]) -> Nested:
    """The inverse of `flatten`: rebuild a nest of shape `dims` from its scalars."""
    if not dims:
        return items[0]
    if len(dims) == 1:
        return list(items)
    step = len(items) // dims[0]
    return [unflatten(items[i * step : (i + 1) * step], dims[1:]) for i in range(dims[0])]


def map_nested(fn: Callable[[Any], Any], x: Nested) -> Nested:
    """fn applied to every scalar of a nest, keeping the nesting."""
    x = as_nested(x)
    if is_scalar(x):
        return fn(x)
    if not isinstance(x, (list, tuple)):
        raise TypeError(
            f"expected a Value, a number or a (nested) list of them, got {type(x).__name__}"
        )
    return [map_nested(fn, item) for item in x]


def as_value(x: Value | Number) -> Value:
    """x itself if it is a Value, else a new leaf; anything but a number is a TypeError."""
    return x if isinstance(x, Value) else Value(x)  # Value() says what is wrong with x


def total(values: Iterable[Value]) -> Value:
    """Sum of Values without the extra ``0 + ...`` node that ``sum()`` adds."""
    items = iter(values)
    out = next(items)
    for v in items:
        out = out + v
    return out


def is_batch(x: Nested) -> bool:
    """True for a batch of examples (2-D), False for one example (1-D)."""
    if isinstance(x, np.ndarray):
        if x.ndim > 2:
            raise ValueError(
                f"expected one example (1-D) or a batch of examples (2-D), got an array "
                f"of shape {x.shape}"
            )
        return x.ndim == 2
    return isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(
        x[0], (list, tuple, np.ndarray)
    )


def as_example(x: Nested, width: int, who: str) -> list[Value | float]:
    """One example as a list of floats and Values, checked to hold `width` features."""
    if isinstance(x, np.ndarray):
        x = as_nested(x)
    elif is_scalar(x):
        x = [x]
    if not isinstance(x, (list, tuple)):
        raise TypeError(
            f"{who} takes a list of numbers or Values (one example) or a list of such lists "
            f"(a batch), got {type(x).__name__}"
        )
    if len(x) != width:
        raise ValueError(f"{who} expects {width} inputs per example, got {len(x)}")
    out: list[Value | float] = []
    for i, item in enumerate(x):
        if isinstance(item, Value):
            out.append(item)
        elif isinstance(item, REAL):
            out.append(float(item))
        else:
            raise TypeError(
                f"{who}: input {i} must be a number or a Value, got {type(item).__name__}: "
                f"{item!r}"
            )
    return out


def for_each_example(x: Nested, fn: Callable[[Any], Any]) -> Any:
    """fn on one example, or on each example of a batch."""
    if is_batch(x):
        return [fn(example) for example in x]
    return fn(x)


def to_numpy(outputs: Nested) -> np.ndarray:
    """Model outputs (Values, nested) as a float array of the same shape."""
    return np.array(map_nested(data_of, outputs), dtype=float)
