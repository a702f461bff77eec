"""Expressions that print themselves: how a derivative rule is turned into its formula.

The op table writes each derivative once, as a Python function of plain arithmetic
(``lambda x, y: -out / y``). Called with `Symbol`s instead of numbers, the same function
builds the text ``-out/y``; called with the graph's own names (``Symbol("w1")``) it
builds the formula a diagram shows for that edge. So the printed formula is the code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import SupportsFloat, TypeAlias

# Binding strength of each form, loosest first; a child that binds more loosely than
# its parent needs parentheses.
_CONDITIONAL, _COMPARE, _SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = range(7)
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


Operand: TypeAlias = "Symbol | SupportsFloat"
"""What a Symbol computes with: another Symbol or a number."""


class Symbol:
    """A piece of formula text with its binding strength; arithmetic builds bigger ones."""

    __slots__ = ("text", "strength", "number")

    def __init__(
        self, text: str, strength: int = _ATOM, number: float | None = None
    ) -> None:
        self.text = text
        self.strength = strength
        self.number = number  # the value when the expression is a known number

    def __repr__(self) -> str:
        return f"Symbol({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def wrapped(self, strength: int) -> str:
        return f"({self.text})" if self.strength < strength else self.text

    # Structural equality, so a rule's `if exponent == 0:` works on a symbol too.
    def __eq__(self, other: object) -> bool:
        return self.text == as_symbol(other).text  # type: ignore[arg-type]  # numbers too

    def __hash__(self) -> int:
        return hash(self.text)

    def __add__(self, other: Operand) -> Symbol:
        return _combine(self, " + ", as_symbol(other), _SUM, lambda a, b: a + b)

    def __radd__(self, other: Operand) -> Symbol:
        return as_symbol(other) + self

    def __sub__(self, other: Operand) -> Symbol:
        return _combine(self, " - ", as_symbol(other), _SUM, lambda a, b: a - b, right=_PRODUCT)

    def __rsub__(self, other: Operand) -> Symbol:
        return as_symbol(other) - self

    def __mul__(self, other: Operand) -> Symbol:
        other = as_symbol(other)
        if self.number == 1.0:
            return other
        if other.number == 1.0:
            return self
        if self.text == other.text and self.number is None:
            return self**2
        return _combine(self, "·", other, _PRODUCT, lambda a, b: a * b)

    def __rmul__(self, other: Operand) -> Symbol:
        return as_symbol(other) * self

    def __truediv__(self, other: Operand) -> Symbol:
        return _combine(self, "/", as_symbol(other), _PRODUCT, lambda a, b: a / b,
                        right=_NEGATION)

    def __rtruediv__(self, other: Operand) -> Symbol:
        return as_symbol(other) / self

    def __pow__(self, other: Operand) -> Symbol:
        other = as_symbol(other)
        if other.number is not None and self.number is not None:
            return as_symbol(self.number**other.number)
        if other.number == 1.0:
            return self
        if other.number is not None and other.number.is_integer() and abs(other.number) < 10:
            power = _number_text(other.number).translate(_SUPERSCRIPTS)
            return Symbol(self.wrapped(_ATOM) + power, _POWER)
        return Symbol(f"{self.wrapped(_ATOM)}^{other.wrapped(_ATOM)}", _POWER)

    def __rpow__(self, other: Operand) -> Symbol:
        return as_symbol(other) ** self

    def __neg__(self) -> Symbol:
        if self.number is not None:
            return as_symbol(-self.number)
        return Symbol("-" + self.wrapped(_POWER), _NEGATION)

    def __gt__(self, other: Operand) -> Symbol:
        return Symbol(f"{self.wrapped(_SUM)} > {as_symbol(other).wrapped(_SUM)}", _COMPARE)

    def __lt__(self, other: Operand) -> Symbol:
        return Symbol(f"{self.wrapped(_SUM)} < {as_symbol(other).wrapped(_SUM)}", _COMPARE)


def as_symbol(x: Operand) -> Symbol:
    if isinstance(x, Symbol):
        return x
    number = float(x)
    text = _number_text(number)
    return Symbol(text, _NEGATION if number < 0 else _ATOM, number)


def _combine(
    a: Symbol, sign: str, b: Symbol, strength: int, compute: Callable[[float, float], float],
    right: int | None = None,
) -> Symbol:
    """`a sign b`, computed when both are numbers; `right` is the strength b needs."""
    if a.number is not None and b.number is not None:
        return as_symbol(compute(a.number, b.number))
    if sign == " + " and b.text.startswith("-") and b.strength == _NEGATION:
        return Symbol(f"{a.wrapped(strength)} - {b.text[1:]}", _SUM)
    return Symbol(f"{a.wrapped(strength)}{sign}{b.wrapped(right or strength)}", strength)


def function(name: str) -> Callable[[Operand], Symbol]:
    """The function `name` applied to a symbol: sin(x)."""
    return lambda x: Symbol(f"{name}({as_symbol(x).text})")


def where(condition: Operand, if_true: Operand, if_false: Operand) -> Symbol:
    condition, if_true, if_false = map(as_symbol, (condition, if_true, if_false))
    return Symbol(f"{if_true.text} if {condition.text} else {if_false.text}", _CONDITIONAL)


def constant_text(value: float) -> str:
    """How formulas print a known number (3, -1, 0.01)."""
    return _number_text(value) if math.isfinite(value) else repr(value)
