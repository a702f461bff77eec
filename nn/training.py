"""The training loop: epochs of mini-batches, a progress bar, a history, callbacks.

    history = fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.5),
                  epochs=100, validation_data=(X_val, y_val))
    history["loss"][-1], history["val_accuracy"][-1]

The progress bar is tqdm's (``tqdm.auto``: a widget in Jupyter, text in a terminal);
``quiet=True`` prints nothing at all. How a batch becomes a loss and gradients is the
backend's job (`nn.backends`): ``backend="eager"`` (the default, one graph of Values per
batch) or ``backend="tape"`` (traced once, replayed with numpy), or a backend object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from autograd import Value

from . import losses
from ._checks import positive_int
from .backends import Backend, EagerBackend, TapeBackend
from .callbacks import Callback
from .data import DataLoader
from .init import Seed
from .losses import LossFunction
from .metrics import accuracy
from .module import Module, training_mode
from .optim import Adam, Optimizer
from .optim.lr_scheduler import LRScheduler

__all__ = ["Trainer", "fit"]

Metric: TypeAlias = Callable[[np.ndarray, np.ndarray], float]
"""A metric: ``metric(outputs, targets) -> float`` on numpy arrays."""
History: TypeAlias = dict[str, list[float]]
"""One number per epoch for each of "loss", "accuracy", "val_loss", "val_accuracy", "lr"."""

_CLASSIFICATION = (losses.hinge_loss, losses.bce_with_logits, losses.cross_entropy,
                   losses.nll_loss)


def _loss_function(loss):
    if isinstance(loss, str):
        if loss not in losses.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(losses.LOSSES)} "
                             "or a function loss(outputs, targets) -> Value")
        return losses.LOSSES[loss]
    if callable(loss):
        return loss
    raise TypeError(f"loss must be a name or a function, got {loss!r}")


def _metric_function(metric, loss_fn):
    """(name, fn(outputs, targets) -> float) or (None, None)."""
    probabilities = loss_fn is losses.binary_cross_entropy
    if metric == "auto":
        if not (probabilities or loss_fn in _CLASSIFICATION):
            return None, None
        metric = "accuracy"
    if metric is None:
        return None, None
    if metric == "accuracy":
        return "accuracy", partial(accuracy, threshold=0.5 if probabilities else 0.0)
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    raise ValueError(f"metric must be 'auto', 'accuracy', None or a function, got {metric!r}")


def _backend(backend):
    """The backend `backend` names ("eager" or "tape"), or the object itself if it has
    train_step and evaluate."""
    if isinstance(backend, str):
        if backend == "eager":
            return EagerBackend()
        if backend == "tape":
            return TapeBackend()
        raise ValueError(
            f"unknown backend {backend!r}; use 'eager' or 'tape', or pass an object with "
            "train_step and evaluate methods"
        )
    if hasattr(backend, "train_step") and hasattr(backend, "evaluate"):
        return backend
    raise TypeError(f"backend must be 'eager', 'tape' or an object with train_step and "
                    f"evaluate, got {backend!r}")


def _arrays(X: ArrayLike, y: ArrayLike, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{what}: X must be 2-D (examples x features), got shape {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"{what}: X has {len(X)} examples but y has {len(y)} targets")
    if len(X) == 0:
        raise ValueError(f"{what}: no examples")
    return X, y


def _short(x):
    return f"{x:.4g}"


class Trainer:
    """Trains `model` on (X, y) with `loss` and `optimizer`.

    ``penalty(model) -> Value`` is added to the loss before back-propagation (e.g.
    ``partial(l2_penalty, alpha=1e-4)``) but not to the reported loss. ``scheduler`` steps
    once per epoch. ``metric`` is "auto" (accuracy for classification losses), "accuracy",
    None or a function ``(outputs, targets) -> float`` on numpy arrays.
    """

    def __init__(self, model: Module, loss: str | LossFunction, optimizer: Optimizer, *,
                 penalty: Callable[[Module], Value] | None = None,
                 scheduler: LRScheduler | None = None, callbacks: Iterable[Callback] = (),
                 metric: str | Metric | None = "auto", backend: str | Backend = "eager",
                 quiet: bool = False) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an nn.optim optimizer, got {optimizer!r}")
        self.model = model
        self.loss_fn = _loss_function(loss)
        self.optimizer = optimizer
        self.penalty = penalty
        self.scheduler = scheduler
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be nn.callbacks.Callback objects, got {cb!r}")
        self.metric_name, self.metric = _metric_function(metric, self.loss_fn)
        self.backend = _backend(backend)
        self.quiet = quiet
        self.history: History = {}
        self.stop_training = False

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 1, batch_size: int | None = None,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, shuffle: bool = True,
            seed: Seed = None) -> History:
        """Train for up to ``epochs`` epochs (callbacks may stop sooner); returns the history.

        ``batch_size=None`` uses the whole training set as one batch (in order); smaller
        batches are drawn in a new order every epoch when ``shuffle``. The history maps
        "loss", "accuracy" (when there is a metric), "val_loss", "val_accuracy" and "lr"
        to one number per epoch.

        With ``backend="tape"`` and one of nn's optimizers the parameters are stepped in a
        numpy vector, to the same numbers: their Values are updated at the end of each
        epoch (with no callbacks and no validation, at the end of fit), not after each batch.

        Ctrl-C (KeyboardInterrupt) stops training and is raised again, so a script stops
        as it should, carrying the history of the epochs completed so far as
        ``error.history`` (also left in ``trainer.history``); the model keeps the weights
        it had reached, and ``on_train_end`` callbacks are not run::

            try:
                history = fit(model, X, y, loss="mse", epochs=1000)
            except KeyboardInterrupt as error:
                history = error.history
        """
        X, y = _arrays(X, y, "fit")
        if validation_data is not None:
            X_val, y_val = _arrays(*validation_data, "fit validation_data")
        positive_int(epochs, "fit: epochs")
        # one full batch needs no shuffling: its loss is the same sum in a fixed order
        loader = DataLoader(X, y, batch_size or len(X), shuffle=shuffle and bool(batch_size),
                            seed=seed)
        self.history = {}
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_train_begin(self)
        bar = tqdm(range(epochs), desc="training", unit="epoch", disable=self.quiet)
        # nothing to look at the parameters between epochs: a backend may keep them to
        # itself until the end (the tape's, in a vector)
        keep = not self.callbacks and validation_data is None
        with bar, training_mode(self.model, True):
            try:
                for epoch in bar:
                    logs = self._train_epoch(loader, keep)
                    if validation_data is not None:
                        val = self.evaluate(X_val, y_val)
                        logs.update({f"val_{k}": v for k, v in val.items()})
                    logs["lr"] = self.optimizer.param_groups[0]["lr"]
                    if self.scheduler is not None:
                        self.scheduler.step()
                    for key, value in logs.items():
                        self.history.setdefault(key, []).append(value)
                    bar.set_postfix({k: _short(v) for k, v in logs.items() if k != "lr"})
                    for cb in self.callbacks:
                        cb.on_epoch_end(self, epoch, logs)
                    if self.stop_training:
                        break
            except KeyboardInterrupt as error:  # Ctrl-C: stop, but keep what was learnt
                error.history = self.history  # type: ignore[attr-defined]  # documented above
                raise
            finally:
                release = getattr(self.backend, "release", None)
                if release is not None:
                    release()
            for cb in self.callbacks:
                cb.on_train_end(self)
        return self.history

    def _train_epoch(self, loader, keep=False):
        if self.callbacks:  # training mode again: a callback may have switched it
            self.model.train()
        total, count, outputs, targets = 0.0, 0, [], []
        for loss, out, y_batch in self._steps(loader, keep):
            total += loss * len(y_batch)
            count += len(y_batch)
            outputs.append(out)
            targets.append(y_batch)
        logs = {"loss": total / count}
        if self.metric is not None:
            logs[self.metric_name] = self.metric(np.concatenate(outputs), np.concatenate(targets))
        return logs

    def _steps(self, loader, keep):
        """(data loss, outputs, targets) per batch, the optimizer stepped after each: by the
        backend's own epoch where it has one that suits (the tape's), else batch by batch."""
        epoch = getattr(self.backend, "train_epoch", None)
        if epoch is not None:
            done = epoch(self.model, self.loss_fn, self.optimizer, loader, self.penalty, keep)
            if done is not None:
                return done
        return self._step_by_step(loader)

    def _step_by_step(self, loader):
        for X_batch, y_batch in loader:
            self.optimizer.zero_grad()
            loss, out = self.backend.train_step(
                self.model, self.loss_fn, X_batch, y_batch, self.penalty
            )
            self.optimizer.step()
            yield loss, out, y_batch

    def evaluate(self, X: ArrayLike, y: ArrayLike) -> dict[str, Any]:
        """Loss (and metric) on (X, y) in evaluation mode, without building a graph."""
        X, y = _arrays(X, y, "evaluate")
        with training_mode(self.model, False):
            loss, outputs = self.backend.evaluate(self.model, self.loss_fn, X, y)
        logs = {"loss": loss}
        if self.metric is not None:
            logs[self.metric_name] = self.metric(outputs, y)
        return logs

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The model's outputs for X as a numpy array, in evaluation mode."""
        X = np.asarray(X, dtype=float)
        with training_mode(self.model, False):
            return self.backend.evaluate(self.model, None, X, None)[1]


def fit(model: Module, X: ArrayLike, y: ArrayLike, *, loss: str | LossFunction,
        optimizer: Optimizer | None = None, epochs: int = 100, batch_size: int | None = None,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        penalty: Callable[[Module], Value] | None = None, scheduler: LRScheduler | None = None,
        callbacks: Iterable[Callback] = (), metric: str | Metric | None = "auto",
        backend: str | Backend = "eager", quiet: bool = False, shuffle: bool = True,
        seed: Seed = None) -> History:
    """Train `model` and return its history: ``Trainer(...).fit(...)`` in one call.

    ``optimizer`` defaults to ``Adam(model.parameters(), lr=0.01)``. On Ctrl-C the
    KeyboardInterrupt is raised again with the history so far as ``error.history``
    (see `Trainer.fit`).
    """
    if optimizer is None and isinstance(model, Module):
        optimizer = Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, loss, optimizer, penalty=penalty, scheduler=scheduler,
                      callbacks=callbacks, metric=metric, backend=backend, quiet=quiet)
    return trainer.fit(X, y, epochs=epochs, batch_size=batch_size,
                       validation_data=validation_data, shuffle=shuffle, seed=seed)
