"""Loss functions with PyTorch's semantics: ``loss(input, target, ..., reduction="mean")``.

``input`` is what the model gave (a Value, or a list/nested list of Values for a batch) and
``target`` what it should have given (numbers, numpy arrays or Values). Element-wise
losses need input and target of the same shape; ``cross_entropy`` and ``nll_loss`` take
scores of shape (C,) with one class index, or (N, C) with N class indices.
``reduction`` is "mean" (the default), "sum", or "none" (one loss per element, or per
example for the class-index losses), exactly as in ``torch.nn.functional``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TypeAlias

import numpy as np

from autograd import Value
from autograd.nested import (
    Nested,
    as_nested,
    as_value,
    data_of,
    flatten,
    is_scalar,
    shape,
    total,
    unflatten,
)

from . import functional as F

__all__ = [
    "mse_loss", "l1_loss", "binary_cross_entropy", "bce_with_logits",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "hinge_loss", "kl_div",
    "LOSSES", "LossFunction",
]

LossFunction: TypeAlias = Callable[[Nested, Nested], Value]
"""A loss: ``loss(input, target) -> Value`` (any of these with their default reduction)."""

_LOG_FLOOR = -100.0  # PyTorch clamps BCE's logs here so a probability of 0 or 1 stays finite


def _check_reduction(reduction, name, extra=()):
    allowed = ("mean", "sum", "none", *extra)
    if reduction not in allowed:
        raise ValueError(
            f"{name}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}"
        )


def _number(x, name, what):
    if isinstance(x, Value):
        return x
    if isinstance(x, (numbers.Real, np.bool_)) and math.isfinite(x):
        return float(x)
    raise ValueError(f"{name}: {what} must be finite numbers, got {x!r}")


def _elementwise(input, target, name):
    """Input and target flattened side by side (input as Values), and their shape."""
    dims = shape(input, f"{name} input")
    target_dims = shape(target, f"{name} target")
    if dims != target_dims:
        raise ValueError(
            f"{name}: target has shape {target_dims} but input has shape {dims}; they must "
            "match (one target per prediction)"
        )
    xs = [as_value(x) for x in flatten(input)]
    if not xs:
        raise ValueError(f"{name}: input is empty")
    ts = [_number(t, name, "targets") for t in flatten(target)]
    return xs, ts, dims


def _reduce(terms, dims, reduction, divisor=None):
    if reduction == "none":
        return unflatten(terms, dims)
    out = total(terms)
    if reduction == "sum":
        return out
    return out / (len(terms) if divisor is None else divisor)


def _per_element(weight, dims, name, what="weight"):
    """A weight given as one number, one per class (last axis) or one per element."""
    n = math.prod(dims)
    if weight is None:
        return None
    weight = as_nested(weight)
    if is_scalar(weight):
        return [_number(weight, name, what)] * n
    wdims = shape(weight, f"{name} {what}")
    values = [_number(w, name, what) for w in flatten(weight)]
    if wdims == dims:
        return values
    if dims and wdims == dims[-1:]:
        return values * (n // dims[-1])
    raise ValueError(
        f"{name}: {what} has shape {wdims}; expected one number, {dims[-1:]} (one per class) "
        f"or {dims} (one per element)"
    )


def _weighted(terms, weight, dims, name):
    """Each term times its weight (see `_per_element`); the terms as they are without one."""
    w = _per_element(weight, dims, name)
    return terms if w is None else [term * wi for term, wi in zip(terms, w)]


def mse_loss(input: Nested, target: Nested, reduction: str = "mean") -> Nested:
    """(input - target)², averaged: the loss of regression."""
    _check_reduction(reduction, "mse_loss")
    xs, ts, dims = _elementwise(input, target, "mse_loss")
    return _reduce([(x - t) ** 2 for x, t in zip(xs, ts)], dims, reduction)


def l1_loss(input: Nested, target: Nested, reduction: str = "mean") -> Nested:
    """|input - target|, averaged: less swayed by outliers than MSE."""
    _check_reduction(reduction, "l1_loss")
    xs, ts, dims = _elementwise(input, target, "l1_loss")
    return _reduce([abs(x - t) for x, t in zip(xs, ts)], dims, reduction)


def _smallest_above_floor() -> float:
    """The smallest p whose log is above _LOG_FLOOR: comparing p with it decides as
    ``log(p) > _LOG_FLOOR`` does, without calling math.log on a Value's number (which the
    tape could not follow)."""
    p = math.exp(_LOG_FLOOR)
    while math.log(p) <= _LOG_FLOOR:
        p = math.nextafter(p, math.inf)
    while math.log(math.nextafter(p, 0.0)) > _LOG_FLOOR:
        p = math.nextafter(p, 0.0)
    return p


_ABOVE_FLOOR = _smallest_above_floor()


def _clamped_log(p: Value) -> Value:
    # log(p) floored at -100 as PyTorch does: beyond it the term is a constant.
    if p.data >= _ABOVE_FLOOR:
        return p.log()
    return Value(_LOG_FLOOR)


def binary_cross_entropy(
    input: Nested, target: Nested, weight: Nested = None, reduction: str = "mean"
) -> Nested:
    """-[t·log(p) + (1 - t)·log(1 - p)] for probabilities p in [0, 1] (after a sigmoid).

    Logs are floored at -100 as in PyTorch. Prefer `bce_with_logits` on raw scores: it
    is exact where sigmoid rounds to 0 or 1.
    """
    name = "binary_cross_entropy"
    _check_reduction(reduction, name)
    xs, ts, dims = _elementwise(input, target, name)
    for i, x in enumerate(xs):
        if not 0.0 <= x.data <= 1.0:
            raise ValueError(
                f"{name}: input {i} is {x.data!r}, but inputs must be probabilities in [0, 1]; "
                "for raw scores (logits) use bce_with_logits"
            )
    terms = [-(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p)) for p, t in zip(xs, ts)]
    return _reduce(_weighted(terms, weight, dims, name), dims, reduction)


def bce_with_logits(
    input: Nested, target: Nested, weight: Nested = None, pos_weight: Nested = None,
    reduction: str = "mean",
) -> Nested:
    """Binary cross-entropy of sigmoid(input), computed from the logits themselves.

    (1 - t)·x + softplus(-x) never overflows: logits of +-1000 give finite losses and
    gradients sigmoid(x) - t. ``pos_weight`` (a number or one per class) scales the
    positive term, as in PyTorch.
    """
    name = "bce_with_logits"
    _check_reduction(reduction, name)
    xs, ts, dims = _elementwise(input, target, name)
    pw = _per_element(pos_weight, dims, name, "pos_weight")
    if pw is None:
        terms = [x.softplus() - x * t for x, t in zip(xs, ts)]
    else:
        terms = [(1 - t) * x + (1 + (p - 1) * t) * (-x).softplus() for x, t, p in zip(xs, ts, pw)]
    return _reduce(_weighted(terms, weight, dims, name), dims, reduction)


binary_cross_entropy_with_logits = bce_with_logits


def hinge_loss(
    input: Nested, target: Nested, margin: float = 1.0, reduction: str = "mean"
) -> Nested:
    """max(0, margin - y·score) with labels y in {-1, 1}: micrograd's SVM loss.

    A score on the right side of the boundary by at least ``margin`` costs nothing.
    PyTorch has no function of this name; it is ``torch.relu(margin - y * score)``.
    """
    name = "hinge_loss"
    _check_reduction(reduction, name)
    xs, ts, dims = _elementwise(input, target, name)
    for i, t in enumerate(ts):
        if abs(data_of(t)) != 1.0:  # one decision, the same for both labels: one tape program
            raise ValueError(
                f"{name}: target {i} is {t!r}, but labels must be -1 or 1; "
                "convert 0/1 labels with 2 * y - 1"
            )
    return _reduce([(margin - t * x).relu() for x, t in zip(xs, ts)], dims, reduction)


def kl_div(
    input: Nested, target: Nested, reduction: str = "mean", log_target: bool = False
) -> Nested:
    """KL(target || model) with ``input`` the model's log-probabilities, as PyTorch.

    Element-wise target·(log(target) - input) (0 where target is 0); with
    ``log_target=True`` the target is given as log-probabilities too. "mean" averages over
    every element, as PyTorch does; "batchmean" divides the sum by the batch size, which
    is the true KL divergence per example.
    """
    name = "kl_div"
    _check_reduction(reduction, name, ("batchmean",))
    xs, ts, dims = _elementwise(input, target, name)
    terms = []
    for i, (x, t) in enumerate(zip(xs, ts)):
        if log_target:
            p = t.exp() if isinstance(t, Value) else math.exp(t)
            terms.append(p * (t - x))
            continue
        td = data_of(t)
        if td < 0:
            raise ValueError(f"{name}: target {i} is {td!r}, but probabilities must be >= 0")
        if td == 0:
            terms.append(x * 0.0)
        else:
            log_t = t.log() if isinstance(t, Value) else math.log(t)
            terms.append(t * (log_t - x))
    if reduction == "batchmean":
        return _reduce(terms, dims, "mean", divisor=dims[0] if dims else 1)
    return _reduce(terms, dims, reduction)


def _class_index(t, classes, ignore_index, name, i):
    t = data_of(t)
    if not isinstance(t, (numbers.Real, np.bool_)) or not float(t).is_integer():
        raise ValueError(f"{name}: target {i} must be a class index (a whole number), got {t!r}")
    t = int(t)
    if t != ignore_index and not 0 <= t < classes:
        raise ValueError(
            f"{name}: target {i} is class {t}, out of range for {classes} classes "
            f"(expected 0 <= target < {classes})"
        )
    return t


def _class_weights(weight, classes, name):
    weight = as_nested(weight)
    if is_scalar(weight) or shape(weight, f"{name} weight") != (classes,):
        raise ValueError(f"{name}: weight needs one number per class ({classes}), got {weight!r}")
    return [_number(w, name, "weights") for w in weight]


def nll_loss(
    input: Nested, target: Nested, weight: Nested = None, ignore_index: int = -100,
    reduction: str = "mean",
) -> Nested:
    """-input[target]: the negative log-likelihood, with ``input`` log-probabilities.

    ``input`` is (C,) with one class index, or (N, C) with N of them. ``weight`` (one per
    class) scales each example; the mean divides by the total weight of the targets, as
    PyTorch does. Targets equal to ``ignore_index`` count for nothing.
    """
    name = "nll_loss"
    _check_reduction(reduction, name)
    dims = shape(input, f"{name} input")
    if len(dims) not in (1, 2) or 0 in dims:
        raise ValueError(
            f"{name}: input must be scores for C classes, shape (C,) or (N, C); got shape {dims}"
        )
    input = as_nested(input)
    rows = [input] if len(dims) == 1 else input
    classes = dims[-1]
    target = as_nested(target)
    if len(dims) == 1:
        if not is_scalar(target):
            raise ValueError(f"{name}: one example needs one class index, got {target!r}")
        targets = [target]
    else:
        if is_scalar(target) or shape(target, f"{name} target") != (dims[0],):
            got = "one number" if is_scalar(target) else f"shape {shape(target)}"
            raise ValueError(f"{name}: expected {dims[0]} targets (one per example), got {got}")
        targets = list(target)
    targets = [_class_index(t, classes, ignore_index, name, i) for i, t in enumerate(targets)]
    weights = [1.0] * classes if weight is None else _class_weights(weight, classes, name)
    terms, weight_sum = [], 0.0
    for row, t in zip(rows, targets):
        if t == ignore_index:
            terms.append(Value(0.0))
            continue
        terms.append(as_value(row[t]) * -weights[t])
        weight_sum += weights[t]
    if reduction == "none":
        return terms[0] if len(dims) == 1 else terms
    kept = [term for term, t in zip(terms, targets) if t != ignore_index]
    if not kept:
        raise ValueError(
            f"{name}: every target equals ignore_index={ignore_index}; there is no loss to take"
        )
    if reduction == "sum":
        return total(kept)
    if weight_sum == 0.0:
        raise ValueError(f"{name}: the targets' weights sum to 0, so their mean is undefined")
    return total(kept) / weight_sum


def cross_entropy(
    input: Nested, target: Nested, weight: Nested = None, ignore_index: int = -100,
    reduction: str = "mean",
) -> Nested:
    """-log softmax(input)[target], from raw scores (logits) and class indices.

    The log-softmax is computed by log-sum-exp, so logits of +-1000 give finite losses.
    Same arguments as `nll_loss`, whose input is log-probabilities instead. A `target` of
    the input's shape holds class probabilities instead of indices (soft labels, as in
    PyTorch, which tells them by their float type): the loss of an example is
    -sum_c weight_c·target_c·log softmax(input)_c, "mean" divides by the number of
    examples, and ignore_index does not apply.
    """
    dims = shape(input, "cross_entropy input")
    if len(dims) not in (1, 2) or 0 in dims:
        raise ValueError(
            f"cross_entropy: input must be logits for C classes, shape (C,) or (N, C); "
            f"got shape {dims}"
        )
    target = as_nested(target)
    if _probabilities(target, dims):
        return _soft_cross_entropy(F.log_softmax(input), target, weight, reduction, dims)
    return nll_loss(F.log_softmax(input), target, weight, ignore_index, reduction)


def _probabilities(target, dims):
    """Whether a target holds class probabilities: the input's shape, and (as PyTorch tells
    them by dtype) not whole numbers of an integer type, which are class indices."""
    if is_scalar(target) or shape(target, "cross_entropy target") != dims:
        return False
    return not all(isinstance(t, (numbers.Integral, np.integer)) for t in flatten(target))


def _probability(p):
    return _number(p, "cross_entropy", "target probabilities")


def _soft_cross_entropy(log_probs, target, weight, reduction, dims):
    name = "cross_entropy"
    _check_reduction(reduction, name)
    weights = [1.0] * dims[-1] if weight is None else _class_weights(weight, dims[-1], name)
    rows, probabilities = ([log_probs], [target]) if len(dims) == 1 else (log_probs, target)
    # -(sum of lp·p·w): with a one-hot target exactly nll_loss's lp·-w (the zeros add
    # nothing, and negating is exact), in few nodes, for the tape's sake
    terms = [
        -total(lp * (p if weight is None else w * p)
               for lp, p, w in zip(row, map(_probability, probs), weights))
        for row, probs in zip(rows, probabilities)
    ]
    if reduction == "none":
        return terms[0] if len(dims) == 1 else terms
    return total(terms) if reduction == "sum" else total(terms) / len(terms)


# Their targets are class indices, not numbers to compare with the input: the tape backend
# keeps them static. A user's loss (or a wrapper of one of these) declares the same with
# ``my_loss.targets = "class_index"``; functools.wraps copies the mark.
nll_loss.targets = cross_entropy.targets = "class_index"  # type: ignore[attr-defined]

LOSSES: dict[str, Callable[..., Nested]] = {
    "mse": mse_loss, "mse_loss": mse_loss,
    "l1": l1_loss, "l1_loss": l1_loss,
    "bce": binary_cross_entropy, "binary_cross_entropy": binary_cross_entropy,
    "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
    "nll": nll_loss, "nll_loss": nll_loss,
    "hinge": hinge_loss, "hinge_loss": hinge_loss,
    "kl_div": kl_div,
}
"""Losses by name, for ``fit(..., loss="hinge")``."""
