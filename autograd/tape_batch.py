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
        example: tuple[Any, ...], groups: list[tuple[tuple[Any, ...], np.ndarray]] | None = None,
    ) -> None:
        self.columns, self.index, self.key = columns, index, key
        self.size = columns.shape[1]
        self._example = example  # the traced example, for the shapes of dynamic arguments
        self._groups = groups  # (static values, positions of the examples that have them)

    @classmethod
    def single(cls) -> Examples:
        """One column and no inputs: what the penalty is replayed on."""
        return cls(np.empty((0, 1)), np.zeros(1, dtype=int), (), ())

    def parts(self) -> Iterator[Examples]:
        """The examples grouped by their static values, in order of first appearance."""
        if self._groups is None:
            yield self
            return
        for key, js in self._groups:
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
    dynamic: list[np.ndarray] = []
    statics: list[np.ndarray] = []
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
        (statics if k in static else dynamic).append(a.reshape(size, -1))
    if not size:
        raise ValueError("the batch is empty (or fn takes no arguments)")
    # a row per number of an example, a column per example: written once, transposed
    columns = np.empty((sum(a.shape[1] for a in dynamic), size))
    start = 0
    for a in dynamic:
        columns[start : start + a.shape[1]] = a.T
        start += a.shape[1]
    if not np.isfinite(columns).all():
        bad = ~np.isfinite(columns)
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        i = int(np.flatnonzero(bad[:, j])[0])
        raise ValueError(f"example {j} of the batch has a non-finite number: {columns[i, j]!r}")
    groups = _static_groups(statics, [ex for k, ex in enumerate(example) if k in static])
    return Examples(columns, np.arange(size), (), example, groups)


def _static_groups(
    statics: list[np.ndarray], examples: list[Any]
) -> list[tuple[tuple[Any, ...], np.ndarray]] | None:
    """The examples grouped by their static values: (the values as `hashable` gives them,
    the examples' positions), in order of first appearance; None without static arguments."""
    if not statics:
        return None
    code: np.ndarray | None = None  # one number per distinct combination of values
    for a in statics:
        # one number per example (a class index) is sorted as it is; rows need axis=0
        rows, inverse = (np.unique(a[:, 0], return_inverse=True) if a.shape[1] == 1
                         else np.unique(a, axis=0, return_inverse=True))
        inverse = inverse.reshape(-1)
        code = inverse if code is None else np.unique(
            code * len(rows) + inverse, return_inverse=True)[1].reshape(-1)
    assert code is not None
    order = np.argsort(code, kind="stable")  # each group's examples, in batch order
    bounds = np.flatnonzero(np.diff(code[order])) + 1
    groups = []
    for js in sorted(np.split(order, bounds), key=lambda js: js[0]):  # by first appearance
        j = js[0]
        key = tuple(hashable(a[j].reshape(np.shape(ex))) for a, ex in zip(statics, examples))
        groups.append((key, js))
    return groups
