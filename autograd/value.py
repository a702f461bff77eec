"""`Value`: one number that remembers how it was computed.

A Value holds its number (`data`), the gradient a backward pass gives it (`grad`), an
optional `label`, and for a computed Value the op that made it and its inputs. Nothing
else: no closure and no back-reference, so a dropped graph is freed by reference counting
alone and each node stays small.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from . import ops
from .grad_mode import _mode, _threads_off

_REAL = (numbers.Real, np.bool_)

Number: TypeAlias = "float | int | np.floating[Any] | np.integer[Any] | np.bool_"
"""A real number a Value accepts: int, float, bool or a numpy real scalar (stored as float)."""


class _NotRecorded:
    def __repr__(self) -> str:
        return "NOT_RECORDED"


NOT_RECORDED = _NotRecorded()
"""The first input of a Value computed inside no_grad(): its inputs were not recorded."""


def _check_number(data: object, what: str = "Value()") -> float:
    """The float a user-supplied number stands for, or a TypeError/ValueError saying why not."""
    if isinstance(data, Value):
        raise TypeError(
            "Value() takes a number, got a Value; use the Value itself, or Value(v.data) "
            "for a new leaf with the same number"
        )
    if not isinstance(data, _REAL):
        raise TypeError(
            f"{what} takes a real number (int, float, bool or numpy scalar), "
            f"got {type(data).__name__}: {data!r}"
        )
    try:
        number = float(data)
    except OverflowError:
        raise ValueError(f"{what}: {data!r} is too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} takes a finite number, got {number!r}")
    return number


def _operator(op: ops.Op, name: str) -> Callable[[Value, Value | Number], Value]:
    """Value's method for `op` with a second input (``__add__`` for "+"). It does what
    `_binary` and `_result` do, written out in one function: 220 ns an op instead of 310
    (timeit, 2026-11-30), and these ops are most of every graph."""
    forward = op.forward

    def method(self: Value, other: Value | Number) -> Value:
        y = other if isinstance(other, Value) else _constant(other)
        if y is None:
            return NotImplemented  # type: ignore[no-any-return]  # Python tries other's side
        data = forward(self.data, y.data)
        if not _isfinite(data):
            raise _not_finite_error(op, data, self, y)
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._op = op
        out._a = self
        out._b = y
        out._param = None
        if _threads_off.count or _on_made is not None:
            _off_the_plain_path(out)
        return out

    method.__name__ = name
    method.__qualname__ = f"Value.{name}"
    method.__doc__ = f"self {op.name} other, recorded in the graph. {op.describe()}"
    return method


class Value:
    """A scalar in a computation graph. ``Value(2.0, label="a")``."""

    __slots__ = ("data", "grad", "label", "_op", "_a", "_b", "_param")
    __array_ufunc__ = None  # numpy defers to our reflected operators: np.float64(2) * v is a Value

    data: float
    grad: float
    label: str
    _op: ops.Op | None
    _a: Any  # the first input: a Value; None for a leaf, NOT_RECORDED if made in no_grad()
    _b: Value | None
    _param: float | None

    def __init__(self, data: Number, label: str = "") -> None:
        if type(data) is not float or not math.isfinite(data):
            data = _check_number(data)
        if type(label) is not str:
            raise TypeError(f"label must be a str, got {type(label).__name__}: {label!r}")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._op = None  # the ops.Op that made this Value; None for a leaf
        self._a = None  # its first input (NOT_RECORDED if made inside no_grad())
        self._b = None  # its second input, for ops of two inputs
        self._param = None  # the op's constant parameter (the 3 of x ** 3), if it has one

    # --- the graph, read-only ---------------------------------------------------------

    @property
    def op(self) -> str:
        """The op's name ("+", "tanh", ...), or "" for a leaf."""
        return self._op.name if self._op is not None else ""

    @property
    def grad_fn(self) -> ops.Op | None:
        """The `ops.Op` that made this Value (its derivatives and formulas); None for a leaf."""
        return self._op

    @property
    def param(self) -> float | None:
        """The op's constant parameter (the exponent of ``x ** 3``), else None."""
        return self._param

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in argument order; () for a leaf."""
        if self._op is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def local_gradients(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, as floats: the factors the chain rule multiplies."""
        if self._op is None:
            return ()
        y = self._b.data if self._b is not None else None
        return self._op.local_derivatives(ops.FLOAT_MATH, self._a.data, y, self.data, self._param)

    # --- differentiation ----------------------------------------------------------------

    def backward(self, gradient: Value | Number = 1.0) -> None:
        """Back-propagate from this Value: see `autograd.backprop.backward`."""
        _backprop.backward(self, gradient)

    def zero_grad(self) -> None:
        self.grad = 0.0

    def detach(self) -> Value:
        """A new leaf with the same number and label, cut off from this graph."""
        return Value(self.data, self.label)

    # --- arithmetic -------------------------------------------------------------------

    # x + y, x - y, x * y, x / y where x is a Value: most of every graph, so their methods are
    # made by `_operator` with the whole path in one function. 2 + x and the like go by _binary.
    __add__ = _operator(ops.ADD, "__add__")
    __sub__ = _operator(ops.SUB, "__sub__")
    __mul__ = _operator(ops.MUL, "__mul__")
    __truediv__ = _operator(ops.DIV, "__truediv__")

    def __radd__(self, other: Value | Number) -> Value:
        return _binary(ops.ADD, other, self)

    def __rsub__(self, other: Value | Number) -> Value:
        return _binary(ops.SUB, other, self)

    def __rmul__(self, other: Value | Number) -> Value:
        return _binary(ops.MUL, other, self)

    def __rtruediv__(self, other: Value | Number) -> Value:
        return _binary(ops.DIV, other, self)

    def __pow__(self, exponent: Value | Number) -> Value:
        if isinstance(exponent, Value):
            return _binary(ops.POW, self, exponent)
        if not isinstance(exponent, _REAL):
            return NotImplemented
        return _apply(ops.POW_CONST, self, param=_check_number(exponent, "the exponent of **"))

    def __rpow__(self, base: Number) -> Value:
        return _binary(ops.POW, base, self)

    def __neg__(self) -> Value:
        return _apply(ops.NEG, self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _apply(ops.ABS, self)

    # --- functions: exp, log, sqrt, tanh, sigmoid, relu, softplus, sin, cos ---------------
    # are made from the op table (`ops.FUNCTIONS`) below the class, one method per op.
    # Declared here for type checkers only; a test checks these names are the table's.

    if TYPE_CHECKING:
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def relu(self) -> Value: ...
        def softplus(self) -> Value: ...
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...

    def leaky_relu(self, negative_slope: Number = 0.01) -> Value:
        slope = _check_number(negative_slope, "negative_slope")
        return _apply(ops.LEAKY_RELU, self, slope)

    # --- comparisons and conversions (on data; equality stays identity, for dicts) -----

    def __lt__(self, other: Value | Number) -> bool:
        return bool(self.data < _data(other))  # a bool, also against a numpy scalar

    def __le__(self, other: Value | Number) -> bool:
        return bool(self.data <= _data(other))

    def __gt__(self, other: Value | Number) -> bool:
        return bool(self.data > _data(other))

    def __ge__(self, other: Value | Number) -> bool:
        return bool(self.data >= _data(other))

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __float__(self) -> float:
        return self.data

    def item(self) -> float:
        return self.data

    def __repr__(self) -> str:
        parts = [repr(self.data)]
        if self.label:
            parts.append(f"label={self.label!r}")
        if self._op is not None:
            parts.append(f"op={self._op.name!r}")
        parts.append(f"grad={self.grad!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _repr_mimebundle_(
        self, include: object = None, exclude: object = None
    ) -> dict[str, Any]:
        """In Jupyter a Value shows itself as its graph, or past the node limit as a summary
        with a preview (when viz is importable)."""
        try:
            from viz.summary import mimebundle
        except ImportError:
            return {"text/plain": repr(self)}
        return mimebundle(self, include, exclude)


class Parameter(Value):
    """A Value that a model learns (a weight, a bias), as PyTorch's ``nn.Parameter``.

    It computes like any Value; being a Parameter only says what it is for: nn's modules
    make their weights Parameters, labelled with their path in the model
    (``layers.0.neurons.1.w[0]``), and diagrams draw them as parameters.
    """

    __slots__ = ()


def _data(x: Value | Number) -> Number:
    return x.data if isinstance(x, Value) else x


def _result(
    op: ops.Op, data: float, a: Value, b: Value | None = None, param: float | None = None
) -> Value:
    """The Value `op` computed: with its inputs recorded, unless inside no_grad()."""
    if not _isfinite(data):
        raise _not_finite_error(op, data, a, b)
    # __new__ skips __init__'s checks (data is a finite float here): 150 ns a Value
    # instead of 200 ns, a tenth of an op's cost (timeit, 2026-11-30)
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op = op
    out._a = a
    out._b = b
    out._param = param
    if _threads_off.count or _on_made is not None:
        _off_the_plain_path(out)
    return out


def _off_the_plain_path(out: Value) -> None:
    """What a new Value needs where some thread has recording off, or a tape traces."""
    if not _mode.enabled:  # inside no_grad(): a leaf that says why it has no inputs
        out._op = None
        out._a = NOT_RECORDED
        out._b = out._param = None
    if _on_made is not None:
        _on_made(out)


_on_made: Callable[[Value], None] | None = None
"""While a tape traces, its hook on every Value an op makes (`autograd.tape_guard`)."""

_new = object.__new__
_isfinite = math.isfinite
_INT_LIMIT = 2**1023


def _not_finite_error(op: ops.Op, data: float, a: Value, b: Value | None) -> Exception:
    inputs = [a.data] if b is None else [a.data, b.data]
    for x in inputs:
        if not math.isfinite(x):
            return ValueError(
                f"{op.name!r}: an input holds {x!r}; a Value's data must be finite "
                "(was .data assigned by hand?)"
            )
    listed = ", ".join(map(repr, inputs))
    if math.isnan(data):
        return ValueError(f"{op.name!r}: {op.name}({listed}) is undefined (nan)")
    return OverflowError(
        f"{op.name!r}: the result of {op.name}({listed}) is {data!r}, outside the float "
        "range; scale the inputs down"
    )


def _binary(op: ops.Op, a: Value | Number, b: Value | Number) -> Value:
    x = a if isinstance(a, Value) else _constant(a)
    y = b if isinstance(b, Value) else _constant(b)
    if x is None or y is None:
        return NotImplemented  # type: ignore[no-any-return]  # the operator's caller tries the other side
    return _result(op, op.forward(x.data, y.data), x, y)


def _constant(x: object) -> Value | None:
    """The leaf a number becomes where an op meets it (the 2 of x * 2); None if x is not one."""
    if type(x) is int and -_INT_LIMIT < x < _INT_LIMIT:  # sum()'s 0; the limit is float's
        x = float(x)
    if type(x) is float and _isfinite(x):  # the usual case, without isinstance on numbers.Real
        out = _new(Value)  # (an ABC: 300 ns, as long as the whole op)
        out.data = x
        out.grad = 0.0
        out.label = ""
        out._op = out._a = out._b = out._param = None
        return out
    return Value(x) if isinstance(x, _REAL) else None  # type: ignore[arg-type]  # a Number


def _apply(op: ops.Op, a: Value, param: float | None = None) -> Value:
    data = op.forward(a.data) if param is None else op.forward(a.data, param)
    return _result(op, data, a, param=param)


def _method(op: ops.Op) -> Callable[[Value], Value]:
    def method(self: Value) -> Value:
        return _apply(op, self)

    assert op.method is not None
    method.__name__ = method.__qualname__ = op.method
    method.__doc__ = f"{op.method}(self), recorded in the graph. {op.describe()}"
    return method


for _op in ops.FUNCTIONS.values():
    if _op.method and not _op.param_name:  # ops with a parameter have their own method
        setattr(Value, _op.method, _method(_op))


VALUE_MATH = ops.MathNamespace(
    "Value",
    sign=lambda x: ops.FLOAT_MATH.sign(x.data),  # a constant, so a number
    where=lambda condition, a, b: a if condition else b,
    sin=lambda x: _apply(ops.SIN, x),
    cos=lambda x: _apply(ops.COS, x),
    log=lambda x: _apply(ops.LOG, x),
    sigmoid=lambda x: _apply(ops.SIGMOID, x),
)
"""The derivatives' functions on Values, so a derivative builds a graph of its own."""

from . import backprop as _backprop  # noqa: E402  (backprop needs Value defined first)
