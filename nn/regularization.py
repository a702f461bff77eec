"""Ways to keep a model from fitting noise: weight penalties, dropout, input noise, early stopping.

    loss = data_loss + l2_penalty(model, alpha=1e-4)     # micrograd's demo
    model = Sequential(Layer(2, 16), Dropout(0.2), Layer(16, 1, "linear"))

`BatchNorm` and `LayerNorm` live in `nn.normalization`, `EarlyStopping` in
`nn.callbacks`; both are also importable from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from autograd import Value
from autograd.nested import Nested, map_nested, total

from .callbacks import EarlyStopping
from .init import Seed, as_rng
from .module import Module
from .normalization import BatchNorm, LayerNorm

__all__ = [
    "l1_penalty", "l2_penalty", "Dropout", "GaussianNoise", "EarlyStopping", "BatchNorm",
    "LayerNorm",
]


def _params(params, caller):
    items = params.parameters() if isinstance(params, Module) else list(params)
    if not items:
        raise ValueError(f"{caller}: no parameters given (an exhausted generator?)")
    for i, p in enumerate(items):
        if not isinstance(p, Value):
            raise TypeError(f"{caller}: parameter {i} is a {type(p).__name__}, not a Value")
    return items


def _scaled(out, alpha):
    return out if alpha == 1.0 else out * alpha


def l1_penalty(params: Iterable[Value] | Module, alpha: float = 1.0) -> Value:
    """alpha · Σ|p| over a model's (or a list of) parameters: pushes weights to exactly 0."""
    return _scaled(total(abs(p) for p in _params(params, "l1_penalty")), alpha)


def l2_penalty(params: Iterable[Value] | Module, alpha: float = 1.0) -> Value:
    """alpha · Σp² over a model's (or a list of) parameters: keeps weights small.

    Its gradient is 2·alpha·p, so adding it to the loss moves SGD exactly as
    ``SGD(..., weight_decay=2 * alpha)`` does. To spare the biases, pass only the weights:
    ``[p for name, p in model.named_parameters() if ".weight" in name]``.
    """
    return _scaled(total(p * p for p in _params(params, "l2_penalty")), alpha)


def _probability(p, name):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name}: p is the probability of dropping, in [0, 1); got {p!r}")
    return float(p)


class Dropout(Module):
    """In training, zero each input with probability p and scale the rest by 1/(1 - p).

    This is inverted dropout, as in PyTorch: the expected value of every output equals its
    input, so in evaluation mode (``model.eval()``) the module passes inputs through
    unchanged. ``seed`` fixes the masks (an int or a numpy Generator).
    """

    def __init__(self, p: float = 0.5, seed: Seed = None) -> None:
        self.p = _probability(p, "Dropout")
        self._rng = as_rng(seed)

    def forward(self, x: Nested) -> Nested:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 / (1.0 - self.p)
        rng, p = self._rng, self.p

        def drop(v):
            return v * (0.0 if rng.random() < p else keep)

        return map_nested(drop, x)

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        return 0  # no parameters or buffers, whatever the config


class GaussianNoise(Module):
    """In training, add N(0, std²) noise to every input; in evaluation, pass inputs through.

    Noise on the inputs makes a model robust to small changes of them, like a smoothness
    penalty. ``seed`` fixes the noise (an int or a numpy Generator).
    """

    def __init__(self, std: float = 0.1, seed: Seed = None) -> None:
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not (
            math.isfinite(std) and std >= 0
        ):
            raise ValueError(f"GaussianNoise: std must be a finite number >= 0, got {std!r}")
        self.std = float(std)
        self._rng = as_rng(seed)

    def forward(self, x: Nested) -> Nested:
        if not self.training or self.std == 0.0:
            return x
        rng, std = self._rng, self.std
        return map_nested(lambda v: v + float(rng.normal(0.0, std)), x)

    def config(self) -> dict[str, Any]:
        return {"std": self.std}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        return 0  # no parameters or buffers, whatever the config
