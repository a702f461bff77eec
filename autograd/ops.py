"""The op table: every operation's name, forward function and local derivatives, once.

An `Op` is the single definition of an operation. Its float `forward` runs the eager engine
(and raises a clear error outside the op's domain); its `array_forward` runs the same
function over numpy arrays (the batched tape); its `derivatives` give d(out)/d(input) for
each input and are written with plain arithmetic on the inputs and the output, plus the few
functions a `MathNamespace` supplies. Evaluated with floats they drive `backward`; with
Values they build the graph of the gradient (`create_graph=True`); with numpy arrays they
drive the tape. `formulas` are the same derivatives in print, for diagrams and docs.

A derivative is called as ``d(m, x, y, out)``: ``m`` is the namespace, ``x`` the first
input, ``y`` the second input of a binary op or the constant parameter of a unary op
(None when it has none), and ``out`` the op's result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Op:
    name: str  # shown in graphs and errors: "+", "*", "tanh"
    arity: int  # how many Value inputs: 1 or 2
    forward: Callable  # on floats, with domain checks
    array_forward: Callable  # the same function on numpy arrays
    derivatives: tuple  # one d(m, x, y, out) per input
    formulas: tuple  # one printable derivative per input
    param: str = ""  # name of a unary op's constant parameter ("exponent"), if any

    def __repr__(self):
        return f"Op({self.name!r}, arity={self.arity})"

    def describe(self, param=None):
        """A one-line summary such as 'tanh: d/dx = 1 - out²'."""
        inputs = ("x", "y")[: self.arity]
        parts = [f"d/d{v} = {f}" for v, f in zip(inputs, self.formulas)]
        where = f" ({self.param}={param:g})" if self.param and param is not None else ""
        return f"{self.name}{where}: " + ", ".join(parts)


class MathNamespace:
    """The non-arithmetic functions that derivatives need, for one kind of number."""

    def __init__(self, name, step, sign, sin, cos, log, sigmoid):
        self.name = name
        self.step = step  # 1 where x > 0, else 0 (a constant: its own derivative is 0)
        self.sign = sign  # -1, 0 or 1 (a constant)
        self.sin = sin
        self.cos = cos
        self.log = log
        self.sigmoid = sigmoid

    def __repr__(self):
        return f"<MathNamespace {self.name}>"


# Forward functions on floats. Each raises at the op itself, naming it and the value.


def _fmt(x):
    return repr(float(x))


def _div(x, y):
    if y == 0.0:
        raise ZeroDivisionError(f"'/': division by zero ({_fmt(x)} / {_fmt(y)})")
    return x / y


def _pow_const(x, c):
    if x == 0.0 and c < 0:
        raise ZeroDivisionError(
            f"'**': 0.0 ** {c!r} is a division by zero; keep the base away from zero"
        )
    if x < 0.0 and not float(c).is_integer():
        raise ValueError(
            f"'**': negative base {_fmt(x)} with non-integer exponent {c!r} is not real"
        )
    try:
        return x**c
    except OverflowError:
        raise OverflowError(f"'**': {_fmt(x)} ** {c!r} overflows a float") from None


def _pow(x, y):
    if x <= 0.0:
        raise ValueError(
            f"'**': base must be positive when the exponent is a Value, got base {_fmt(x)}; "
            "for a negative base use a constant exponent (x ** 2.0)"
        )
    try:
        return x**y
    except OverflowError:
        raise OverflowError(f"'**': {_fmt(x)} ** {_fmt(y)} overflows a float") from None


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(
            f"exp: exp({_fmt(x)}) overflows a float (inputs above about 709.78 do); "
            "scale the input down or use a stable form such as softplus or log_softmax"
        ) from None


def _log(x):
    if x <= 0.0:
        raise ValueError(f"log: input must be positive, got {_fmt(x)}")
    return math.log(x)


def _sqrt(x):
    if x < 0.0:
        raise ValueError(f"sqrt: input must be non-negative, got {_fmt(x)}")
    return math.sqrt(x)


def _sigmoid(x):
    # Two branches so that exp never overflows: sigmoid(-1000) is 0.0, not an error.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _array_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), finite for every finite x.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _array_softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _relu(x):
    return x if x > 0.0 else 0.0


def _leaky_relu(x, slope):
    return x if x > 0.0 else slope * x


def _step(x):
    return 1.0 if x > 0.0 else 0.0


def _sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


FLOAT_MATH = MathNamespace(
    "float", _step, _sign, math.sin, math.cos, math.log, _sigmoid
)
ARRAY_MATH = MathNamespace(
    "array",
    lambda x: (x > 0).astype(float),
    np.sign,
    np.sin,
    np.cos,
    np.log,
    _array_sigmoid,
)


def _op(name, arity, forward, derivatives, formulas, array_forward=None, param=""):
    return Op(name, arity, forward, array_forward or forward, derivatives, formulas, param)


# fmt: off
ADD = _op("+", 2, lambda x, y: x + y,
          (lambda m, x, y, out: 1.0, lambda m, x, y, out: 1.0), ("1", "1"))
SUB = _op("-", 2, lambda x, y: x - y,
          (lambda m, x, y, out: 1.0, lambda m, x, y, out: -1.0), ("1", "-1"))
MUL = _op("*", 2, lambda x, y: x * y,
          (lambda m, x, y, out: y, lambda m, x, y, out: x), ("y", "x"))
DIV = _op("/", 2, _div,
          (lambda m, x, y, out: 1.0 / y, lambda m, x, y, out: -x / (y * y)),
          ("1/y", "-x/y²"), array_forward=lambda x, y: x / y)
POW = _op("**", 2, _pow,
          (lambda m, x, y, out: y * x ** (y - 1.0), lambda m, x, y, out: out * m.log(x)),
          ("y·x^(y-1)", "out·log(x)"), array_forward=np.power)
POW_CONST = _op("**", 1, _pow_const,
                (lambda m, x, c, out: c * x ** (c - 1.0) if c != 0.0 else 0.0,), ("c·x^(c-1)",),
                array_forward=np.power, param="c")
NEG = _op("neg", 1, lambda x: -x, (lambda m, x, y, out: -1.0,), ("-1",))
ABS = _op("abs", 1, abs, (lambda m, x, y, out: m.sign(x),), ("sign(x)",),
          array_forward=np.abs)
EXP = _op("exp", 1, _exp, (lambda m, x, y, out: out,), ("out",), array_forward=np.exp)
LOG = _op("log", 1, _log, (lambda m, x, y, out: 1.0 / x,), ("1/x",), array_forward=np.log)
SQRT = _op("sqrt", 1, _sqrt, (lambda m, x, y, out: 0.5 / out,), ("1/(2·out)",),
           array_forward=np.sqrt)
TANH = _op("tanh", 1, math.tanh, (lambda m, x, y, out: 1.0 - out * out,), ("1 - out²",),
           array_forward=np.tanh)
SIGMOID = _op("sigmoid", 1, _sigmoid, (lambda m, x, y, out: out * (1.0 - out),),
              ("out·(1 - out)",), array_forward=_array_sigmoid)
RELU = _op("relu", 1, _relu, (lambda m, x, y, out: m.step(x),), ("1 if x > 0 else 0",),
           array_forward=lambda x: np.maximum(x, 0.0))
LEAKY_RELU = _op("leaky_relu", 1, _leaky_relu,
                 (lambda m, x, s, out: s + (1.0 - s) * m.step(x),), ("1 if x > 0 else slope",),
                 array_forward=lambda x, s: np.where(x > 0, x, s * x), param="slope")
SOFTPLUS = _op("softplus", 1, _softplus, (lambda m, x, y, out: m.sigmoid(x),),
               ("sigmoid(x)",), array_forward=_array_softplus)
SIN = _op("sin", 1, math.sin, (lambda m, x, y, out: m.cos(x),), ("cos(x)",),
          array_forward=np.sin)
COS = _op("cos", 1, math.cos, (lambda m, x, y, out: -m.sin(x),), ("-sin(x)",),
          array_forward=np.cos)
# fmt: on

OPS = {
    key: op
    for key, op in [
        ("add", ADD), ("sub", SUB), ("mul", MUL), ("div", DIV), ("pow", POW),
        ("pow_const", POW_CONST), ("neg", NEG), ("abs", ABS), ("exp", EXP), ("log", LOG),
        ("sqrt", SQRT), ("tanh", TANH), ("sigmoid", SIGMOID), ("relu", RELU),
        ("leaky_relu", LEAKY_RELU), ("softplus", SOFTPLUS), ("sin", SIN), ("cos", COS),
    ]
}
"""Every op by a stable key; iterate it to test, document or compile all of them."""
