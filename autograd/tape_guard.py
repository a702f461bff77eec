"""What a traced function reads from its Values, turned into guards the tape checks.

While a tape traces ``fn``, the Values it computes with are `Traced` ones: they compute
like any Value, but reading ``v.data`` gives a `TracedNumber` that remembers which node it
came from. Arithmetic on traced numbers (``abs(d.data) - delta``) builds an expression;
every decision on one (``<``, ``==``, ``if``, ``max``, ``min``, ``int()``) is recorded as a
`Guard`: the expression, the comparison and its outcome for the traced example. A replay
evaluates every guard on the whole batch with numpy; an example whose outcome differs did
not take the traced path and goes to another program (TorchDynamo's guards).

A traced number used as a constant (``v - top`` with ``top = max(s.data for s in row)``)
becomes a node of the graph whose value is recomputed for every example, with no gradient,
as the eager engine has none for it. What the tape cannot follow, because the number leaves
Python's operators (``float()``, ``math.log``, formatting, hashing), raises `TraceError` at
trace time, naming the line (JAX's ConcretizationTypeError).
"""

from __future__ import annotations

import functools
import operator
import os
import sys
import threading
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, FrameType, NotImplementedType
from typing import Any, Literal, NoReturn, TypeAlias, cast, overload

import numpy as np

from . import backprop as _backprop_module
from . import ops
from . import value as _value_module
from .value import Parameter, Value

Expr: TypeAlias = "tuple[Any, ...]"
"""An expression a traced number comes from: ("node", Value), ("const", x), (op, a[, b]) of
expressions; in a compiled guard, ("slot", row) instead of ("node", Value)."""


class TraceError(RuntimeError):
    """The tape cannot follow what `fn` does (randomness, state, a number it cannot track)."""


# An op of the tape's own, not of the table: a copy of a number that stops the gradient,
# for constants computed from the data (the eager engine's ``Value(v.data)``).
DETACH = ops.Op("detach", "detach", ("x",), lambda x: x, (0.0,), array_forward=np.array)

# And the largest of such constants (`max_data`), exact as max is; no gradient either.
DETACHED_MAX = ops.Op("detached_max", "max", ("x", "y"), max, (0.0, 0.0),
                      array_forward=np.maximum)

# A decision within this distance of its threshold is left to the eager engine: the tape's
# matrix products may round differently from the eager engine's sums (see tape_compile).
RELATIVE_MARGIN, ABSOLUTE_MARGIN = 1e-9, 1e-12

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "**": operator.pow}


class _State(threading.local):
    recorder: Recorder | None = None


_state = _State()


class Recorder:
    """The guards of one trace, and the DETACHed copy made of each node whose number fn
    used as a constant (one copy however often it is used)."""

    def __init__(self) -> None:
        self.guards: list[Guard] = []
        self.detached: dict[Value, Value] = {}


class recording:
    """``with recording() as rec:`` traces in this thread; params become `Traced` meanwhile."""

    def __init__(self, params: Iterable[Value] = ()) -> None:
        self.params = list(params)

    def __enter__(self) -> Recorder:
        if _state.recorder is not None:
            raise TraceError("a tape is already tracing in this thread (fn traces a tape?)")
        self.classes = [type(p) for p in self.params]
        for p in self.params:
            p.__class__ = traced_class(type(p))
        recorder = _state.recorder = Recorder()
        _start_tracing()
        return recorder

    def __exit__(self, *exc: object) -> Literal[False]:
        _state.recorder = None
        _stop_tracing()
        for p, cls in zip(self.params, self.classes):
            p.__class__ = cls
        return False


def traced_value(number: float) -> Value:
    """A new input leaf for tracing."""
    v = Value(number)
    v.__class__ = TracedValue
    return v


# --- traced numbers ---------------------------------------------------------------------


def _user_line() -> str:
    """'file.py:12' of the innermost frame outside autograd/, for error messages."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame = frame.f_back
    if frame is None:
        return "fn"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _refuse(what: str) -> NoReturn:
    raise TraceError(
        f"{what} at {_user_line()}: the tape cannot follow a number once it leaves the Values "
        "and their operators, so the traced program would be wrong for other examples. Keep "
        "it a Value (use ops: relu, abs, ...) or compare it (<, >, max, min: the tape checks "
        "such decisions per example), pass such arguments in static, or use the eager engine"
    )


@overload
def _operand(x: TracedNumber | float) -> tuple[Expr, float]: ...
@overload
def _operand(x: object) -> tuple[Expr, float] | None: ...
def _operand(x: object) -> tuple[Expr, float] | None:
    """(expression, number) for a traced number or a real number; None for anything else."""
    if isinstance(x, TracedNumber):
        return x.expr, x.value
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return ("const", float(x)), float(x)
    if isinstance(x, (bool, np.bool_)):
        return ("const", float(x)), float(x)
    return None


class TracedNumber:
    """``v.data`` while tracing: the number, and the expression (of nodes) it comes from."""

    __slots__ = ("expr", "value", "node")
    __array_ufunc__ = None  # numpy defers to our operators

    def __init__(self, expr: Expr, value: float) -> None:
        self.expr, self.value = expr, value
        self.node: Value | None = None  # the graph's node for it, once `as_node` made one

    def __repr__(self) -> str:
        return f"<traced number {self.value!r}>"

    # arithmetic builds expressions; with a Value it becomes a node of the graph
    def _arith(
        self, other: object, symbol: str, swap: bool = False,
    ) -> TracedNumber | Value | NotImplementedType:
        if isinstance(other, Value):
            node = as_node(self)
            result: Value = (_ARITHMETIC[symbol](other, node) if swap
                             else _ARITHMETIC[symbol](node, other))
            return result
        o = _operand(other)
        if o is None:
            return NotImplemented  # type: ignore[no-any-return]  # typed Any outside dunders
        (a, x), (b, y) = ((self.expr, self.value), o) if not swap else (o, (self.expr, self.value))
        return TracedNumber((symbol, a, b), _ARITHMETIC[symbol](x, y))

    def __add__(self, o: object) -> TracedNumber | Value: return self._arith(o, "+")
    def __radd__(self, o: object) -> TracedNumber | Value: return self._arith(o, "+", True)
    def __sub__(self, o: object) -> TracedNumber | Value: return self._arith(o, "-")
    def __rsub__(self, o: object) -> TracedNumber | Value: return self._arith(o, "-", True)
    def __mul__(self, o: object) -> TracedNumber | Value: return self._arith(o, "*")
    def __rmul__(self, o: object) -> TracedNumber | Value: return self._arith(o, "*", True)
    def __truediv__(self, o: object) -> TracedNumber | Value: return self._arith(o, "/")
    def __rtruediv__(self, o: object) -> TracedNumber | Value: return self._arith(o, "/", True)
    def __pow__(self, o: object) -> TracedNumber | Value: return self._arith(o, "**")
    def __rpow__(self, o: object) -> TracedNumber | Value: return self._arith(o, "**", True)
    def __neg__(self) -> TracedNumber: return TracedNumber(("neg", self.expr), -self.value)
    def __pos__(self) -> TracedNumber: return self
    def __abs__(self) -> TracedNumber: return TracedNumber(("abs", self.expr), abs(self.value))

    # decisions become guards
    def _compare(self, other: object, symbol: str) -> bool | NotImplementedType:
        if isinstance(other, Value):
            other = other.data
        o = _operand(other)
        if o is None:
            return NotImplemented  # type: ignore[no-any-return]  # typed Any outside dunders
        outcome: bool = _COMPARE[symbol](self.value, o[1])
        record(Guard(self.expr, symbol, o[0], outcome, _user_line()))
        return outcome

    def __lt__(self, o: object) -> bool: return self._compare(o, "<")
    def __le__(self, o: object) -> bool: return self._compare(o, "<=")
    def __gt__(self, o: object) -> bool: return self._compare(o, ">")
    def __ge__(self, o: object) -> bool: return self._compare(o, ">=")
    def __eq__(self, o: object) -> bool: return self._compare(o, "==")
    def __ne__(self, o: object) -> bool: return self._compare(o, "!=")

    def __bool__(self) -> bool:
        return self._compare(0.0, "!=")

    def _whole(self, k: int, low_closed: bool, high_closed: bool) -> int:
        """int(), floor, ceil: the whole number k, guarded by the interval that gives it."""
        lo, hi = (k, k + 1) if low_closed else (k - 1, k)
        self._compare(lo, ">=" if low_closed else ">")
        self._compare(hi, "<=" if high_closed else "<")
        return k

    def __int__(self) -> int:
        k = int(self.value)
        if k == 0:
            return self._zero()
        return self._whole(k, True, False) if k > 0 else self._whole(k, False, True)

    def _zero(self) -> int:
        self._compare(-1.0, ">")
        self._compare(1.0, "<")
        return 0

    __trunc__ = __int__

    def __floor__(self) -> int:
        import math
        return self._whole(math.floor(self.value), True, False)

    def __ceil__(self) -> int:
        import math
        return self._whole(math.ceil(self.value), False, True)

    def __float__(self) -> float: _refuse(f"float() of {self!r}")
    def __complex__(self) -> complex: _refuse(f"complex() of {self!r}")
    def __round__(self, ndigits: int | None = None) -> int: _refuse(f"round() of {self!r}")
    def __str__(self) -> str: return repr(self)  # for print(); float() of it fails loudly

    def __format__(self, spec: str) -> str:
        if spec:
            _refuse(f"formatting {self!r} with {spec!r}")
        return repr(self)

    def __hash__(self) -> int: _refuse(f"hashing {self!r} (a dict key, a set?)")


def max_data(values: Iterable[Value]) -> float | TracedNumber:
    """The largest number among some Values: ``max(v.data for v in values)``.

    The same float; but while a tape traces, a number it follows without a decision, so
    that a softmax's shift (``v - max_data(row)``) makes no guard per order of the scores:
    the shift is computed for each example at replay, as the eager engine computes it.
    """
    numbers: list[float | TracedNumber] = [v.data for v in values]
    if not any(isinstance(n, TracedNumber) for n in numbers):
        return max(numbers)
    operands = [_operand(n) for n in numbers]
    return TracedNumber(("max", *(e for e, _ in operands)), max(x for _, x in operands))


def record(guard: Guard) -> None:
    rec = _state.recorder
    if rec is not None:
        rec.guards.append(guard)


def as_node(number: TracedNumber) -> Value:
    """A traced number as a Value of the graph: its expression rebuilt from DETACHed nodes,
    once per traced number (``v - top`` for each v of a row shares one node for top)."""
    if number.node is None:
        number.node = _build(number.expr)
    return number.node


def _build(expr: Expr) -> Value:
    if expr[0] == "node":
        return _detached(expr[1])
    if expr[0] == "const":
        return Value(expr[1])
    if expr[0] == "neg":
        return -_build(expr[1])
    if expr[0] == "abs":
        return abs(_build(expr[1]))
    if expr[0] == "max":
        # pairwise, so that the tape has log2(n) levels of max, not n - 1; on a tie each max
        # keeps its left operand, so the result is the leftmost largest, as max() gives
        nodes = [_build(e) for e in expr[1:]]
        while len(nodes) > 1:
            pairs = [_combine(DETACHED_MAX, a, b) for a, b in zip(nodes[::2], nodes[1::2])]
            nodes = pairs + nodes[len(nodes) - len(nodes) % 2:]
        return nodes[0]
    symbol, a, b = expr
    if symbol == "**" and b[0] == "const":
        power: Value = _build(a) ** b[1]
        return power
    result: Value = _ARITHMETIC[symbol](_build(a), _build(b))
    return result


def _detached(node: Value) -> Value:
    """The DETACHed copy of `node`, made once per trace."""
    rec = _state.recorder
    if rec is None:
        return _detach(node)
    if node not in rec.detached:
        rec.detached[node] = _detach(node)
    return rec.detached[node]


def _combine(op: ops.Op, a: Value, b: Value) -> Value:
    out = Value(op.forward(_DATA.__get__(a), _DATA.__get__(b)))
    out._op, out._a, out._b = op, a, b
    out.__class__ = TracedValue
    return out


def _detach(node: Value | Traced) -> Value:
    out = Value(_DATA.__get__(node))
    out._op, out._a = DETACH, node
    out.__class__ = TracedValue
    return out


# --- guards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    """A decision fn took: ``left symbol right`` was `outcome` for the traced example."""

    left: Expr  # expressions: ("node", Value), ("const", x), (op, a[, b])
    symbol: str
    right: Expr
    outcome: bool
    line: str  # where fn took it, for messages

    def nodes(self) -> list[Value]:
        return [*_nodes(self.left), *_nodes(self.right)]

    def exact(self) -> bool:
        """Whether the tape computes both sides exactly as eager does (leaves only)."""
        return all(n._op is None for n in self.nodes()) and not _has_pow(self.left, self.right)

    def describe(self, slot: dict[Value, int]) -> tuple[Expr, str, Expr, bool]:
        """Hashable and printable: the guard with nodes as slots."""
        return (_with_slots(self.left, slot), self.symbol, _with_slots(self.right, slot),
                self.outcome)


def _nodes(expr: Expr) -> list[Value]:
    if expr[0] == "node":
        return [expr[1]]
    if expr[0] == "const":
        return []
    return [n for e in expr[1:] for n in _nodes(e)]


def _has_pow(*exprs: Expr) -> bool:
    return any(e[0] == "**" or e[0] not in ("node", "const") and _has_pow(*e[1:]) for e in exprs)


def _with_slots(expr: Expr, slot: dict[Value, int]) -> Expr:
    if expr[0] == "node":
        return ("slot", slot[expr[1]])
    if expr[0] == "const":
        return expr
    return (expr[0], *(_with_slots(e, slot) for e in expr[1:]))


def evaluate(expr: Expr, values: np.ndarray) -> np.ndarray | float:
    """An expression with slots (see `Guard.describe`) over the rows of `values` (a column
    per example)."""
    kind = expr[0]
    if kind == "slot":
        row: np.ndarray = values[expr[1]]
        return row
    if kind == "const":
        constant: float = expr[1]
        return constant
    if kind == "neg":
        return -evaluate(expr[1], values)
    if kind == "abs":
        return np.abs(evaluate(expr[1], values))
    if kind == "max":
        return functools.reduce(np.maximum, [evaluate(e, values) for e in expr[1:]])
    result: np.ndarray | float = _ARITHMETIC[kind](evaluate(expr[1], values),
                                                   evaluate(expr[2], values))
    return result


@dataclass(frozen=True)
class CompiledGuard:
    """A Guard as a program checks it: its nodes are slots (rows of the replay's values);
    `exact` when both sides are leaves, so no margin is needed."""

    left: Expr
    symbol: str
    right: Expr
    outcome: bool
    exact: bool
    line: str


def route(
    guards: Sequence[CompiledGuard], values: np.ndarray, width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per example: follows the program (all guards hold), leaves it, or is too close to a
    threshold to tell (then the eager engine takes it). Returns (follows, eager) masks."""
    undecided = np.ones(width, dtype=bool)
    eager = np.zeros(width, dtype=bool)
    with np.errstate(all="ignore"):
        for g in guards:
            a = np.broadcast_to(evaluate(g.left, values), (width,))
            b = np.broadcast_to(evaluate(g.right, values), (width,))
            holds = _COMPARE[g.symbol](a, b) == g.outcome
            unsure = ~(np.isfinite(a) & np.isfinite(b))
            if not g.exact:
                margin = RELATIVE_MARGIN * np.maximum(np.abs(a), np.abs(b)) + ABSOLUTE_MARGIN
                unsure |= np.abs(a - b) <= margin
            eager |= undecided & unsure
            undecided &= holds & ~unsure
    return undecided, eager


# --- Values whose numbers are traced ----------------------------------------------------

_DATA = Value.__dict__["data"]  # the slot the number lives in


def _codes(namespace: Mapping[str, Any], skip: Container[str] = ()) -> set[CodeType]:
    """The code objects of the functions in a module or class dict, nested ones included."""
    found: set[CodeType] = set()
    for name, item in namespace.items():
        if name in skip:
            continue
        if isinstance(item, type) and item.__module__ == namespace.get("__name__", ""):
            found |= _codes(vars(item), skip)
        code = getattr(item, "__code__", None)
        if code is None and isinstance(item, (property, staticmethod, classmethod)):
            function = item.fget if isinstance(item, property) else item.__func__
            code = getattr(function, "__code__", None)
        stack = [code] if code is not None else []
        while stack:
            code = stack.pop()
            found.add(code)
            stack.extend(c for c in code.co_consts if hasattr(c, "co_code"))
    return found


# Reads of .data by the engine itself (an op computing its result, backward) get the number;
# reads by user code (and the comparisons and conversions Value offers it) get a TracedNumber.
_USER_FACING = {"_data", "__lt__", "__le__", "__gt__", "__ge__", "__float__", "item", "detach"}
_ENGINE = _codes(vars(_value_module), _USER_FACING) | _codes(vars(_backprop_module))
_ENGINE |= {f.__code__ for f in vars(_value_module.VALUE_MATH).values() if callable(f)
            and hasattr(f, "__code__")}


class Traced:
    """Mixed into Value (and Parameter) while tracing: reading .data gives a TracedNumber."""

    __slots__ = ()

    @property
    def data(self) -> Any:  # a float, or while tracing a TracedNumber that stands for it
        raw: float = _DATA.__get__(self)
        if _state.recorder is None or sys._getframe(1).f_code in _ENGINE:
            return raw
        return TracedNumber(("node", self), raw)

    @data.setter
    def data(self, number: float) -> None:
        if _state.recorder is not None and sys._getframe(1).f_code not in _ENGINE:
            raise TraceError(
                f"fn assigns .data of a Value at {_user_line()}; a tape cannot replay that"
            )
        _DATA.__set__(self, number)

    def __float__(self) -> float:
        _refuse(f"float() of {self!r}")

    def detach(self) -> Value:
        return _detach(self)


class TracedValue(Traced, Value):
    __slots__ = ()


_CLASSES: dict[type[Value], type[Value]] = {Value: TracedValue}


def traced_class(cls: type[Value]) -> type[Value]:
    """The Traced twin of a Value class (Parameter -> TracedParameter), made once."""
    if issubclass(cls, Traced):
        return cls
    if cls not in _CLASSES:
        _CLASSES[cls] = cast("type[Value]", type(f"Traced{cls.__name__}", (Traced, cls),
                                                  {"__slots__": ()}))
    return _CLASSES[cls]


traced_class(Parameter)


# While some thread traces, value._on_made (called for every Value an op makes) makes the
# Values made in that thread Traced: their numbers are followed too.
_tracing_threads = 0
_lock = threading.Lock()


def _follow(out: Value) -> None:
    if _state.recorder is not None and type(out) is Value:
        out.__class__ = TracedValue


def _start_tracing() -> None:
    global _tracing_threads
    with _lock:
        _tracing_threads += 1
        _value_module._on_made = _follow


def _stop_tracing() -> None:
    global _tracing_threads
    with _lock:
        _tracing_threads -= 1
        if not _tracing_threads:
            _value_module._on_made = None
