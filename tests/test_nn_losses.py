"""Every loss against torch.nn.functional in float64 (value and gradient, 1e-9 relative),
against central differences, and on bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nested import backward_with, grads, values

from autograd import Value, gradcheck
from autograd.nested import flatten
from nn import losses

RTOL, ATOL = 1e-9, 1e-12
SETTINGS = settings(max_examples=30, deadline=None)


def check(torch, ours, theirs, x, reduction, seed=0):
    """ours(Values) and theirs(tensor) agree on the loss and on d(loss)/d(input)."""
    xs = values(x)
    out = ours(xs)
    t_x = torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64, requires_grad=True)
    t_out = theirs(t_x)
    out_data = np.array([v.data for v in flatten(out)])
    expected = t_out.detach().numpy().ravel()
    np.testing.assert_allclose(out_data, expected, rtol=RTOL, atol=ATOL)
    assert np.all(np.isfinite(out_data))
    cotangent = np.random.default_rng(seed).uniform(0.5, 2.0, size=t_out.shape)
    backward_with(out, cotangent)
    t_out.backward(torch.tensor(cotangent, dtype=torch.float64))
    np.testing.assert_allclose(grads(xs), t_x.grad.numpy().ravel(), rtol=RTOL, atol=ATOL)


shapes = st.sampled_from([(), (1,), (4,), (3, 2), (5, 3)])
reductions = st.sampled_from(["mean", "sum", "none"])


def arrays(draw, shape, low, high):
    n = int(np.prod(shape)) if shape else 1
    data = draw(st.lists(st.floats(low, high), min_size=n, max_size=n))
    return np.array(data, dtype=float).reshape(shape)


@SETTINGS
@given(st.data(), shapes, reductions)
def test_mse_and_l1_match_torch(torch, data, shape, reduction):
    x = arrays(data.draw, shape, -5, 5)
    t = arrays(data.draw, shape, -5, 5)
    tt = torch.tensor(t, dtype=torch.float64)
    F = torch.nn.functional
    check(torch, lambda v: losses.mse_loss(v, t, reduction=reduction),
          lambda v: F.mse_loss(v, tt, reduction=reduction), x, reduction)
    check(torch, lambda v: losses.l1_loss(v, t, reduction=reduction),
          lambda v: F.l1_loss(v, tt, reduction=reduction), x, reduction)


@SETTINGS
@given(st.data(), shapes, reductions, st.sampled_from(["none", "scalar", "class", "full"]))
def test_binary_cross_entropy_matches_torch(torch, data, shape, reduction, weighting):
    p = arrays(data.draw, shape, 0.001, 0.999)
    t = arrays(data.draw, shape, 0.0, 1.0)
    weight = None
    if weighting == "scalar":
        weight = 0.7
    elif weighting == "class" and shape:
        weight = arrays(data.draw, shape[-1:], 0.1, 3.0)
    elif weighting == "full":
        weight = arrays(data.draw, shape, 0.1, 3.0)
    tw = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    check(torch,
          lambda v: losses.binary_cross_entropy(v, t, weight=weight, reduction=reduction),
          lambda v: torch.nn.functional.binary_cross_entropy(
              v, torch.tensor(t, dtype=torch.float64), weight=tw, reduction=reduction),
          p, reduction)


@SETTINGS
@given(st.data(), shapes, reductions, st.booleans(), st.booleans())
def test_bce_with_logits_matches_torch(torch, data, shape, reduction, use_pos_weight, use_weight):
    x = arrays(data.draw, shape, -30, 30)
    t = arrays(data.draw, shape, 0.0, 1.0)
    pos_weight = arrays(data.draw, shape[-1:], 0.2, 4.0) if use_pos_weight and shape else None
    weight = arrays(data.draw, shape, 0.2, 2.0) if use_weight else None

    def tensor(a):
        return None if a is None else torch.tensor(a, dtype=torch.float64)

    check(torch,
          lambda v: losses.bce_with_logits(v, t, weight=weight, pos_weight=pos_weight,
                                           reduction=reduction),
          lambda v: torch.nn.functional.binary_cross_entropy_with_logits(
              v, tensor(t), weight=tensor(weight), pos_weight=tensor(pos_weight),
              reduction=reduction),
          x, reduction)


def class_problem(draw, batched):
    classes = draw(st.integers(2, 5))
    n = draw(st.integers(1, 5))
    logits = arrays(draw, (n, classes) if batched else (classes,), -8, 8)
    targets = [draw(st.integers(0, classes - 1)) for _ in range(n)]
    return logits, (targets if batched else targets[0]), classes


@SETTINGS
@given(st.data(), st.booleans(), reductions, st.booleans(), st.booleans())
def test_cross_entropy_and_nll_match_torch(torch, data, batched, reduction, use_weight, ignore):
    logits, target, classes = class_problem(data.draw, batched)
    weight = arrays(data.draw, (classes,), 0.2, 3.0) if use_weight else None
    if ignore and batched and len(target) > 1:
        target = [-100] + target[1:]  # the first example is ignored
    tw = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    tt = torch.tensor(target, dtype=torch.long)
    F = torch.nn.functional
    check(torch,
          lambda v: losses.cross_entropy(v, target, weight=weight, reduction=reduction),
          lambda v: F.cross_entropy(v, tt, weight=tw, reduction=reduction), logits, reduction)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    check(torch,
          lambda v: losses.nll_loss(v, target, weight=weight, reduction=reduction),
          lambda v: F.nll_loss(v, tt, weight=tw, reduction=reduction), log_probs, reduction)


@SETTINGS
@given(st.data(), st.booleans(), reductions, st.booleans())
def test_cross_entropy_with_class_probabilities_matches_torch(torch, data, batched, reduction,
                                                              use_weight):
    logits, _, classes = class_problem(data.draw, batched)
    raw = arrays(data.draw, np.shape(logits), 0.0, 1.0) + 1e-3
    probabilities = raw / raw.sum(axis=-1, keepdims=True)
    weight = arrays(data.draw, (classes,), 0.2, 3.0) if use_weight else None
    tw = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    tp = torch.tensor(probabilities, dtype=torch.float64)
    check(torch,
          lambda v: losses.cross_entropy(v, probabilities, weight=weight, reduction=reduction),
          lambda v: torch.nn.functional.cross_entropy(v, tp, weight=tw, reduction=reduction),
          logits, reduction)
    # the probabilities' own gradient, when they are Values (a learnt teacher, say)
    ps = values(probabilities)
    loss = losses.cross_entropy(values(logits), ps, weight=weight, reduction="sum")
    loss.backward()
    tp.requires_grad_(True)
    torch.nn.functional.cross_entropy(torch.tensor(logits), tp, weight=tw,
                                      reduction="sum").backward()
    np.testing.assert_allclose(grads(ps), tp.grad.numpy().ravel(), rtol=RTOL, atol=ATOL)


@given(st.data(), st.sampled_from(["mean", "sum", "none"]))
def test_one_hot_probabilities_give_exactly_the_class_index_loss(data, reduction):
    logits, target, classes = class_problem(data.draw, True)
    one_hot = np.eye(classes)[target]
    hard, soft = values(logits), values(logits)
    a = losses.cross_entropy(hard, target, reduction=reduction)
    b = losses.cross_entropy(soft, one_hot, reduction=reduction)
    assert [v.data for v in flatten(a)] == [v.data for v in flatten(b)]  # not just close
    backward_with(a, np.ones(len(flatten(a))))
    backward_with(b, np.ones(len(flatten(b))))
    assert grads(hard).tolist() == grads(soft).tolist()


@SETTINGS
@given(st.data(), shapes, reductions, st.sampled_from([1.0, 0.5, 2.0]))
def test_hinge_loss_matches_torch_relu_form(torch, data, shape, reduction, margin):
    x = arrays(data.draw, shape, -3, 3)
    n = int(np.prod(shape)) if shape else 1
    y = np.array(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    y = y.reshape(shape)
    ty = torch.tensor(y, dtype=torch.float64)

    def theirs(v):
        pointwise = torch.relu(margin - ty * v)
        return {"mean": pointwise.mean(), "sum": pointwise.sum(), "none": pointwise}[reduction]

    check(torch, lambda v: losses.hinge_loss(v, y, margin=margin, reduction=reduction),
          theirs, x, reduction)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@SETTINGS
@given(st.data(), st.sampled_from([(4,), (3, 4), (2, 3)]),
       st.sampled_from(["mean", "sum", "none", "batchmean"]), st.booleans(), st.booleans())
def test_kl_div_matches_torch(torch, data, shape, reduction, log_target, with_zero):
    scores = arrays(data.draw, shape, -3, 3)
    log_q = scores - np.log(np.exp(scores).sum(axis=-1, keepdims=True))
    p = np.exp(arrays(data.draw, shape, -3, 3))
    p = p / p.sum(axis=-1, keepdims=True)
    if with_zero and not log_target:
        p.reshape(-1)[0] = 0.0  # 0·log 0 counts as 0
    target = np.log(p) if log_target else p
    tt = torch.tensor(target, dtype=torch.float64)
    check(torch,
          lambda v: losses.kl_div(v, target, reduction=reduction, log_target=log_target),
          lambda v: torch.nn.functional.kl_div(v, tt, reduction=reduction,
                                               log_target=log_target),
          log_q, reduction)


@pytest.mark.parametrize("logit", [1000.0, -1000.0])
def test_cross_entropy_and_bce_with_logits_stay_finite_at_1000(torch, logit):
    F = torch.nn.functional
    logits = np.array([[logit, 0.0, -logit], [0.0, logit, 3.0]])
    target = [2, 1]
    check(torch, lambda v: losses.cross_entropy(v, target),
          lambda v: F.cross_entropy(v, torch.tensor(target)), logits, "mean")
    for t in (0.0, 1.0):
        x = np.array([logit, -logit, 0.5])
        tt = np.full(3, t)
        check(torch, lambda v, tt=tt: losses.bce_with_logits(v, tt),
              lambda v, tt=tt: F.binary_cross_entropy_with_logits(v, torch.tensor(tt)),
              x, "mean")


def test_binary_cross_entropy_floors_logs_at_minus_100_like_torch(torch):
    p = np.array([0.0, 1.0, 1e-60])
    t = np.array([1.0, 0.0, 1.0])
    ours = losses.binary_cross_entropy(values(p), t, reduction="none")
    theirs = torch.nn.functional.binary_cross_entropy(
        torch.tensor(p), torch.tensor(t), reduction="none")
    np.testing.assert_allclose([v.data for v in ours], theirs.numpy(), rtol=RTOL)


# --- against central differences (no torch needed) ------------------------------------

def _ce(a, b, c):
    return losses.cross_entropy([[a, b, c], [c, a, b]], [2, 0])


def _bce_logits(a, b, c):
    return losses.bce_with_logits([a, b, c], [1.0, 0.0, 0.3], pos_weight=2.0)


def _kl(a, b, c):
    from nn.functional import log_softmax

    return losses.kl_div(log_softmax([a, b, c]), [0.2, 0.5, 0.3], reduction="batchmean")


@pytest.mark.parametrize("fn", [
    lambda a, b, c: losses.mse_loss([a, b, c], [0.5, -1.0, 2.0]),
    lambda a, b, c: losses.l1_loss([a, b, c], [0.5, -1.0, 2.0], reduction="sum"),
    lambda a, b, c: losses.binary_cross_entropy([a.sigmoid(), b.sigmoid(), c.sigmoid()],
                                                [1.0, 0.0, 0.5]),
    _bce_logits, _ce,
    lambda a, b, c: losses.nll_loss([a, b, c], 1),
    lambda a, b, c: losses.hinge_loss([a, b, c], [1, -1, 1]),
    _kl,
], ids=["mse", "l1", "bce", "bce_with_logits", "cross_entropy", "nll", "hinge", "kl_div"])
@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_loss_gradients_match_central_differences(fn, xs):
    # keep away from the kinks of |x - t| and max(0, 1 - y x), where no derivative exists
    if any(abs(x - k) < 1e-3 for x in xs for k in (0.5, -1.0, 2.0, 1.0, -1.0)):
        return
    assert gradcheck(fn, xs)


# --- reductions and shapes -------------------------------------------------------------

def test_default_reduction_is_the_mean_and_none_keeps_the_shape():
    x = values([[1.0, 2.0], [3.0, 5.0]])
    t = [[0.0, 0.0], [0.0, 0.0]]
    assert losses.mse_loss(x, t).data == pytest.approx((1 + 4 + 9 + 25) / 4)
    assert losses.mse_loss(x, t, reduction="sum").data == pytest.approx(39.0)
    none = losses.mse_loss(x, t, reduction="none")
    assert [[v.data for v in row] for row in none] == [[1.0, 4.0], [9.0, 25.0]]


def test_one_example_gives_one_value():
    loss = losses.cross_entropy([Value(2.0), Value(0.0)], 0)
    assert isinstance(loss, Value)
    assert loss.data == pytest.approx(math.log(1 + math.exp(-2.0)))


def test_numpy_inputs_and_targets_are_accepted():
    loss = losses.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
    assert loss.data == pytest.approx(2.0)


# --- bad input: a ValueError that says what was expected and what came -------------------

def test_target_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"target has shape \(3,\) but input has shape \(4,\)"):
        losses.mse_loss(values([1.0, 2.0, 3.0, 4.0]), [1.0, 2.0, 3.0])


def test_class_index_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"class 3, out of range for 3 classes"):
        losses.cross_entropy(values([[1.0, 2.0, 3.0]]), [3])
    with pytest.raises(ValueError, match=r"class -1"):
        losses.nll_loss(values([1.0, 2.0]), -1)


def test_wrong_number_of_class_targets_is_named():
    with pytest.raises(ValueError, match=r"expected 2 targets \(one per example\), got shape"):
        losses.cross_entropy(values([[1.0, 2.0], [0.0, 1.0]]), [0, 1, 1])
    with pytest.raises(ValueError, match="one class index"):
        losses.cross_entropy(values([1.0, 2.0]), [0, 1])


def test_class_index_must_be_whole():
    with pytest.raises(ValueError, match="whole number"):
        losses.cross_entropy(values([[1.0, 2.0]]), [0.5])


def test_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse_loss(values([1.0]), [1.0], reduction="average")
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse_loss(values([1.0]), [1.0], reduction="batchmean")


def test_bce_rejects_inputs_that_are_not_probabilities():
    with pytest.raises(ValueError, match=r"input 1 is 1.5.*bce_with_logits"):
        losses.binary_cross_entropy(values([0.5, 1.5]), [1.0, 0.0])


def test_hinge_needs_plus_minus_one_labels():
    for bad in (0, -2, 0.5):
        with pytest.raises(ValueError, match=r"target 1 is .*2 \* y - 1"):
            losses.hinge_loss(values([0.5, 1.5]), [1, bad])


def test_hinge_loss_on_the_tape_is_one_program_for_both_labels():
    """Checking a label is a decision on its number; its outcome is the same for -1 and 1,
    so the tape replays every example with one program, and agrees with eager."""
    from autograd.tape import trace

    w = [Value(0.5), Value(-0.25)]

    def loss(x, y):
        return losses.hinge_loss(w[0] * x[0] + w[1] * x[1], y)

    tape = trace(loss, w, (np.array([1.0, 2.0]), 1.0))
    X, y = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0], [-1.0, 1.0]]), np.array([1, -1, -1, 1])
    tape.backward(X, y)
    assert tape.traces == 1
    tape_grads = [p.grad for p in w]
    for p in w:
        p.grad = 0.0
    (sum(loss(x, t) for x, t in zip(X, y)) / len(X)).backward()
    assert [p.grad for p in w] == pytest.approx(tape_grads, rel=1e-12)
    with pytest.raises(ValueError, match="labels must be -1 or 1"):
        tape.backward(X, np.array([1, 0, 1, 1]))


def test_kl_div_rejects_negative_probabilities():
    with pytest.raises(ValueError, match="probabilities must be >= 0"):
        losses.kl_div(values([-1.0, -2.0]), [1.2, -0.2])


def test_nll_with_every_target_ignored_raises_instead_of_nan():
    with pytest.raises(ValueError, match="ignore_index"):
        losses.nll_loss(values([[-1.0, -2.0]]), [-100])


def test_empty_and_non_finite_inputs():
    with pytest.raises(ValueError, match="empty"):
        losses.mse_loss([], [])
    with pytest.raises(ValueError, match="finite"):
        losses.mse_loss(values([1.0]), [float("nan")])
    with pytest.raises(ValueError, match="ragged"):
        losses.mse_loss([[Value(1.0)], [Value(1.0), Value(2.0)]], [[1.0], [1.0, 2.0]])


def test_weight_of_the_wrong_size():
    with pytest.raises(ValueError, match="one number per class"):
        losses.cross_entropy(values([[1.0, 2.0]]), [0], weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="weight has shape"):
        losses.binary_cross_entropy(values([[0.5, 0.5]]), [[1.0, 0.0]], weight=[1.0, 2.0, 3.0])
