"""Helpers for the tape's tests: the eager engine on a batch, the tape on it, a small MLP
written with plain Values, and two-moons points."""

import random

import numpy as np

from autograd import Value
from autograd.tape import trace


def close(actual, expected, rtol=1e-9):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def eager_batch(fn, params, batch, reduction="mean", penalty=None):
    """The eager engine on the whole batch: (loss, each param's gradient, each output)."""
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    outputs = [fn(*(_values(a) for a in example)) for example in zip(*batch)]
    loss = sum(outputs, Value(0.0))
    if reduction == "mean":
        loss = loss * (1.0 / len(outputs))
    if penalty is not None:
        loss = loss + penalty()
    loss.backward()
    grads = [p.grad for p in params]
    for p, g in zip(params, saved):
        p.grad = g
    return loss.data, grads, [o.data for o in outputs]


def _values(a):
    a = np.asarray(a, dtype=float)
    return Value(float(a)) if a.ndim == 0 else [_values(row) for row in a]


def tape_batch(fn, params, batch, reduction="mean", penalty=None, **kwargs):
    tape = trace(fn, params, tuple(a[0] for a in batch), penalty=penalty, **kwargs)
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    loss = tape.backward(*batch, reduction=reduction)
    grads = [p.grad for p in params]
    for p, g in zip(params, saved):
        p.grad = g
    return loss, grads, tape


def make_mlp(sizes, seed=0):
    rnd = random.Random(seed)
    layers = [
        [[Value(rnd.uniform(-1, 1)) for _ in range(nin)] + [Value(rnd.uniform(-0.1, 0.1))]
         for _ in range(nout)]
        for nin, nout in zip(sizes, sizes[1:])
    ]
    params = [p for layer in layers for neuron in layer for p in neuron]

    def model(x):
        for i, layer in enumerate(layers):
            out = [sum((w * xi for w, xi in zip(n[:-1], x)), n[-1]) for n in layer]
            x = [v.relu() for v in out] if i < len(layers) - 1 else out
        return x[0]

    return model, params


def moons(n, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    X = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + rng.normal(0, 0.1, X.shape), np.where(upper, -1.0, 1.0)


def torch_hinge_loss(torch, flat, X, y, sizes):
    """make_mlp's mean hinge loss in PyTorch, its parameters in one tensor `flat` in
    make_mlp's order (each neuron's weights, then its bias)."""
    h, start = torch.tensor(X, dtype=torch.float64), 0
    for i, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        block = flat[start : start + nout * (nin + 1)].reshape(nout, nin + 1)
        start += nout * (nin + 1)
        h = h @ block[:, :nin].T + block[:, nin]
        h = h.relu() if i < len(sizes) - 2 else h
    target = torch.tensor(y, dtype=torch.float64)
    return (1 - target * h[:, 0]).relu().mean()
