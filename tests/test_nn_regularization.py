"""Penalties, Dropout, Gaussian noise and early stopping."""

import math

import numpy as np
import pytest

from autograd import Value
from autograd.nested import total
from nn import MLP, Dropout, EarlyStopping, GaussianNoise, Layer, Sequential, losses, optim
from nn.regularization import l1_penalty, l2_penalty


def test_penalties_and_their_gradients():
    params = [Value(1.5), Value(-2.0), Value(0.0)]
    l2 = l2_penalty(params, alpha=0.1)
    assert l2.data == pytest.approx(0.1 * (2.25 + 4.0))
    l2.backward()
    assert [p.grad for p in params] == pytest.approx([0.3, -0.4, 0.0])
    for p in params:
        p.grad = 0.0
    l1 = l1_penalty(params, alpha=0.5)
    assert l1.data == pytest.approx(0.5 * 3.5)
    l1.backward()
    assert [p.grad for p in params] == pytest.approx([0.5, -0.5, 0.0])


def test_a_model_can_be_passed_directly():
    model = MLP(2, [3, 1], seed=0)
    expected = sum(p.data ** 2 for p in model.parameters())
    assert l2_penalty(model).data == pytest.approx(expected)


def test_l2_penalty_moves_sgd_exactly_as_weight_decay_twice_alpha():
    alpha = 0.05
    X = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.1]]
    y = [1.0, -1.0, 1.0]
    a, b = MLP(2, [4, 1], seed=3), MLP(2, [4, 1], seed=3)
    opt_a = optim.SGD(a.parameters(), lr=0.1)
    opt_b = optim.SGD(b.parameters(), lr=0.1, weight_decay=2 * alpha)
    for _ in range(5):
        opt_a.zero_grad()
        (losses.mse_loss(a(X), y) + l2_penalty(a, alpha)).backward()
        opt_a.step()
        opt_b.zero_grad()
        losses.mse_loss(b(X), y).backward()
        opt_b.step()
    np.testing.assert_allclose([p.data for p in a.parameters()],
                               [p.data for p in b.parameters()], rtol=1e-12)


def test_penalties_refuse_empty_or_non_values():
    with pytest.raises(ValueError, match="no parameters"):
        l2_penalty(iter([]))
    with pytest.raises(TypeError, match="parameter 1 is a float"):
        l1_penalty([Value(1.0), 2.0])


# --- Dropout -------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", True, math.nan])
def test_dropout_probability_must_be_in_0_1(p):
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        Dropout(p)


def test_dropout_in_training_zeroes_about_p_and_scales_the_rest():
    p = 0.3
    drop = Dropout(p, seed=0)
    x = [Value(2.0) for _ in range(4000)]
    out = drop(x)
    data = np.array([v.data for v in out])
    dropped = data == 0.0
    assert dropped.mean() == pytest.approx(p, abs=0.03)
    np.testing.assert_allclose(data[~dropped], 2.0 / (1 - p))
    assert data.mean() == pytest.approx(2.0, rel=0.05)  # inverted: expectation unchanged
    total(out).backward()
    grads = np.array([v.grad for v in x])
    np.testing.assert_allclose(grads[dropped], 0.0)
    np.testing.assert_allclose(grads[~dropped], 1 / (1 - p))


def test_dropout_is_off_in_eval_and_seeded_in_training():
    x = [[1.0, 2.0, 3.0, 4.0]] * 3
    drop = Dropout(0.5, seed=1).eval()
    assert drop(x) is x
    a = Dropout(0.5, seed=4)(x)
    b = Dropout(0.5, seed=4)(x)
    assert a == b
    assert Dropout(0.0)(x) is x


def test_dropout_inside_a_model_changes_outputs_only_in_training():
    model = Sequential(Layer(2, 32, seed=0), Dropout(0.5, seed=0), Layer(32, 1, "linear", seed=1))
    x = [0.5, 0.5]
    train_outputs = {model(x)[0].data for _ in range(5)}
    assert len(train_outputs) > 1
    model.eval()
    assert len({model(x)[0].data for _ in range(5)}) == 1


def test_gaussian_noise():
    noise = GaussianNoise(0.5, seed=0)
    out = np.array(noise([[0.0] * 100] * 40))
    assert out.std() == pytest.approx(0.5, rel=0.05)
    x = [Value(1.0)]
    assert noise.eval()(x) is x
    with pytest.raises(ValueError, match="std"):
        GaussianNoise(-1.0)


# --- EarlyStopping -------------------------------------------------------------------------

def test_early_stopping_counts_epochs_without_improvement():
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    decisions = [stopper.step(v) for v in [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.71]]
    assert decisions == [False, False, False, True, False, False, True]
    assert stopper.best == 0.7 and stopper.best_epoch == 4


def test_min_delta_and_max_mode():
    stopper = EarlyStopping(patience=1, min_delta=0.1)
    assert [stopper.step(v) for v in [1.0, 0.95]] == [False, True]  # 0.05 is not enough
    stopper = EarlyStopping(monitor="val_accuracy", patience=1)
    assert stopper.mode == "max"
    assert [stopper.step(v) for v in [0.5, 0.7, 0.6]] == [False, False, True]


def test_restores_the_best_weights():
    model = MLP(2, [2, 1], seed=0)
    stopper = EarlyStopping(patience=1)
    stopper.step(1.0, model)
    best = model.state_dict()
    for p in model.parameters():
        p.data += 1.0
    assert stopper.step(2.0, model)
    stopper.restore(model)
    assert model.state_dict() == best


def test_early_stopping_bad_arguments():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-0.1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="nan"):
        EarlyStopping().step(math.nan)
