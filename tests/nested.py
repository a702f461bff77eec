"""Nested lists of Values for the nn tests: made from arrays, read back, back-propagated."""

import numpy as np

from autograd import Value
from autograd.nested import flatten


def values(array):
    """A nested list of leaf Values with the numbers of `array` (a Value for a 0-d array)."""
    array = np.asarray(array, dtype=float)
    if array.ndim == 0:
        return Value(float(array))
    return [values(row) for row in array]


def data_of(nested):
    return np.array([v.data for v in flatten(nested)])


def grads(nested):
    return np.array([v.grad for v in flatten(nested)])


def backward_with(out, cotangent):
    """Back-propagate sum(cotangent * out), so every output element gets its own weight."""
    outs = flatten(out)
    total = outs[0] * float(cotangent.ravel()[0])
    for o, c in zip(outs[1:], cotangent.ravel()[1:]):
        total = total + o * float(c)
    total.backward()
