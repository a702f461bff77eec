"""chainrule's neural networks: modules, losses, regularization, optimizers, data, training.

    import nn
    model = nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
    X, y = nn.data.make_moons(100, noise=0.1, seed=0)
    history = nn.fit(model, X, 2 * y - 1, loss="hinge",
                     optimizer=nn.optim.SGD(model.parameters(), lr=0.5), epochs=50)

Names and semantics follow PyTorch (``torch.nn``, ``torch.nn.functional``, ``torch.optim``)
so that every number can be checked against it.
"""

import autograd._conflict  # noqa: F401  first: HIPS autograd may own autograd/__init__.py
from autograd import Parameter
from autograd import __version__ as __version__

from . import (
    backends,
    callbacks,
    data,
    diagnostics,
    functional,
    init,
    interop,
    losses,
    metrics,
    optim,
    regularization,
    serialization,
)
from .callbacks import Callback, EarlyStopping
from .interop import from_torch
from .layers import MLP, Activation, Layer, Neuron, Sequential
from .metrics import accuracy
from .module import Module
from .normalization import BatchNorm, BatchNorm1d, LayerNorm
from .regularization import Dropout, GaussianNoise, l1_penalty, l2_penalty
from .training import Trainer, fit

__all__ = [
    "Module", "Parameter", "Neuron", "Layer", "MLP", "Sequential", "Activation", "Dropout",
    "GaussianNoise", "BatchNorm", "BatchNorm1d", "LayerNorm", "EarlyStopping", "Callback",
    "l1_penalty", "l2_penalty", "accuracy", "Trainer", "fit", "from_torch", "interop",
    "functional", "losses", "regularization", "init", "optim", "data", "metrics",
    "callbacks", "backends", "serialization", "diagnostics",
]
