"""The reference workload: micrograd's demo step, for every engine the benchmark compares.

100 two-moons points, an MLP 2-16-16-1 (ReLU, linear output), hinge loss
``(1 - y·score).relu()`` averaged over the batch plus 1e-4·Σp², full-batch SGD with the
demo's learning rate ``1 - 0.9·k/100``. Every engine starts from the same numbers (data and
weights come from `random.Random` with fixed seeds) so their losses can be compared step by
step. Only the standard library is imported at the top: this module also runs in the
micrograd virtual environment, where nothing else is installed.
"""

from __future__ import annotations

import math
import random

ALPHA = 1e-4  # weight of the L2 penalty


def moons(n, seed=0):
    """Two interleaving half circles with Gaussian noise (sklearn's make_moons, 0.1 noise).

    Returns (X, y): n rows of two floats, and labels -1.0 (upper moon) or 1.0 (lower moon).
    """
    rnd = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = rnd.uniform(0.0, math.pi)
        if i % 2 == 0:
            point, label = (math.cos(t), math.sin(t)), -1.0
        else:
            point, label = (1.0 - math.cos(t), 0.5 - math.sin(t)), 1.0
        X.append([point[0] + rnd.gauss(0.0, 0.1), point[1] + rnd.gauss(0.0, 0.1)])
        y.append(label)
    return X, y


def initial_parameters(sizes, seed=1):
    """micrograd's initialization, neuron by neuron: weights uniform in [-1, 1], bias 0."""
    rnd = random.Random(seed)
    flat = []
    for nin, nout in zip(sizes, sizes[1:]):
        for _ in range(nout):
            flat += [rnd.uniform(-1.0, 1.0) for _ in range(nin)] + [0.0]
    return flat


def learning_rate(k):
    return 1.0 - 0.9 * (k % 100) / 100


class PlainMLP:
    """An MLP of plain Values, built the way micrograd's nn.py builds one: a neuron is a list
    of weights and a bias, ``sum(w·x, b)`` then ReLU except in the last layer.

    Works with any Value class that has + * and relu (micrograd's or chainrule's).
    """

    def __init__(self, value_class, sizes, flat):
        numbers = iter(flat)
        self.layers = [
            [([value_class(next(numbers)) for _ in range(nin)], value_class(next(numbers)))
             for _ in range(nout)]
            for nin, nout in zip(sizes, sizes[1:])
        ]

    def __call__(self, x):
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = [self._neuron(w, b, x, i < last) for w, b in layer]
        return x[0] if len(x) == 1 else x

    @staticmethod
    def _neuron(w, b, x, nonlinear):
        act = sum((wi * xi for wi, xi in zip(w, x)), b)
        return act.relu() if nonlinear else act

    def parameters(self):
        return [p for layer in self.layers for w, b in layer for p in [*w, b]]


def demo_step(value_class, model, X, y, k):
    """One step of micrograd's demo, line for line: returns the loss and the graph's root."""
    inputs = [list(map(value_class, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    model.zero_grad() if hasattr(model, "zero_grad") else _zero(model.parameters())
    total.backward()
    lr = learning_rate(k)
    for p in model.parameters():
        p.data -= lr * p.grad
    return total


def _zero(params):
    for p in params:
        p.grad = 0.0


def count_nodes(root, parents):
    """How many nodes the graph under `root` has; parents(node) gives a node's inputs."""
    seen, stack = {id(root)}, [root]
    while stack:
        for p in parents(stack.pop()):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def digits(n=1797, seed=0):
    """A data set of the shape of scikit-learn's digits: n images of 8x8 pixels in [0, 1],
    10 classes. Each class is a fixed random stroke pattern; an example is its class's
    pattern with every pixel jittered and a few pixels flipped. Returns (X, y): n rows of
    64 floats, and class indices 0..9."""
    rnd = random.Random(seed)
    patterns = [[1.0 if rnd.random() < 0.3 else 0.0 for _ in range(64)] for _ in range(10)]
    X, y = [], []
    for i in range(n):
        label = i % 10
        pixels = [min(1.0, max(0.0, p + rnd.gauss(0.0, 0.15))) for p in patterns[label]]
        for k in rnd.sample(range(64), 3):
            pixels[k] = 1.0 - pixels[k]
        X.append(pixels)
        y.append(label)
    return X, y
