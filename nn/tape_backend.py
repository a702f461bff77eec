"""``fit(..., backend="tape")``: the loss of one example traced once, replayed per batch.

The eager backend builds one graph of Values for a whole mini-batch. This one traces
``loss_fn(model(x), y)`` for a single example with `autograd.tape` and replays it over each
batch with numpy: the same loss and the same gradients in each ``.grad``, many times faster.
It suits models whose loss is a mean of per-example losses and whose graph is the same for
every example: MLPs and Sequentials of layers, activations and LayerNorm, with the losses of
`nn.losses`. Dropout in training mode (random) and BatchNorm in training mode (batch
statistics) cannot be traced this way; the tape says so, then use ``backend="eager"``.

Targets of a class-index loss (one marked ``loss_fn.targets = "class_index"``, as
cross_entropy and nll_loss are) reach the loss as plain numbers: the tape keeps one program
per class. `cross_entropy` itself, which also takes class probabilities, gets each index as
a one-hot row instead: one program for every class, with exactly the same numbers (the
zeros add nothing), and a tenth of the numpy calls on ten classes; rows of probabilities
(soft labels) it gets as they are. Every other target, whole numbers included, is an input
like X.

A tape is traced again when the model's structure changes in a way its parameters do not
show (a neuron's activation function swapped in place, a layer's settings).

With one of nn's optimizers, `train_epoch` keeps the parameters in a numpy vector for a
whole epoch: each batch is ``tape.value_and_grad`` and the optimizer's rule on that vector,
and the Values get their numbers (and the last batch's gradients) back once, at the end of
the epoch, or of fit when nothing looks at them in between (no callbacks, no validation).
Reading and writing thousands of Values took most of a step's time; the numbers are the
same as stepping batch by batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd import Value, no_grad
from autograd.nested import flatten, to_numpy
from autograd.tape import Tape, TraceError, trace

from .losses import cross_entropy
from .module import Module
from .normalization import BatchNorm
from .optim import Optimizer

if TYPE_CHECKING:
    from .losses import LossFunction

__all__ = ["TapeBackend"]

_CHECK_EXAMPLES = 8  # examples on which the batch loss is compared with the per-example mean


class TapeBackend:
    """A batched backend for `nn.Trainer`: one `autograd.tape.Tape` per model, loss and mode."""

    name = "tape"

    def __init__(self) -> None:
        # per (model, loss, penalty, mode): (model, tape, outputs' shape, model's structure,
        # the targets as the tape takes them, the parameters it reads)
        self._tapes: dict[tuple[Any, ...], tuple[Module, Tape, Any, Any, Targets, list[Value]]] = {}
        self._kept: _VectorEpochs | None = None  # epochs whose numbers are not written back

    def train_step(
        self, model: Module, loss_fn: LossFunction, X: np.ndarray, y: np.ndarray,
        penalty: Callable[[Module], Value] | None = None,
    ) -> tuple[float, np.ndarray]:
        """Like `EagerBackend.train_step`: (data loss, outputs), gradients added to ``.grad``."""
        tape, shape, targets = self._tape(model, loss_fn, X, y, penalty)
        _, aux = tape.backward(X, targets(y))
        return float(aux[:, 0].mean()), aux[:, 1:].reshape(len(aux), *shape)

    def train_epoch(
        self, model: Module, loss_fn: LossFunction, optimizer: Optimizer,
        loader: Iterable[tuple[np.ndarray, np.ndarray]],
        penalty: Callable[[Module], Value] | None = None, keep: bool = False,
    ) -> list[tuple[float, np.ndarray, np.ndarray]] | None:
        """One epoch of the loader's batches, the parameters held in a vector: for each
        batch, zero_grad, `train_step` and ``optimizer.step()`` in one, without reading or
        writing a Value. Returns (data loss, outputs, targets) per batch.

        At the end each parameter gets the number it has reached and the gradient of the
        last batch, as stepping batch by batch leaves them; also on an error or Ctrl-C.
        With `keep` (nothing is to look at the Values before the next epoch) they are
        written only by `release()` or by an epoch without `keep`, and the next epoch goes
        on from the vector without checking the model for changes again.

        Returns None before drawing a batch where the trainer is to step batch by batch:
        in the first epoch (`train_step` traces the tape on the first batch), and where the
        optimizer's step is its own (a class that overrides step or zero_grad) or it does
        not hold exactly the tape's parameters. The model is checked for changes once,
        before the first batch: only its forward pass runs until the end.
        """
        key = _key(model, loss_fn, penalty)
        kept, self._kept = self._kept, None
        if kept is not None and kept.key == key and kept.optimizer is optimizer:
            epoch = kept
        else:
            if kept is not None:
                kept.write_back()
            if (key not in self._tapes or type(optimizer).step is not Optimizer.step
                    or type(optimizer).zero_grad is not Optimizer.zero_grad):
                return None
            tape, shape, targets = self._tape(model, loss_fn, None, None, penalty)  # traced
            layout = optimizer._vector_layout(tape.params)
            if layout is None:
                return None
            epoch = _VectorEpochs(key, optimizer, tape, shape, targets, layout,
                                  tape.parameter_vector())
        done, finished = [], False
        try:
            for X, y in loader:
                done.append(epoch.step(X, y))
            finished = True
        finally:
            if keep and finished:
                self._kept = epoch
            else:
                epoch.write_back()
        return done

    def release(self) -> None:
        """Give the parameters the numbers (and gradients) that epochs run with ``keep``
        left in the vector; nothing if there are none."""
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.write_back()

    def evaluate(
        self, model: Module, loss_fn: LossFunction | None, X: np.ndarray, y: Any
    ) -> tuple[float | None, np.ndarray]:
        """(loss, outputs) for the whole of X without touching gradients."""
        if loss_fn is None or y is None:
            tape, _, _ = self._tape(model, None, X, None, None)
            return None, tape.forward(X)
        tape, shape, targets = self._tape(model, loss_fn, X, y, None)
        _, aux = tape.forward(X, targets(y))
        return float(aux[:, 0].mean()), aux[:, 1:].reshape(len(aux), *shape)

    def _tape(self, model, loss_fn, X, y, penalty):
        """(tape, shape of one example's outputs, targets as the tape takes them), traced on
        first use and again when the model's structure changes."""
        key = _key(model, loss_fn, penalty)
        structure = _structure(model)
        if key in self._tapes:
            _, tape, shape, traced_structure, targets, params = self._tapes[key]
            if structure != traced_structure:
                params[:] = model.parameters()
                tape.retrace()
                self._tapes[key] = (model, tape, shape, structure, targets, params)
            return tape, shape, targets
        _refuse_batch_statistics(model)
        shape, targets = None, _as_they_are
        # The tape reads its parameters at every step, to notice a changed model; the
        # structure, checked above, shows such changes already, so it reads this list,
        # refreshed when the structure changes (model.parameters() is 2.4 ms for 17,000)
        params = model.parameters()
        source = (lambda: params) if type(model).parameters is Module.parameters else model
        if loss_fn is None:
            tape = trace(lambda x: model(x), source, (X[0],))
        else:
            with no_grad():
                shape = np.shape(to_numpy(model(X[:1])))[1:]
            static = [1] if _static_targets(loss_fn) else []
            if static and _takes_probabilities(loss_fn) and len(shape) == 1:
                static = []  # rows of class probabilities are inputs, as they are
                if np.ndim(y) == 1:  # and class indices become such rows, one-hot
                    targets = functools.partial(_one_hot, classes=shape[0])

            def example_loss(x, target):
                outputs = model(x)
                loss = loss_fn(outputs, target)
                return loss, [loss, *flatten(outputs)]

            try:
                tape = trace(example_loss, source, (X[0], targets(y[:1])[0]),
                             has_aux=True, static=static,
                             penalty=(lambda: penalty(model)) if penalty else None)
            except TraceError as error:
                if not static and hasattr(error, "add_note"):
                    error.add_note(
                        "note: the targets reach the loss as Values; if they are class "
                        "indices, mark the loss: loss_fn.targets = 'class_index'")
                raise
            _check_mean_of_examples(model, loss_fn, tape, X, y, targets)
        self._tapes[key] = (model, tape, shape, structure, targets, params)  # model kept:
        return tape, shape, targets  # its id stays its own


class _VectorEpochs:
    """The parameters of a tape as a vector, stepped batch by batch by an optimizer
    (`TapeBackend.train_epoch`), until `write_back` gives them to the Values."""

    def __init__(self, key: tuple[Any, ...], optimizer: Optimizer, tape: Tape, shape: Any,
                 targets: Targets, layout: list[np.ndarray], theta: np.ndarray) -> None:
        self.key, self.optimizer, self.tape = key, optimizer, tape
        self.shape, self.targets, self.layout = shape, targets, layout
        self.theta = theta
        self.grads: np.ndarray | None = None  # the last batch's, None as after zero_grad

    def step(self, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """zero_grad, forward and backward, optimizer.step(): (data loss, outputs, y)."""
        self.grads = None
        (_, aux), self.grads = self.tape.value_and_grad(X, self.targets(y), params=self.theta)
        self.theta = self.optimizer._step_vector(self.theta, self.grads, self.layout)
        return float(aux[:, 0].mean()), aux[:, 1:].reshape(len(aux), *self.shape), y

    def write_back(self) -> None:
        for p, x in zip(self.tape.params, self.theta.tolist()):
            p.data = x
        last = [0.0] * len(self.theta) if self.grads is None else self.grads.tolist()
        for p, g in zip(self.tape.params, last):
            p.grad = g


def _key(model: Module, loss_fn: Any, penalty: Any) -> tuple[Any, ...]:
    """What a tape is traced for: a model (its id; the entry keeps the model alive), a
    loss, a penalty and a mode."""
    return (id(model), loss_fn, penalty, model.training)


Targets = Callable[[np.ndarray], np.ndarray]
"""The batch's targets as the tape takes them (`_as_they_are`, or `_one_hot` rows)."""


def _as_they_are(y: np.ndarray) -> np.ndarray:
    return y


def _one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    """Class indices as rows of class probabilities, 1 at the class, 0 elsewhere."""
    y = np.asarray(y)
    y = y.astype(int) if y.dtype.kind == "b" else y
    valid = (y == np.round(y)) & (y >= 0) & (y < classes) if y.dtype.kind in "iuf" else None
    if valid is None or y.ndim != 1 or not valid.all():
        i = 0 if valid is None or y.ndim != 1 else int(np.flatnonzero(~valid)[0])
        raise ValueError(
            f"backend='tape': cross_entropy's target {i} is {y.reshape(-1)[i].item()!r}, not a "
            f"class index from 0 to {classes - 1}; targets to ignore (ignore_index) need "
            "backend='eager'"
        )
    return np.eye(classes)[y.astype(int)]


def _takes_probabilities(loss_fn):
    """Whether loss_fn is nn's cross_entropy (through functools.partial) with no class
    weights or ignore_index: then one-hot targets give the very same numbers."""
    while isinstance(loss_fn, functools.partial):
        if set(loss_fn.keywords) - {"reduction"} or loss_fn.args:
            return False
        loss_fn = loss_fn.func
    return loss_fn is cross_entropy


def _static_targets(loss_fn):
    """Class indices are static: used as indices, not as numbers. A loss says its targets
    are class indices with ``loss_fn.targets = "class_index"`` (on itself, or on the
    function a functools.partial wraps); any other targets are inputs, whole numbers too
    (regression on counts), so they do not make one program per value."""
    while True:
        if getattr(loss_fn, "targets", None) == "class_index":
            return True
        if not isinstance(loss_fn, functools.partial):
            return False
        loss_fn = loss_fn.func


def _refuse_batch_statistics(model):
    for name, module in model.named_modules():
        if isinstance(module, BatchNorm) and module.training:
            where = f" ({name})" if name else ""
            raise ValueError(
                f"backend='tape': BatchNorm{where} in training mode normalizes with the "
                "statistics of the whole batch, which the tape (one example traced, replayed "
                "per example) cannot run; use backend='eager' (or model.eval() to normalize "
                "with the running statistics)"
            )


def _structure(module, parts=None):
    """What the model computes with: each module's type and settings (numbers, strings,
    flags), the identity of anything else it holds (functions), and its parameters, by
    identity: where the structure is the same, so is ``model.parameters()``."""
    if parts is None:
        parts = []
    parts.append(type(module))
    for attribute, item in vars(module).items():
        if isinstance(item, Module):
            _structure(item, parts)
            continue
        public = not attribute.startswith("_")  # what parameters() reads
        if isinstance(item, (list, tuple)) and item and isinstance(item[0], (Module, Value)):
            if isinstance(item[0], Module):
                for m in item:
                    _structure(m, parts)
            elif public:
                parts += (attribute, tuple(item))
            continue
        if isinstance(item, Value):
            if public:
                parts += (attribute, item)
            continue
        plain = isinstance(item, (str, int, float, bool, type(None)))
        parts += (attribute, item if plain else id(item))
    return parts


def _check_mean_of_examples(model, loss_fn, tape, X, y, targets):
    """The tape averages per-example losses; make sure that is what loss_fn computes."""
    n = min(len(X), _CHECK_EXAMPLES)
    with no_grad():
        eager = loss_fn(model(X[:n]), y[:n]).data
    losses_, _ = tape.forward(X[:n], targets(y[:n]))
    if not np.isclose(losses_.mean(), eager, rtol=1e-7, atol=1e-9):
        name = getattr(loss_fn, "__name__", repr(loss_fn))
        raise ValueError(
            f"backend='tape': the loss {name} of a batch ({eager!r}) is not the mean of its "
            f"examples' losses ({losses_.mean()!r}): class weights, ignore_index, a "
            "'sum' reduction or batch statistics (BatchNorm in training) do that; "
            "use backend='eager'"
        )
