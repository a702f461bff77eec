"""A tape's arguments: the traced example and a batch as arrays, fn's results as Values.

A batch is held as one matrix, a row per number of an example and a column per example
(`Examples`); arguments listed in `static` are kept aside as plain numbers, per example,
and group the batch by their values.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, cast

import numpy as np

from .nested import Nested, flatten, shape
from .value import Value

Shapes = tuple[tuple[int, ...], "tuple[int, ...] | None"]
"""fn's result's shape, and its aux's (None without has_aux)."""


class Examples:
    """Some examples of a batch: a row per number of an example and a column per example,
    their positions in the batch, and the values of their static arguments (`key`)."""

    def __init__(
        self, columns: np.ndarray, index: np.ndarray, key: tuple[Any, ...],
        example: tuple[Any, ...], static_columns: list[tuple[Any, ...]] | None = None,
    ) -> None:
        self.columns, self.index, self.key = columns, index, key
        self.size = columns.shape[1]
        self._example = example  # the traced example, for the shapes of dynamic arguments
        self._static_columns = static_columns  # per example, its static values

    @classmethod
    def single(cls) -> Examples:
        """One column and no inputs: what the penalty is replayed on."""
        return cls(np.empty((0, 1)), np.zeros(1, dtype=int), (), ())

    def parts(self) -> Iterator[Examples]:
        """The examples grouped by their static values."""
        if self._static_columns is None:
            yield self
            return
        groups: dict[tuple[Any, ...], list[int]] = {}
        for j, key in enumerate(self._static_columns):
            groups.setdefault(key, []).append(j)
        for key, positions in groups.items():
            js = np.array(positions)
            yield Examples(self.columns[:, js], self.index[js], key, self._example)

    def take(self, ks: np.ndarray) -> Examples:
        """The examples at positions `ks` (an array) of these."""
        if len(ks) == self.size and (ks == np.arange(self.size)).all():
            return self
        return Examples(self.columns[:, ks], self.index[ks], self.key, self._example)

    def example(self, k: int = 0) -> list[np.ndarray]:
        """Example k's dynamic arguments, shaped like the traced example's."""
        parts, start = [], 0
        for a in self._example:
            if isinstance(a, np.ndarray):
                parts.append(self.columns[start : start + a.size, k].reshape(a.shape))
                start += a.size
        return parts


def unique_params(params: Iterable[object]) -> list[Value]:
    seen: set[Value] = set()
    unique: list[Value] = []
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"trace(): params[{i}] is {type(p).__name__}, not a Value")
        if p._op is not None:
            raise TypeError(
                f"trace(): params[{i}] is computed by {p.op!r}; parameters must be leaves"
            )
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def as_outputs(result: object, has_aux: bool) -> tuple[list[Value], Shapes]:
    """fn's result as (a flat list of Values, (shape of the result, shape of aux or None))."""
    if has_aux:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(
                "trace(): with has_aux=True fn must return (loss, aux), "
                f"got {type(result).__name__}"
            )
        main, main_shape = _flatten_values(result[0], "fn's loss")
        aux, aux_shape = _flatten_values(result[1], "fn's aux")
        return main + aux, (main_shape, aux_shape)
    values, shape = _flatten_values(result, "fn's result")
    return values, (shape, None)


def _flatten_values(x: Nested, what: str) -> tuple[list[Value], tuple[int, ...]]:
    """x's Values in row order and x's shape; x must be a Value or a nest of Values."""
    values: list[Any] | None
    try:
        dims = shape(x, f"trace(): {what}")  # a ValueError says if it is ragged
        values = flatten(x)
    except TypeError:
        values = None
    if not values or 0 in dims or not all(isinstance(v, Value) for v in values):
        raise TypeError(
            f"trace(): {what} must be a Value or a (nested) list of Values, "
            f"got {type(x).__name__}: {x!r}"
        )
    return cast("list[Value]", values), dims  # all Values, checked above


def as_static(static: int | Iterable[int], example: object) -> frozenset[int]:
    if not isinstance(example, tuple):
        raise TypeError(
            "trace(): example_inputs must be a tuple of fn's arguments, such as (X[0], y[0]); "
            f"for a single argument write (X[0],). Got {type(example).__name__}"
        )
    positions = (static,) if isinstance(static, int) else tuple(static)
    for k in positions:
        if not isinstance(k, int) or not 0 <= k < len(example):
            raise ValueError(
                f"trace(): static={positions!r} must list argument positions of fn, "
                f"0 to {len(example) - 1}"
            )
    return frozenset(positions)


def as_array(arg: object, k: int) -> np.ndarray:
    a = np.asarray(arg)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"trace(): example_inputs[{k}] must be a number or an array of numbers (the tape "
            f"makes the Values), got {type(arg).__name__}"
        )
    a = a.astype(float)
    if not np.isfinite(a).all():
        raise ValueError(f"trace(): example_inputs[{k}] has a non-finite number: {arg!r}")
    return a


def hashable(x: object) -> Hashable:
    """A static argument as plain Python numbers (nested tuples for arrays)."""
    plain: Hashable = _tuples(np.asarray(x).tolist())
    return plain


def _tuples(x: Any) -> Any:
    return tuple(_tuples(item) for item in x) if isinstance(x, list) else x


def values_like(
    array: np.ndarray, made: list[Value], make: Callable[[float], Value] = Value
) -> Nested:
    """Values in the shape of `array` (a Value, or nested lists), appended to `made` in order;
    `make` makes each from its number."""
    if array.ndim == 0:
        v = make(float(array))
        made.append(v)
        return v
    return [values_like(row, made, make) for row in array]


def as_batch(
    batch: Sequence[object], example: tuple[Any, ...], static: frozenset[int]
) -> Examples:
    """The batch as `Examples`: its numbers in one matrix, its static values per example."""
    if len(batch) != len(example):
        raise TypeError(
            f"the tape was traced with {len(example)} argument(s) per example, "
            f"got {len(batch)} batch argument(s)"
        )
    parts: list[np.ndarray] = []
    statics: list[list[Any]] = []
    size: int | None = None
    for k, (arg, ex) in enumerate(zip(batch, example)):
        a = np.asarray(arg)
        if a.dtype.kind not in "biuf":
            raise TypeError(
                f"batch argument {k} must hold real numbers, got dtype {a.dtype}"
                + (" (complex numbers: pass the real part, or the parts as two features)"
                   if a.dtype.kind == "c" else "")
            )
        if a.ndim and not len(a):
            raise ValueError("the batch is empty: pass at least one example")
        if k not in static:
            a = a.astype(float, copy=False)  # np.concatenate below copies it
        ex_shape = np.shape(ex)
        if a.ndim != len(ex_shape) + 1 or a.shape[1:] != ex_shape:
            raise ValueError(
                f"batch argument {k} has shape {a.shape}; the traced example's is {ex_shape}, "
                f"so the batch needs shape (batch size, {', '.join(map(str, ex_shape))})"
            )
        if size is None:
            size = len(a)
        elif len(a) != size:
            raise ValueError(f"batch argument {k} has {len(a)} examples, argument 0 has {size}")
        if k in static:
            statics.append([_tuples(row) for row in a.tolist()])
        else:
            parts.append(a.reshape(size, -1))
    if not size:
        raise ValueError("the batch is empty (or fn takes no arguments)")
    matrix = np.concatenate(parts, axis=1) if parts else np.empty((size, 0))
    if not np.isfinite(matrix).all():
        j, i = np.argwhere(~np.isfinite(matrix))[0]
        raise ValueError(f"example {j} of the batch has a non-finite number: {matrix[j, i]!r}")
    keys = list(zip(*statics)) if statics else None
    return Examples(np.ascontiguousarray(matrix.T), np.arange(size), (), example, keys)

