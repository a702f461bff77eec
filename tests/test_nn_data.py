"""Data sets, train/test split and mini-batches."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn import data

CLASSIFIERS = [data.make_moons, data.make_circles, data.make_spirals, data.make_xor]


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(CLASSIFIERS), st.integers(1, 60), st.floats(0, 1), st.integers(0, 99))
def test_shapes_types_and_seeds(make, n, noise, seed):
    X, y = make(n, noise=noise, seed=seed)
    assert X.shape == (n, 2) and X.dtype == float and np.isfinite(X).all()
    assert y.shape == (n,) and y.dtype.kind == "i"
    X2, y2 = make(n, noise=noise, seed=seed)
    assert (X == X2).all() and (y == y2).all()


def test_classes_are_balanced_and_labelled_from_zero():
    for make in (data.make_moons, data.make_circles, data.make_spirals):
        _, y = make(101, seed=0)
        counts = np.bincount(y)
        assert counts.max() - counts.min() <= 1
    _, y = data.make_spirals(90, classes=3, seed=0)
    assert sorted(set(y)) == [0, 1, 2]


def test_noiseless_geometry():
    X, y = data.make_moons(50, seed=0)
    upper = X[y == 0]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    lower = X[y == 1]
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    X, y = data.make_circles(40, factor=0.3, seed=0)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.3)
    X, y = data.make_xor(200, seed=0)
    assert ((X[:, 0] * X[:, 1] < 0) == (y == 1)).all()
    X, y = data.make_quadratic(30, seed=0)
    assert X.shape == (30, 1) and y.shape == (30,)
    np.testing.assert_allclose(y, X[:, 0] ** 2)


def test_noise_moves_points_by_about_its_std():
    X0, _ = data.make_quadratic(2000, seed=3)
    _, y = data.make_quadratic(2000, noise=0.2, seed=3)
    assert (y - X0[:, 0] ** 2).std() == pytest.approx(0.2, rel=0.1)


def test_different_seeds_give_different_data():
    assert not np.array_equal(data.make_moons(20, noise=0.1, seed=0)[0],
                              data.make_moons(20, noise=0.1, seed=1)[0])


@pytest.mark.parametrize("call, message", [
    (lambda: data.make_moons(0), "n must be a whole number >= 1"),
    (lambda: data.make_moons(2.5), "n must be"),
    (lambda: data.make_circles(10, noise=-0.1), "noise"),
    (lambda: data.make_circles(10, factor=1.5), "factor"),
    (lambda: data.make_spirals(10, classes=1), "classes"),
    (lambda: data.make_xor(10, noise=float("inf")), "noise"),
    (lambda: data.make_quadratic(10, low=1, high=0), "low < high"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_train_test_split_partitions_the_examples():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.3, seed=0)
    assert len(X_test) == 3 and len(X_train) == 7
    assert sorted(np.concatenate([y_train, y_test])) == list(range(10))
    assert (X_train[:, 0] == 2 * y_train).all()  # rows stay with their labels
    again = data.train_test_split(X, y, test_size=0.3, seed=0)
    assert (again[3] == y_test).all()
    assert len(data.train_test_split(X, y, test_size=4)[1]) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"test_size": 0.0}, "test_size"),
    ({"test_size": 10}, "leave one side empty"),
    ({"test_size": "half"}, "test_size"),
])
def test_train_test_split_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.train_test_split(np.zeros((10, 2)), np.zeros(10), **kwargs)
    with pytest.raises(ValueError, match="X has 3 examples but y has 2"):
        data.train_test_split(np.zeros((3, 2)), np.zeros(2))


def test_data_loader_visits_every_example_once_per_epoch():
    X = np.arange(23).reshape(23, 1).astype(float)
    y = np.arange(23)
    loader = data.DataLoader(X, y, batch_size=5, seed=0)
    assert len(loader) == 5
    epochs = []
    for _ in range(2):
        batches = list(loader)
        assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
        seen = np.concatenate([b[1] for b in batches])
        assert sorted(seen) == list(range(23))
        assert all((bx[:, 0] == by).all() for bx, by in batches)
        epochs.append(seen)
    assert not (epochs[0] == epochs[1]).all()  # reshuffled
    loader = data.DataLoader(X, y, batch_size=5, shuffle=False, drop_last=True)
    assert len(loader) == 4 and list(next(iter(loader))[1]) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(X, y, batch_size=0)
