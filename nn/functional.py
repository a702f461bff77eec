"""Activations and (log-)softmax on a Value, a number or a (nested) list of them.

Element-wise functions keep the nesting of their input. ``softmax`` and ``log_softmax``
work along the last axis: on one list of scores, or on each row of a batch. Their
derivatives come from the engine's ops; nothing here is differentiated by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from autograd import Value
from autograd.nested import Nested, as_nested, as_value, is_scalar, map_nested, total
from autograd.tape_guard import max_data

__all__ = [
    "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "identity", "softmax", "log_softmax",
    "ACTIVATIONS", "activation",
]


def relu(x: Nested) -> Nested:
    """max(0, x): the derivative is 1 for x > 0 and 0 otherwise (0 at x = 0, as PyTorch)."""
    return map_nested(lambda v: as_value(v).relu(), x)


def leaky_relu(x: Nested, negative_slope: float = 0.01) -> Nested:
    """x for x > 0, negative_slope·x otherwise: negative inputs still pass a gradient."""
    return map_nested(lambda v: as_value(v).leaky_relu(negative_slope), x)


def sigmoid(x: Nested) -> Nested:
    """1 / (1 + e^-x), computed without overflow for any finite x."""
    return map_nested(lambda v: as_value(v).sigmoid(), x)


def tanh(x: Nested) -> Nested:
    return map_nested(lambda v: as_value(v).tanh(), x)


def softplus(x: Nested) -> Nested:
    """log(1 + e^x), a smooth ReLU, computed without overflow."""
    return map_nested(lambda v: as_value(v).softplus(), x)


def identity(x: Nested) -> Nested:
    return map_nested(as_value, x)


def _rows(x, fn, name):
    x = as_nested(x)
    if is_scalar(x):
        raise ValueError(f"{name} needs a list of scores (one per class), got a single number")
    if not x:
        raise ValueError(f"{name} needs at least one score, got an empty list")
    if is_scalar(x[0]):
        return fn([as_value(v) for v in x])
    return [_rows(row, fn, name) for row in x]


def _log_softmax_row(row):
    # log-sum-exp: subtract the largest score (a constant, so gradients are unchanged) so
    # that exp never overflows; logits of +-1000 stay finite.
    top = max_data(row)  # max(v.data ...), which the tape follows without a guard
    shifted = [v - top for v in row]
    log_total = total(s.exp() for s in shifted).log()
    return [s - log_total for s in shifted]


def _softmax_row(row):
    top = max_data(row)  # max(v.data ...), which the tape follows without a guard
    exps = [(v - top).exp() for v in row]
    norm = total(exps)
    return [e / norm for e in exps]


def softmax(x: Nested) -> Nested:
    """e^x_i / sum_j e^x_j along the last axis: probabilities that sum to 1."""
    return _rows(x, _softmax_row, "softmax")


def log_softmax(x: Nested) -> Nested:
    """x_i - log(sum_j e^x_j) along the last axis, by the stable log-sum-exp."""
    return _rows(x, _log_softmax_row, "log_softmax")


ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "linear")
"""The activations a Neuron, Layer or MLP accepts by name."""


def activation(name: str, negative_slope: float = 0.01) -> Callable[[Value], Value] | None:
    """The function Value -> Value that the activation `name` stands for."""
    if name == "relu":
        return Value.relu
    if name == "leaky_relu":
        slope = float(negative_slope)
        if not math.isfinite(slope):
            raise ValueError(f"negative_slope must be finite, got {negative_slope!r}")
        return lambda v: v.leaky_relu(slope)
    if name == "sigmoid":
        return Value.sigmoid
    if name == "tanh":
        return Value.tanh
    if name == "linear":
        return None
    raise ValueError(f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}")
