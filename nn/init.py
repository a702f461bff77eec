"""Initial values for parameters, as ``torch.nn.init`` sets them.

Each function fills a "tensor" of Values in place and returns it: a Value, a list of Values,
or a weight matrix, which is a list of rows, one per neuron (``layer.weight``: shape
(fan_out, fan_in), PyTorch's layout). Random ones take ``seed``: an int, a
``numpy.random.Generator`` (to share one stream across layers) or None for fresh randomness.

Zero or constant weights make every neuron of a layer compute the same thing and get the
same gradient, so they stay identical however long they train: the symmetry problem that
random initialization breaks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np

from autograd import Value
from autograd.nested import Nested, flatten, shape

Seed: TypeAlias = "int | np.random.Generator | None"
"""An int seed, a numpy Generator (used as is, to share one stream) or None (fresh)."""

Init: TypeAlias = "str | Callable[[Any], object]"
"""An initialization by name (a key of `INITIALIZERS`) or a function filling a weight matrix."""

__all__ = [
    "calculate_gain", "zeros", "ones", "constant", "uniform", "normal", "xavier_uniform",
    "xavier_normal", "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "as_rng", "INITIALIZERS", "Seed", "Init",
]


def as_rng(seed: Seed) -> np.random.Generator:
    """A numpy Generator from an int seed, a Generator (used as is) or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")


def _values(tensor, caller):
    items = flatten(tensor)
    for v in items:
        if not isinstance(v, Value):
            raise TypeError(f"{caller}: fills Values in place, got a {type(v).__name__}")
    return items


def _fill(tensor, numbers, caller):
    for v, x in zip(_values(tensor, caller), numbers):
        v.data = float(x)
    return tensor


def _fans(tensor, caller):
    dims = shape(tensor, caller)
    if len(dims) < 2:
        raise ValueError(
            f"{caller}: fan in and fan out need a weight matrix (a list of rows, one per "
            f"neuron, such as layer.weight), got shape {dims}"
        )
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The scale that keeps activations' variance steady through a nonlinearity (as PyTorch)."""
    if nonlinearity in ("linear", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unknown nonlinearity {nonlinearity!r}; use one of linear, "
        "identity, sigmoid, tanh, relu, leaky_relu, selu"
    )


def zeros(tensor: Nested) -> Nested:
    """Every Value to 0: all neurons of a layer identical (the symmetry problem)."""
    return _fill(tensor, iter(lambda: 0.0, None), "zeros")


def ones(tensor: Nested) -> Nested:
    return _fill(tensor, iter(lambda: 1.0, None), "ones")


def constant(tensor: Nested, value: float) -> Nested:
    value = float(value)
    return _fill(tensor, iter(lambda: value, None), "constant")


def uniform(tensor: Nested, a: float = 0.0, b: float = 1.0, seed: Seed = None) -> Nested:
    """Values drawn from U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform: needs a <= b, got a={a}, b={b}")
    n = len(_values(tensor, "uniform"))
    return _fill(tensor, as_rng(seed).uniform(a, b, size=n), "uniform")


def normal(
    tensor: Nested, mean: float = 0.0, std: float = 1.0, seed: Seed = None
) -> Nested:
    """Values drawn from N(mean, std²)."""
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    n = len(_values(tensor, "normal"))
    return _fill(tensor, as_rng(seed).normal(mean, std, size=n), "normal")


def xavier_uniform(tensor: Nested, gain: float = 1.0, seed: Seed = None) -> Nested:
    """Glorot: U(-b, b) with b = gain·sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(tensor, -bound, bound, seed)


def xavier_normal(tensor: Nested, gain: float = 1.0, seed: Seed = None) -> Nested:
    """Glorot: N(0, std²) with std = gain·sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_normal")
    return normal(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), seed)


def _he_std(tensor, a, mode, nonlinearity, caller):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{caller}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor, caller)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def he_uniform(
    tensor: Nested, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "relu",
    seed: Seed = None,
) -> Nested:
    """He (Kaiming): U(-b, b) with b = gain·sqrt(3 / fan), made for ReLU layers."""
    bound = math.sqrt(3.0) * _he_std(tensor, a, mode, nonlinearity, "he_uniform")
    return uniform(tensor, -bound, bound, seed)


def he_normal(
    tensor: Nested, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "relu",
    seed: Seed = None,
) -> Nested:
    """He (Kaiming): N(0, std²) with std = gain / sqrt(fan)."""
    return normal(tensor, 0.0, _he_std(tensor, a, mode, nonlinearity, "he_normal"), seed)


kaiming_uniform = he_uniform
kaiming_normal = he_normal

INITIALIZERS: dict[str, Callable[[Nested, np.random.Generator], Nested]] = {
    "zeros": lambda w, rng: zeros(w),
    "ones": lambda w, rng: ones(w),
    "uniform": lambda w, rng: uniform(w, -1.0, 1.0, rng),  # micrograd's choice
    "normal": lambda w, rng: normal(w, 0.0, 1.0, rng),
    "xavier_uniform": lambda w, rng: xavier_uniform(w, seed=rng),
    "xavier_normal": lambda w, rng: xavier_normal(w, seed=rng),
    "he_uniform": lambda w, rng: he_uniform(w, seed=rng),
    "he_normal": lambda w, rng: he_normal(w, seed=rng),
}
"""The initializations a layer accepts by name: ``MLP(..., init="xavier_uniform")``."""
