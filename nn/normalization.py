"""Batch and layer normalization: rescale features to mean 0 and variance 1, then learn a
scale (``weight``) and shift (``bias``) for them, as ``torch.nn.BatchNorm1d`` and
``torch.nn.LayerNorm`` do.

BatchNorm normalizes each feature across the examples of a batch, so in training it must
see a batch (a list of examples); it keeps running averages of the batch statistics to use
in evaluation mode, where examples are handled one at a time. LayerNorm normalizes each
example across its own features, the same way in training and evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from autograd import Parameter
from autograd.nested import Nested, as_nested, data_of, for_each_example, is_batch, total

from ._checks import positive_int
from .module import Module, constructor_arguments, input_values

__all__ = ["BatchNorm", "BatchNorm1d", "LayerNorm"]


def _positive(x, name, what):
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name}: {what} must be a positive number, got {x!r}")
    return float(x)


def _affine(xhat, weight, bias):
    if weight is None:
        return xhat
    return [w * x + b for x, w, b in zip(xhat, weight, bias)]


class BatchNorm(Module):
    """Normalize each of ``num_features`` features over the batch: (x - mean) / sqrt(var + eps).

    Training uses the batch's mean and biased variance, and updates
    ``running_mean``/``running_var`` with ``momentum`` (new = (1 - m)·old + m·batch, with
    the unbiased variance, as PyTorch; ``momentum=None`` keeps a cumulative average).
    Evaluation uses the running statistics. With ``affine`` a learned ``weight`` (ones) and
    ``bias`` (zeros) follow. ``track_running_stats=False`` always uses batch statistics.
    """

    _buffers = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        self.num_features = num_features = positive_int(
            num_features, "BatchNorm: the number of features"
        )
        self.eps = _positive(eps, "BatchNorm", "eps")
        if momentum is not None and (
            isinstance(momentum, bool) or not isinstance(momentum, (int, float))
            or not 0.0 <= momentum <= 1.0
        ):
            raise ValueError(f"BatchNorm: momentum must be in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.weight = [Parameter(1.0) for _ in range(num_features)] if affine else None
        self.bias = [Parameter(0.0) for _ in range(num_features)] if affine else None
        self.running_mean: list[float] | None = None  # buffers, when tracked
        self.running_var: list[float] | None = None
        self.num_batches_tracked: int | None = None
        if track_running_stats:
            self.running_mean = [0.0] * num_features
            self.running_var = [1.0] * num_features
            self.num_batches_tracked = 0

    def forward(self, x: Nested) -> Nested:
        if self.training or not self.track_running_stats:
            return self._batch_statistics(x)
        running_mean, running_var = self.running_mean, self.running_var
        assert running_mean is not None and running_var is not None  # tracked, see __init__
        inv_std = [1.0 / math.sqrt(v + self.eps) for v in running_var]

        def standardize(example):
            example = input_values(example, self.num_features, "BatchNorm")
            return self._standardize(example, running_mean, inv_std)

        return for_each_example(x, standardize)

    def _standardize(self, example, means, inv_std):
        """(x - mean)·inv_std feature by feature, then the learned scale and shift."""
        xhat = [(xi - m) * s for xi, m, s in zip(example, means, inv_std)]
        return _affine(xhat, self.weight, self.bias)

    def _batch_statistics(self, x):
        if not is_batch(x):
            raise ValueError(
                "BatchNorm in training mode needs a batch (a list of examples) to take "
                "statistics over, got one example; pass a batch, or call model.eval()"
            )
        batch = [input_values(e, self.num_features, "BatchNorm") for e in as_nested(x)]
        n = len(batch)
        if n < 2:
            raise ValueError(
                f"BatchNorm in training mode needs more than 1 example per batch, got {n}"
            )
        columns = list(zip(*batch))
        means = [total(col) / n for col in columns]
        variances = [total((xi - m) ** 2 for xi in col) / n for col, m in zip(columns, means)]
        inv_std = [(v + self.eps) ** -0.5 for v in variances]
        out = [self._standardize(example, means, inv_std) for example in batch]
        if self.training and self.track_running_stats:
            self._update_running(means, variances, n)
        return out

    def _update_running(self, means, variances, n):
        self.num_batches_tracked += 1
        m = self.momentum if self.momentum is not None else 1.0 / self.num_batches_tracked
        self.running_mean = [
            (1 - m) * old + m * data_of(mean) for old, mean in zip(self.running_mean, means)
        ]
        self.running_var = [
            (1 - m) * old + m * data_of(var) * n / (n - 1)
            for old, var in zip(self.running_var, variances)
        ]

    def config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "track_running_stats": self.track_running_stats}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        args = constructor_arguments(cls, config)
        n = positive_int(args["num_features"], "BatchNorm: the number of features")
        # weight and bias; running mean and variance, and the count of batches
        return 2 * n * bool(args["affine"]) + (2 * n + 1) * bool(args["track_running_stats"])


BatchNorm1d = BatchNorm


class LayerNorm(Module):
    """Normalize each example over its ``normalized_shape`` features, then scale and shift.

    Statistics come from the example itself (biased variance), so training and
    evaluation behave alike and a batch of one works.
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True) -> None:
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = _positive(eps, "LayerNorm", "eps")
        n = self.normalized_shape
        self.weight = [Parameter(1.0) for _ in range(n)] if elementwise_affine else None
        self.bias = [Parameter(0.0) for _ in range(n)] if elementwise_affine and bias else None

    def _normalize(self, example):
        example = input_values(example, self.normalized_shape, "LayerNorm")
        n = len(example)
        mean = total(example) / n
        centred = [xi - mean for xi in example]
        inv_std = (total(c**2 for c in centred) / n + self.eps) ** -0.5
        out = [c * inv_std for c in centred]
        if self.weight is not None:
            out = [o * w for o, w in zip(out, self.weight)]
        if self.bias is not None:
            out = [o + b for o, b in zip(out, self.bias)]
        return out

    def forward(self, x: Nested) -> Nested:
        return for_each_example(x, self._normalize)

    def config(self) -> dict[str, Any]:
        return {"normalized_shape": self.normalized_shape, "eps": self.eps,
                "elementwise_affine": self.weight is not None, "bias": self.bias is not None}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        args = constructor_arguments(cls, config)
        n = _normalized_shape(args["normalized_shape"])
        return n * bool(args["elementwise_affine"]) * (1 + bool(args["bias"]))  # weight, bias


def _normalized_shape(shape) -> int:
    """LayerNorm's feature count, given as n or [n] (as torch.nn.LayerNorm accepts)."""
    if isinstance(shape, (list, tuple)) and len(shape) == 1:
        shape = shape[0]
    return positive_int(shape, "LayerNorm: the number of features")
