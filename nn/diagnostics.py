"""Look inside a network: what each layer outputs, which units are dead, where gradients fade.

    outs = layer_outputs(model, X)        # one (examples x units) array per layer
    dead = dead_units(model, X)           # per layer, True for a unit that is 0 on all of X
    model.zero_grad(); loss.backward()
    mean_abs_grad(model)                  # {"layers.0": 3e-6, ..., "layers.8": 0.09}

What PyTorch users write with forward hooks and a loop over ``named_parameters()``, as
functions. Nothing here builds a graph or changes the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeGuard

import numpy as np
from numpy.typing import ArrayLike

from autograd import Value, no_grad
from autograd.nested import to_numpy

from .module import Module, training_mode

__all__ = ["layer_outputs", "dead_units", "mean_abs_grad"]


def _layers(model, caller):
    if not isinstance(model, Module):
        raise TypeError(f"{caller}: model must be an nn.Module, got {type(model).__name__}")
    layers = getattr(model, "layers", None)
    if layers is None:
        return [model]  # a single Layer (or any module) is a model of one layer
    return list(layers)


def _batch(X: ArrayLike, caller: str) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(
            f"{caller}: X must be a non-empty batch, shape (examples, features); "
            f"got shape {X.shape}"
        )
    return X


def layer_outputs(model: Module, X: ArrayLike) -> list[np.ndarray]:
    """The output of each of ``model.layers`` (MLP, Sequential) for every example of X.

    One float array of shape (examples, units) per layer, in order from the input; a model
    without ``layers`` counts as one layer. Computed in evaluation mode (no dropout, the
    running statistics of BatchNorm) without building a graph; the mode is restored after.
    """
    layers = _layers(model, "layer_outputs")
    X = _batch(X, "layer_outputs")
    h, outputs = X.tolist(), []
    with training_mode(model, False), no_grad():
        for layer in layers:
            h = layer(h)
            outputs.append(to_numpy(h).reshape(len(X), -1))
    return outputs


def dead_units(model: Module, X: ArrayLike) -> list[np.ndarray]:
    """For each layer, a boolean array: True for a unit whose output is exactly 0 on every
    example of X.

    A ReLU unit that is 0 on all the data passes no gradient back to its weights, so
    gradient descent on that data can never bring it back: it is dead.
    """
    return [np.all(out == 0.0, axis=0) for out in layer_outputs(model, X)]


def _is_matrix(item: object) -> TypeGuard[Sequence[Sequence[Value]]]:
    return (
        isinstance(item, (list, tuple)) and len(item) > 0
        and all(isinstance(row, (list, tuple)) and row for row in item)
        and all(isinstance(v, Value) for row in item for v in row)
    )


def mean_abs_grad(model: Module) -> dict[str, float]:
    """{module name: mean |grad| over its weight matrix} for every module with one (each
    Layer of an MLP), from the input side; call it after ``backward()``.

    Biases and the per-feature scales of normalization layers are left out, so the numbers
    compare like with like from layer to layer: the vanishing gradient of a deep sigmoid
    network shows as a column that shrinks towards the input.
    """
    if not isinstance(model, Module):
        raise TypeError(f"mean_abs_grad: model must be an nn.Module, got {type(model).__name__}")
    out = {}
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if _is_matrix(weight):
            out[name or type(module).__name__] = float(
                np.mean([abs(v.grad) for row in weight for v in row])
            )
    if not out:
        raise ValueError(
            f"mean_abs_grad: {type(model).__name__} has no weight matrix (no Layer inside); "
            "use model.named_parameters() for its gradients"
        )
    return out
