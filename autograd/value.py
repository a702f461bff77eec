"""`Value`: one number that remembers how it was computed.

A Value holds its number (`data`), the gradient a backward pass gives it (`grad`), an
optional `label`, and for a computed Value the op that made it and its inputs. Nothing
else: no closure and no back-reference, so a dropped graph is freed by reference counting
alone and each node stays small.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import ops
from .grad_mode import _mode

_isfinite = math.isfinite
_new = object.__new__
_REAL = (numbers.Real, np.bool_)


def _check_number(data, what="Value()"):
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
    if not _isfinite(number):
        raise ValueError(f"{what} takes a finite number, got {number!r}")
    return number


class Value:
    """A scalar in a computation graph. ``Value(2.0, label="a")``."""

    __slots__ = ("data", "grad", "label", "_op", "_a", "_b")
    __array_ufunc__ = None  # numpy defers to our reflected operators: np.float64(2) * v is a Value

    def __init__(self, data, label=""):
        if type(data) is not float or not _isfinite(data):
            data = _check_number(data)
        if type(label) is not str:
            raise TypeError(f"label must be a str, got {type(label).__name__}: {label!r}")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._op = None  # the ops.Op that made this Value; None for a leaf
        self._a = None  # first input
        self._b = None  # second input, or a unary op's constant parameter

    # --- the graph, read-only ---------------------------------------------------------

    @property
    def op(self) -> str:
        """The op's name ("+", "tanh", ...), or "" for a leaf."""
        return self._op.name if self._op is not None else ""

    @property
    def operation(self):
        """The `ops.Op` that made this Value (its derivatives and formulas), or None."""
        return self._op

    @property
    def param(self):
        """The constant parameter of a unary op (the exponent of ``x ** 3``), else None."""
        return self._b if self._op is not None and self._op.arity == 1 else None

    @property
    def parents(self) -> tuple:
        """The Values this one was computed from, in argument order; () for a leaf."""
        op = self._op
        if op is None:
            return ()
        return (self._a, self._b) if op.arity == 2 else (self._a,)

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def local_gradients(self) -> tuple:
        """d(self)/d(parent) for each parent, as floats: the factors the chain rule multiplies."""
        op = self._op
        if op is None:
            return ()
        y = self._b.data if op.arity == 2 else self._b
        x = self._a.data
        return tuple(d(ops.FLOAT_MATH, x, y, self.data) for d in op.derivatives)

    # --- differentiation ----------------------------------------------------------------

    def backward(self, gradient=1.0):
        """Back-propagate from this Value: see `autograd.backprop.backward`."""
        _backprop.backward(self, gradient)

    def zero_grad(self):
        self.grad = 0.0

    def detach(self) -> Value:
        """A new leaf with the same number and label, cut off from this graph."""
        return Value(self.data, self.label)

    # --- arithmetic -------------------------------------------------------------------

    def __add__(self, other):
        return _binary(ops.ADD, self, other)

    def __radd__(self, other):
        return _binary(ops.ADD, other, self)

    def __sub__(self, other):
        return _binary(ops.SUB, self, other)

    def __rsub__(self, other):
        return _binary(ops.SUB, other, self)

    def __mul__(self, other):
        return _binary(ops.MUL, self, other)

    def __rmul__(self, other):
        return _binary(ops.MUL, other, self)

    def __truediv__(self, other):
        return _binary(ops.DIV, self, other)

    def __rtruediv__(self, other):
        return _binary(ops.DIV, other, self)

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            return _binary(ops.POW, self, exponent)
        if not isinstance(exponent, _REAL):
            return NotImplemented
        return _unary(ops.POW_CONST, self, _check_number(exponent, "the exponent of **"))

    def __rpow__(self, base):
        return _binary(ops.POW, base, self)

    def __neg__(self):
        return _unary(ops.NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(ops.ABS, self)

    # --- functions ---------------------------------------------------------------------

    def exp(self):
        return _unary(ops.EXP, self)

    def log(self):
        return _unary(ops.LOG, self)

    def sqrt(self):
        return _unary(ops.SQRT, self)

    def tanh(self):
        return _unary(ops.TANH, self)

    def sigmoid(self):
        return _unary(ops.SIGMOID, self)

    def relu(self):
        return _unary(ops.RELU, self)

    def leaky_relu(self, negative_slope=0.01):
        return _unary(ops.LEAKY_RELU, self, _check_number(negative_slope, "negative_slope"))

    def softplus(self):
        return _unary(ops.SOFTPLUS, self)

    def sin(self):
        return _unary(ops.SIN, self)

    def cos(self):
        return _unary(ops.COS, self)

    # --- comparisons and conversions (on data; equality stays identity, for dicts) -----

    def __lt__(self, other):
        return self.data < _data(other)

    def __le__(self, other):
        return self.data <= _data(other)

    def __gt__(self, other):
        return self.data > _data(other)

    def __ge__(self, other):
        return self.data >= _data(other)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __float__(self):
        return self.data

    def item(self) -> float:
        return self.data

    def __repr__(self):
        parts = [repr(self.data)]
        if self.label:
            parts.append(f"label={self.label!r}")
        if self._op is not None:
            parts.append(f"op={self._op.name!r}")
        parts.append(f"grad={self.grad!r}")
        return f"Value({', '.join(parts)})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        """In Jupyter a Value shows itself as its graph (when viz is importable)."""
        try:
            from viz import draw_dot
        except ImportError:
            return {"text/plain": repr(self)}
        return draw_dot(self, mode="both")._repr_mimebundle_(include, exclude)


def _data(x):
    return x.data if isinstance(x, Value) else x


def _result(op, data, a, b):
    if not _isfinite(data):
        inputs = f"{a.data!r}" if b is None else f"{a.data!r}, {_data(b)!r}"
        raise OverflowError(
            f"{op.name!r}: the result of {op.name}({inputs}) is {data!r}, outside the float "
            "range; scale the inputs down"
        )
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _mode.enabled:
        out._op, out._a, out._b = op, a, b
    else:
        out._op = out._a = out._b = None
    return out


def _as_value(x):
    """x itself if it is a Value, a new constant leaf if it is a number, else None."""
    if isinstance(x, Value):
        return x
    return Value(x) if isinstance(x, _REAL) else None


def _binary(op, a, b):
    if type(a) is not Value and (a := _as_value(a)) is None:
        return NotImplemented
    if type(b) is not Value and (b := _as_value(b)) is None:
        return NotImplemented
    return _result(op, op.forward(a.data, b.data), a, b)


def _unary(op, a, param=None):
    data = op.forward(a.data) if param is None else op.forward(a.data, param)
    return _result(op, data, a, param)


VALUE_MATH = ops.MathNamespace(
    "Value",
    step=lambda x: Value(ops.FLOAT_MATH.step(x.data)),
    sign=lambda x: Value(ops.FLOAT_MATH.sign(x.data)),
    sin=Value.sin,
    cos=Value.cos,
    log=Value.log,
    sigmoid=Value.sigmoid,
)
"""The derivatives' functions on Values, so a derivative builds a graph of its own."""

from . import backprop as _backprop  # noqa: E402  (backprop needs Value defined first)
