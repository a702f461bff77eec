"""The op table: every operation's name, forward function and local derivatives, once.

An `Op` is the single definition of an operation. Its float `forward` runs the eager engine
(and raises a clear error outside the op's domain); its `array_forward` runs the same
function over numpy arrays (the batched tape). Its `derivatives` give d(out)/d(input), one
per input, written with plain arithmetic plus the few functions a `MathNamespace` supplies.
The same rule evaluated on floats drives `backward`; on Values it builds the gradient's own
graph (``create_graph=True``); on numpy arrays it drives the tape; on `symbolic.Symbol`s
it prints itself, which is where diagrams and docs get their formulas.

A rule takes, by name, only what it uses:

- ``x`` and ``y``: the op's inputs (``y`` only for ops of two inputs),
- ``out``: the op's result,
- the op's constant parameter under its own name (``exponent``, ``slope``),
- ``m``: the `MathNamespace` (``m.sin``, ``m.sign``, ``m.where``, ...).

A rule that is a plain number (``1.0``) is a constant derivative.
"""

from __future__ import annotations

import decimal
import inspect
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, SupportsFloat, TypeAlias

import numpy as np

from . import symbolic

Rule: TypeAlias = "Callable[..., Any] | float"
"""A derivative rule: a function of (some of) m, x, y, out and the parameter, or a constant."""


@dataclass(frozen=True)
class MathNamespace:
    """The non-arithmetic functions that derivative rules use, for one kind of number."""

    name: str
    sign: Callable[[Any], Any]  # -1, 0 or 1 (a constant: its own derivative is 0)
    where: Callable[[Any, Any, Any], Any]  # where(condition, a, b): a if condition else b
    sin: Callable[[Any], Any]
    cos: Callable[[Any], Any]
    log: Callable[[Any], Any]
    sigmoid: Callable[[Any], Any]

    def __repr__(self) -> str:
        return f"<MathNamespace {self.name}>"


@dataclass(frozen=True, slots=True)  # slots: backward reads is_product and constants per node
class Op:
    key: str  # how code and tests name it: "add", "pow_const", "tanh"
    name: str  # how graphs and errors show it: "+", "**", "tanh"
    inputs: tuple[str, ...]  # the inputs' names in the rules: ("x", "y") or ("x",)
    forward: Callable[..., float]  # on floats, with domain checks
    derivatives: tuple[Rule, ...]  # one rule (a function or a number) per input
    array_forward: Callable[..., Any] | None = None  # on numpy arrays; None: `forward` does
    param_name: str | None = None  # the constant parameter's name ("exponent"), if any
    method: str | None = None  # the Value method that applies it ("tanh"); None: an operator
    commutative: bool = False  # for binary ops: may the inputs be swapped?
    # per rule, where its arguments sit in (m, x, y, out, param); None for a constant rule
    rule_positions: tuple[tuple[int, ...] | None, ...] = field(init=False, repr=False)
    # What backward may apply without calling the rules, read off them once here: every
    # rule a number (+, -, neg: `constants`), or d/dx = y and d/dy = x (*: `is_product`).
    constants: tuple[float, ...] | None = field(init=False, repr=False)
    is_product: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.derivatives) != len(self.inputs):
            raise ValueError(f"op {self.key!r}: one derivative rule per input is needed")
        object.__setattr__(self, "array_forward", self.array_forward or self.forward)
        allowed = {"m", "out", *self.inputs} | ({self.param_name} if self.param_name else set())
        position = {"m": 0, "x": 1, "y": 2, "out": 3, self.param_name: 4}
        positions: list[tuple[int, ...] | None] = []
        for k, rule in enumerate(self.derivatives):
            names = tuple(inspect.signature(rule).parameters) if callable(rule) else ()
            unknown = [n for n in names if n not in allowed]
            if unknown:
                raise ValueError(
                    f"op {self.key!r}: derivative {k} takes {', '.join(unknown)}; "
                    f"a rule may take only {', '.join(sorted(allowed))}"
                )
            if callable(rule) and not names:
                raise ValueError(f"op {self.key!r}: derivative {k} takes nothing; write a "
                                 "constant derivative as a number")
            positions.append(tuple(position[n] for n in names) if callable(rule) else None)
        object.__setattr__(self, "rule_positions", tuple(positions))
        numbers = [float(r) for r in self.derivatives if not callable(r)]
        constants = tuple(numbers) if len(numbers) == self.arity else None
        object.__setattr__(self, "constants", constants)
        is_product = positions == [(2,), (1,)] and all(map(_returns_its_argument, self.derivatives))
        object.__setattr__(self, "is_product", is_product)

    def __repr__(self) -> str:
        return f"Op({self.key!r}, {self.name!r})"

    @property
    def arity(self) -> int:
        return len(self.inputs)

    def local_derivatives(
        self, m: MathNamespace, x: Any, y: Any = None, out: Any = None, param: Any = None
    ) -> tuple[Any, ...]:
        """d(out)/d(input) for each input, evaluated with namespace `m` at this point."""
        # This runs once per node of every backward pass: a plain loop, the common one-argument
        # rule called directly (measured faster than a dict of names or itemgetters).
        point = (m, x, y, out, param)
        result = []
        for rule, at in zip(self.derivatives, self.rule_positions):
            if at is None:
                result.append(rule)
            elif len(at) == 1:
                result.append(rule(point[at[0]]))  # type: ignore[operator]
            else:
                result.append(rule(*[point[i] for i in at]))  # type: ignore[operator]
        return tuple(result)

    def formulas(
        self, names: dict[str, str] | None = None, param: float | symbolic.Symbol | None = None
    ) -> tuple[str, ...]:
        """Each derivative as text, generated from its rule.

        `names` maps "x", "y" and "out" to the names to print (default: those letters);
        `param` is the constant parameter's value (default: its name).
        """
        names = {"x": "x", "y": "y", "out": "out", **(names or {})}
        symbols = {k: symbolic.Symbol(v) for k, v in names.items()}
        if param is None:
            param = symbolic.Symbol(self.param_name or "")
        derivatives = self.local_derivatives(
            SYMBOL_MATH, symbols["x"], symbols["y"], symbols["out"], param
        )
        return tuple(symbolic.as_symbol(d).text for d in derivatives)

    def describe(self, param: float | None = None) -> str:
        """A one-line summary such as 'tanh: d/dx = 1 - out²'."""
        parts = [f"d/d{v} = {f}" for v, f in zip(self.inputs, self.formulas(param=param))]
        where = ""
        if self.param_name and param is not None:
            where = f" ({self.param_name}={symbolic.constant_text(param)})"
        return f"{self.name}{where}: " + ", ".join(parts)


def _returns_its_argument(rule: Rule) -> bool:
    probe = object()
    try:
        return rule(probe) is probe  # type: ignore[operator]
    except Exception:  # the rule computes with its argument: it is not the argument itself
        return False


# Forward functions on floats. Each raises at the op itself, naming it and the value.


def _fmt(x: float) -> str:
    return repr(float(x))


def _div(x: float, y: float) -> float:
    if y == 0.0:
        raise ZeroDivisionError(f"'/': division by zero ({_fmt(x)} / {_fmt(y)})")
    return x / y


def _pow_const(x: float, exponent: float) -> float:
    if x == 0.0 and exponent < 0:
        raise ZeroDivisionError(
            f"'**': 0.0 ** {exponent!r} is a division by zero; keep the base away from zero"
        )
    if x < 0.0 and not float(exponent).is_integer():
        raise ValueError(
            f"'**': negative base {_fmt(x)} with non-integer exponent {exponent!r} is not real"
        )
    try:
        return float(x**exponent)  # a float: negative bases have integer exponents here
    except OverflowError:
        raise OverflowError(f"'**': {_fmt(x)} ** {exponent!r} overflows a float") from None


def _pow(x: float, y: float) -> float:
    if x <= 0.0:
        raise ValueError(
            f"'**': base must be positive when the exponent is a Value, got base {_fmt(x)}; "
            "for a negative base use a constant exponent (x ** 2.0)"
        )
    try:
        return float(x**y)  # a float: the base is positive
    except OverflowError:
        raise OverflowError(f"'**': {_fmt(x)} ** {_fmt(y)} overflows a float") from None


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(
            f"exp: exp({_fmt(x)}) overflows a float (inputs above about 709.78 do); "
            "scale the input down or use a stable form such as softplus or log_softmax"
        ) from None


def _log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log: input must be positive, got {_fmt(x)}")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt: input must be non-negative, got {_fmt(x)}")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows: sigmoid(-1000) is 0.0, not an error.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _array_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    result: np.ndarray = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return result


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), finite for every finite x.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _array_softplus(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    return result


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def _pow_const_derivative(x: Any, exponent: Any) -> Any:
    if exponent == 0:  # x ** 0 is the constant 1; its rule must not divide by x (x = 0)
        return 0.0
    return exponent * x ** (exponent - 1)


FLOAT_MATH = MathNamespace(
    "float", _sign, lambda c, a, b: a if c else b, math.sin, math.cos, math.log, _sigmoid
)
ARRAY_MATH = MathNamespace(
    "array", np.sign, lambda c, a, b: np.where(c, a, b), np.sin, np.cos, np.log, _array_sigmoid
)
SYMBOL_MATH = MathNamespace(
    "symbol", symbolic.function("sign"), symbolic.where, symbolic.function("sin"),
    symbolic.function("cos"), symbolic.function("log"), symbolic.function("sigmoid"),
)



class Wide:
    """A number with decimal's exponent range, for a local derivative beyond a float's.

    d(log x)/dx = 1/x is 4.5e308 at x = 2.2e-309, past the largest float, while the
    gradient times it (say 1e-6 x 4.5e308) is not. The chain rule evaluates such a rule
    again on Wide numbers (`WIDE_MATH`) and rounds the product to a float only at the end.
    """

    __slots__ = ("d",)
    d: decimal.Decimal
    CONTEXT = decimal.Context(prec=34, Emax=999_999, Emin=-999_999)  # traps what floats raise

    def __init__(self, x: Wide | SupportsFloat) -> None:
        self.d = x.d if isinstance(x, Wide) else decimal.Decimal(float(x))

    @classmethod
    def _of(cls, d: decimal.Decimal) -> Wide:
        wide = cls.__new__(cls)
        wide.d = d
        return wide

    def _apply(self, name: str, other: Wide | SupportsFloat, swap: bool = False) -> Wide:
        a, b = self.d, Wide(other).d
        a, b = (b, a) if swap else (a, b)
        result: decimal.Decimal = getattr(self.CONTEXT, name)(a, b)
        return Wide._of(result)

    def __add__(self, o: Wide | float) -> Wide: return self._apply("add", o)
    def __radd__(self, o: Wide | float) -> Wide: return self._apply("add", o, True)
    def __sub__(self, o: Wide | float) -> Wide: return self._apply("subtract", o)
    def __rsub__(self, o: Wide | float) -> Wide: return self._apply("subtract", o, True)
    def __mul__(self, o: Wide | float) -> Wide: return self._apply("multiply", o)
    def __rmul__(self, o: Wide | float) -> Wide: return self._apply("multiply", o, True)
    def __truediv__(self, o: Wide | float) -> Wide: return self._apply("divide", o)
    def __rtruediv__(self, o: Wide | float) -> Wide: return self._apply("divide", o, True)
    def __pow__(self, o: Wide | float) -> Wide: return self._apply("power", o)
    def __rpow__(self, o: Wide | float) -> Wide: return self._apply("power", o, True)
    def __neg__(self) -> Wide: return Wide._of(self.CONTEXT.minus(self.d))
    def __gt__(self, o: Wide | float) -> bool: return self.d > Wide(o).d
    def __lt__(self, o: Wide | float) -> bool: return self.d < Wide(o).d
    def __float__(self) -> float: return float(self.d)  # inf past the float range, as it should be

    def __repr__(self) -> str:
        return f"Wide({self.d})"


def _wide_sign(x: Wide) -> float:
    return 0.0 if x.d.is_zero() else (-1.0 if x.d.is_signed() else 1.0)


def _on_float(f: Callable[[float], float]) -> Callable[[Wide], Wide]:
    # for functions whose value is a float wherever their input is one
    return lambda x: Wide(f(float(x)))


WIDE_MATH = MathNamespace(
    "wide", _wide_sign, lambda c, a, b: a if c else b, _on_float(math.sin),
    _on_float(math.cos), lambda x: Wide._of(Wide.CONTEXT.ln(x.d)), _on_float(_sigmoid),
)

_XY, _X = ("x", "y"), ("x",)

# fmt: off
# + - * and neg run as the operator module's C functions: no Python frame, a third of the time
ADD = Op("add", "+", _XY, operator.add, (1.0, 1.0), commutative=True)
SUB = Op("sub", "-", _XY, operator.sub, (1.0, -1.0))
MUL = Op("mul", "*", _XY, operator.mul, (lambda y: y, lambda x: x), commutative=True)
DIV = Op("div", "/", _XY, _div, (lambda y: 1.0 / y, lambda y, out: -out / y),
         array_forward=lambda x, y: x / y)
POW = Op("pow", "**", _XY, _pow,
         (lambda x, y: y * x ** (y - 1.0), lambda m, x, out: out * m.log(x)),
         array_forward=np.power)
POW_CONST = Op("pow_const", "**", _X, _pow_const, (_pow_const_derivative,),
               array_forward=np.power, param_name="exponent")
NEG = Op("neg", "neg", _X, operator.neg, (-1.0,))
ABS = Op("abs", "abs", _X, abs, (lambda m, x: m.sign(x),), array_forward=np.abs)
EXP = Op("exp", "exp", _X, _exp, (lambda out: out,), array_forward=np.exp, method="exp")
LOG = Op("log", "log", _X, _log, (lambda x: 1.0 / x,), array_forward=np.log, method="log")
SQRT = Op("sqrt", "sqrt", _X, _sqrt, (lambda out: 0.5 / out,), array_forward=np.sqrt,
          method="sqrt")
TANH = Op("tanh", "tanh", _X, math.tanh, (lambda out: 1.0 - out * out,), array_forward=np.tanh,
          method="tanh")
# sigmoid' = out·(1 - out), with 1 - out written as sigmoid(-x): for large x, 1 - out cancels
# (it is 0 from x = 37 on) where sigmoid(-x) keeps every digit.
SIGMOID = Op("sigmoid", "sigmoid", _X, _sigmoid, (lambda m, x, out: out * m.sigmoid(-x),),
             array_forward=_array_sigmoid, method="sigmoid")
RELU = Op("relu", "relu", _X, _relu, (lambda m, x: m.where(x > 0.0, 1.0, 0.0),),
          array_forward=lambda x: np.maximum(x, 0.0), method="relu")
LEAKY_RELU = Op("leaky_relu", "leaky_relu", _X, _leaky_relu,
                (lambda m, x, negative_slope: m.where(x > 0.0, 1.0, negative_slope),),
                array_forward=lambda x, slope: np.where(x > 0, x, slope * x),
                param_name="negative_slope", method="leaky_relu")
SOFTPLUS = Op("softplus", "softplus", _X, _softplus, (lambda m, x: m.sigmoid(x),),
              array_forward=_array_softplus, method="softplus")
SIN = Op("sin", "sin", _X, math.sin, (lambda m, x: m.cos(x),), array_forward=np.sin,
         method="sin")
COS = Op("cos", "cos", _X, math.cos, (lambda m, x: -m.sin(x),), array_forward=np.cos,
         method="cos")
# fmt: on

OPS = {
    op.key: op
    for op in (ADD, SUB, MUL, DIV, POW, POW_CONST, NEG, ABS, EXP, LOG, SQRT, TANH, SIGMOID,
               RELU, LEAKY_RELU, SOFTPLUS, SIN, COS)
}
"""Every op by its key; iterate it to test, document or compile all of them."""

FUNCTIONS = {op.method: op for op in OPS.values() if op.method} | {"abs": ABS}
"""The ops a user calls by name, ``x.tanh()`` or ``abs(x)``: what the CLI and plots offer."""
