"""Small 2-D data sets to train on, a train/test split, and mini-batches.

Every generator is ``make_x(n, noise=..., seed=...) -> (X, y)`` with X a float array of
shape (n, 2) (or (n, 1) for the regression set) and y an int array of class labels
(floats for regression). The same seed gives the same data; ``seed=None`` fresh data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

from .init import Seed, as_rng

Dataset = tuple[np.ndarray, np.ndarray]
"""(X, y): the examples, one row each, and their targets."""

__all__ = [
    "make_moons", "make_circles", "make_spirals", "make_xor", "make_quadratic",
    "train_test_split", "DataLoader",
]


def _count(n, name, least=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        raise ValueError(f"{name}: n must be a whole number >= {least}, got {n!r}")
    return int(n)


def _noise(noise, name):
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (
        math.isfinite(noise) and noise >= 0
    ):
        raise ValueError(f"{name}: noise is a standard deviation, a number >= 0; got {noise!r}")
    return float(noise)


def _finish(X, y, noise, rng, shuffle=True):
    X = X + rng.normal(0.0, noise, size=X.shape) if noise else X
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    return X[order].astype(float), y[order]


def make_moons(n: int = 100, noise: float = 0.0, seed: Seed = None) -> Dataset:
    """Two interleaving half circles: class 0 the upper one, class 1 the lower one."""
    n, noise, rng = _count(n, "make_moons"), _noise(noise, "make_moons"), as_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, math.pi, n_upper)
    t_lower = np.linspace(0.0, math.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    y = np.concatenate([np.zeros(n_upper, dtype=int), np.ones(n_lower, dtype=int)])
    return _finish(np.vstack([upper, lower]), y, noise, rng)


def make_circles(
    n: int = 100, noise: float = 0.0, factor: float = 0.5, seed: Seed = None
) -> Dataset:
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1)."""
    n, noise, rng = _count(n, "make_circles"), _noise(noise, "make_circles"), as_rng(seed)
    if not isinstance(factor, (int, float)) or not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor is the inner radius, in (0, 1); got {factor!r}")
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = np.linspace(0.0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * math.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    y = np.concatenate([np.zeros(n_outer, dtype=int), np.ones(n_inner, dtype=int)])
    return _finish(np.vstack([outer, inner]), y, noise, rng)


def make_spirals(
    n: int = 100, noise: float = 0.0, classes: int = 2, turns: float = 1.0, seed: Seed = None
) -> Dataset:
    """``classes`` spiral arms winding out from the centre, ``turns`` times round; class k
    is arm k. Not separable by any line, and harder the more turns."""
    n, noise, rng = _count(n, "make_spirals"), _noise(noise, "make_spirals"), as_rng(seed)
    classes = _count(classes, "make_spirals: classes", 2)
    if not isinstance(turns, (int, float)) or not turns > 0:
        raise ValueError(f"make_spirals: turns must be > 0, got {turns!r}")
    sizes = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    points, labels = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.05, 1.0, size)
        t = 2 * math.pi * (turns * r + k / classes)
        points.append(np.column_stack([r * np.cos(t), r * np.sin(t)]))
        labels.append(np.full(size, k, dtype=int))
    return _finish(np.vstack(points), np.concatenate(labels), noise, rng)


def make_xor(n: int = 100, noise: float = 0.0, seed: Seed = None) -> Dataset:
    """Points in the square [-1, 1]²; class 1 where exactly one coordinate is positive.

    The classic problem no single neuron can solve. ``noise`` moves the points after they
    are labelled, blurring the axes that separate the classes.
    """
    n, noise, rng = _count(n, "make_xor"), _noise(noise, "make_xor"), as_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(int)
    return _finish(X, y, noise, rng, shuffle=False)


def make_quadratic(
    n: int = 100, noise: float = 0.0, low: float = -1.0, high: float = 1.0, seed: Seed = None
) -> Dataset:
    """Regression: x uniform in [low, high], y = x² + N(0, noise²). X is (n, 1), y is (n,)."""
    n, noise, rng = _count(n, "make_quadratic"), _noise(noise, "make_quadratic"), as_rng(seed)
    if not low < high:
        raise ValueError(f"make_quadratic: needs low < high, got low={low}, high={high}")
    x = rng.uniform(low, high, size=n)
    y = x**2 + (rng.normal(0.0, noise, size=n) if noise else 0.0)
    return x.reshape(n, 1), y.astype(float)


def _check_pair(X: ArrayLike, y: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} examples but y has {len(y)} targets")
    return X, y


def train_test_split(
    X: ArrayLike, y: ArrayLike, test_size: float = 0.25, seed: Seed = None, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, X_test, y_train, y_test), as scikit-learn returns them.

    ``test_size`` is a fraction in (0, 1) (rounded up) or a number of examples.
    """
    X, y = _check_pair(X, y, "train_test_split")
    n = len(X)
    if isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise ValueError(f"train_test_split: test_size must be a fraction in (0, 1) or a count, "
                         f"got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(
            f"train_test_split: {n_test} test examples out of {n} would leave one side empty"
        )
    order = as_rng(seed).permutation(n) if shuffle else np.arange(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


class DataLoader:
    """Mini-batches ``(X_batch, y_batch)`` of ``batch_size`` examples, one pass per iteration.

    ``shuffle`` draws a new order every epoch (from ``seed``); ``drop_last`` skips a last
    batch smaller than the others. ``len(loader)`` is the number of batches.
    """

    def __init__(self, X: ArrayLike, y: ArrayLike, batch_size: int = 32, shuffle: bool = True,
                 seed: Seed = None, drop_last: bool = False) -> None:
        self.X, self.y = _check_pair(X, y, "DataLoader")
        if len(self.X) == 0:
            raise ValueError("DataLoader: no examples")
        self.batch_size = _count(batch_size, "DataLoader: batch_size")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._rng = as_rng(seed)

    def __len__(self) -> int:
        full, rest = divmod(len(self.X), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[Dataset]:
        n = len(self.X)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        for i in range(len(self)):
            index = order[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.X[index], self.y[index]
