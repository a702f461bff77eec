"""How the training loop turns a mini-batch into a loss and gradients.

The loop never builds graphs itself: it asks a backend. `EagerBackend` calls the model on
the whole batch with the scalar engine, takes ``loss_fn(outputs, targets)`` (mean over the
batch), adds ``penalty(model)`` and back-propagates. `TapeBackend` (``fit(...,
backend="tape")``) has the same two methods: it traces ``loss_fn(model(x), y)`` for one
example with ``autograd.tape``, replays it for the whole batch and leaves each parameter's
``.grad`` equal to what the eager backend would give. `fit` and `Trainer` take
``backend="eager"`` or ``"tape"``, or any object with these two methods.

A backend may also have ``train_epoch(model, loss_fn, optimizer, batches, penalty, keep)``:
a whole epoch, stepping the optimizer itself, returning (loss, outputs, targets) per batch,
or None to let the trainer step batch by batch; ``keep`` says nothing looks at the
parameters before the next epoch (no callbacks, no validation), and ``release()``, which
the trainer calls at the end of fit, gives them their numbers. The tape's keeps the
parameters in a numpy vector (`TapeBackend.train_epoch`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from autograd import Value, no_grad
from autograd.nested import to_numpy

from .tape_backend import TapeBackend

if TYPE_CHECKING:
    from .losses import LossFunction
    from .module import Module

__all__ = ["Backend", "EagerBackend", "TapeBackend"]


class Backend(Protocol):
    """What `fit` and `Trainer` need of a backend (``backend=...``): these two methods."""

    def train_step(
        self, model: Module, loss_fn: LossFunction, X: np.ndarray, y: np.ndarray,
        penalty: Callable[[Module], Value] | None = None,
    ) -> tuple[float, np.ndarray]: ...

    def evaluate(
        self, model: Module, loss_fn: LossFunction | None, X: np.ndarray, y: Any
    ) -> tuple[float | None, np.ndarray]: ...


class EagerBackend:
    """One graph of Values for the whole mini-batch, differentiated by ``backward()``."""

    name = "eager"

    def train_step(
        self, model: Module, loss_fn: LossFunction, X: np.ndarray, y: np.ndarray,
        penalty: Callable[[Module], Value] | None = None,
    ) -> tuple[float, np.ndarray]:
        """Forward and backward for one batch: returns (data loss, outputs as an array).

        Adds the gradients to the parameters' ``.grad`` (the caller zeroes them first).
        """
        outputs = model(X)
        loss = loss_fn(outputs, y)
        objective = loss + penalty(model) if penalty is not None else loss
        objective.backward()
        return loss.data, to_numpy(outputs)

    def evaluate(
        self, model: Module, loss_fn: LossFunction | None, X: np.ndarray, y: Any
    ) -> tuple[float | None, np.ndarray]:
        """(loss, outputs) without building a graph; the caller sets eval mode."""
        with no_grad():
            outputs = model(X)
            loss = loss_fn(outputs, y) if loss_fn is not None else None
        return (loss.data if loss is not None else None), to_numpy(outputs)

