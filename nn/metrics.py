"""Accuracy of a classifier's outputs against its labels."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from autograd.nested import Nested, to_numpy

__all__ = ["accuracy"]


def accuracy(outputs: Nested, targets: ArrayLike, threshold: float = 0.0) -> float:
    """The fraction of examples classified correctly.

    ``outputs`` (Values or numbers) are one score per example, or one row of class scores
    per example. One score: the prediction is positive when score > ``threshold`` (0 for
    logits and hinge scores, 0.5 for probabilities), and a target is positive when > 0, so
    0/1 and -1/1 labels both work. Rows: the prediction is the highest-scoring class, and a
    target is a class index or a row of class probabilities (its most likely class).
    """
    scores = to_numpy(outputs)
    labels = np.asarray(targets)
    if len(scores) != len(labels):
        raise ValueError(f"accuracy: {len(scores)} outputs but {len(labels)} targets")
    if len(scores) == 0:
        raise ValueError("accuracy: no examples")
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]  # one score per example, as a column
    if scores.ndim == 2:
        if labels.shape == scores.shape:  # class probabilities: their most likely class
            labels = labels.argmax(axis=1)
        if labels.size != len(scores):
            raise ValueError(
                f"accuracy: {len(scores)} rows of class scores need one class index per "
                f"example, or a row of class probabilities each; got targets of shape "
                f"{labels.shape}"
            )
        return float(np.mean(scores.argmax(axis=1) == labels.reshape(-1)))
    if scores.ndim != 1:
        raise ValueError(f"accuracy: outputs must be 1-D or 2-D, got shape {scores.shape}")
    return float(np.mean((scores > threshold) == (labels.reshape(-1) > 0)))
