"""Callbacks: code the training loop runs at fixed points, such as early stopping.

A callback overrides any of ``on_train_begin(trainer)``, ``on_epoch_end(trainer, epoch,
logs)`` and ``on_train_end(trainer)``. ``logs`` holds the epoch's numbers ("loss",
"accuracy", "val_loss", "val_accuracy", "lr"); setting ``trainer.stop_training = True``
ends training after the current epoch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .module import Module
    from .training import Trainer

__all__ = ["Callback", "EarlyStopping"]


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, trainer: Trainer) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, trainer: Trainer) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` (the default) the model ends training with the weights of
    its best epoch, not its last. ``mode`` is "min", "max" or "auto" (max for accuracies,
    min otherwise). Outside `fit` call ``stopper.step(value, model)`` once per epoch: it
    returns True when it is time to stop, and ``stopper.restore(model)`` brings back the best.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(
                f"EarlyStopping: patience must be a whole number >= 0, got {patience!r}"
            )
        if not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, Any] | None = None
        self.wait = 0
        self.epoch = -1
        self.stopped_epoch: int | None = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float, model: Module | None = None) -> bool:
        """Record this epoch's value; True when training should stop."""
        self.epoch += 1
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"EarlyStopping: {self.monitor} is nan at epoch {self.epoch}")
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, self.epoch, 0
            if model is not None and self.restore_best_weights:
                self.best_state = model.state_dict()
            return False
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = self.epoch
            return True
        return False

    def restore(self, model: Module) -> None:
        """Load the best weights seen into `model` (no-op if none were kept)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def on_train_begin(self, trainer: Trainer) -> None:
        self.reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, but the training logs hold only "
                f"{', '.join(sorted(logs))}; pass validation_data to fit, or monitor 'loss'"
            )
        if self.step(logs[self.monitor], trainer.model):
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best_weights:
            self.restore(trainer.model)
