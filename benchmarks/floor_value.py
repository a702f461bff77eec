"""The floor: what any scalar engine that keeps its graph pays before it back-propagates.

One object per op, holding its number and its inputs (so the graph stays alive, and
Python's cycle collector walks it, as it walks any engine's), and nothing else: no
gradient, no op, no checks, no backward. Timing the transformer's forward pass with it
bounds from below what an engine can take per step, and so how much faster than another
engine any engine can be.
"""

from __future__ import annotations

import math


class Value:
    __slots__ = ("data", "_a", "_b")

    def __init__(self, data, a=None, b=None):
        self.data = data
        self._a = a
        self._b = b

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, self, other)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, self, other)

    def __sub__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data - other.data, self, other)

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data / other.data, self, other)

    def __radd__(self, other):
        return Value(other) + self

    def __rmul__(self, other):
        return Value(other) * self

    def __neg__(self):
        return Value(-self.data, self)

    def __pow__(self, exponent):
        return Value(self.data**exponent, self)

    def exp(self):
        return Value(math.exp(self.data), self)

    def log(self):
        return Value(math.log(self.data), self)

    def relu(self):
        return Value(max(self.data, 0.0), self)
