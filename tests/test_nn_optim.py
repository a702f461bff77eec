"""Optimizers and schedules against torch.optim: same function, same start, same numbers."""

import json
import math

import numpy as np
import pytest

from autograd import Value
from nn import optim
from nn.optim import lr_scheduler

START = [-1.2, 1.5, 0.7]


def objective(x, y, z, lib_tanh):
    """A curved valley (Rosenbrock) plus a coupled term: a fair test for every optimizer."""
    return (x - 1) ** 2 + 10 * (y - x * x) ** 2 + lib_tanh(z * x) + 0.5 * z * z


def run(params, tanh, make, steps, scheduler):
    """`steps` optimizer steps on the objective; the same loop for our Values and torch's."""
    opt = make(params)
    sched = scheduler(opt) if scheduler else None
    for _ in range(steps):
        opt.zero_grad()
        objective(*params, tanh).backward()
        opt.step()
        if sched:
            sched.step()
    return params


def run_ours(make, steps=25, scheduler=None):
    params = run([Value(v) for v in START], Value.tanh, make, steps, scheduler)
    return [p.data for p in params]


def run_torch(torch, make, steps=25, scheduler=None):
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in START]
    return [p.item() for p in run(params, torch.tanh, make, steps, scheduler)]


CONFIGS = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.005, "weight_decay": 0.5}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.002, "momentum": 0.7, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.002, "momentum": 0.5, "centered": True, "eps": 1e-6}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99)}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "eps": 1e-4}),
]


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
def test_25_steps_match_torch(torch, name, kwargs):
    ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs))
    theirs = run_torch(torch, lambda p: getattr(torch.optim, name)(p, **kwargs))
    assert ours != START
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


def test_maximize_climbs_like_torch(torch):
    ours = run_ours(lambda p: optim.SGD(p, lr=1e-3, maximize=True), steps=5)
    theirs = run_torch(torch, lambda p: torch.optim.SGD(p, lr=1e-3, maximize=True), steps=5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_defaults_are_torchs(torch):
    p = [Value(1.0)]
    t = [torch.zeros(1, requires_grad=True)]
    for name in ("SGD", "RMSprop", "Adam", "AdamW"):
        ours = getattr(optim, name)(p).defaults
        theirs = getattr(torch.optim, name)(t).defaults
        for key, value in ours.items():
            assert theirs[key] == (tuple(value) if key == "betas" else value), (name, key)


SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedules_match_torch(torch, name, kwargs):
    ours_opt = optim.SGD([Value(1.0)], lr=0.1)
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    ours_lrs, theirs_lrs = [ours.get_last_lr()[0]], [theirs.get_last_lr()[0]]
    for _ in range(20):  # past T_max, where the cosine turns back up
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        ours_lrs.append(ours.get_last_lr()[0])
        theirs_lrs.append(theirs.get_last_lr()[0])
    np.testing.assert_allclose(ours_lrs, theirs_lrs, rtol=1e-12, atol=1e-15)
    assert ours_opt.param_groups[0]["lr"] == ours_lrs[-1]


def test_lambda_lr_and_training_with_a_schedule_match_torch(torch):
    def decay(k):
        return 1.0 - 0.9 * k / 25

    ours = run_ours(lambda p: optim.SGD(p, lr=0.02, momentum=0.5),
                    scheduler=lambda o: lr_scheduler.LambdaLR(o, decay))
    theirs = run_torch(torch, lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.5),
                       scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, decay))
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_param_groups_have_their_own_lr(torch):
    def groups(p):
        return [{"params": p[:1], "lr": 0.05}, {"params": p[1:]}]

    ours = run_ours(lambda p: optim.Adam(groups(p), lr=0.01))
    theirs = run_torch(torch, lambda p: torch.optim.Adam(groups(p), lr=0.01))
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


# --- without torch: the rules themselves -------------------------------------------------

def test_sgd_step_is_p_minus_lr_times_grad():
    p = Value(2.0)
    p.grad = 0.5
    optim.SGD([p], lr=0.1).step()
    assert p.data == pytest.approx(2.0 - 0.05)


def test_adam_first_step_moves_each_parameter_by_lr():
    # bias correction makes the first step lr·g/|g| whatever the gradient's scale
    params = [Value(0.0), Value(0.0)]
    params[0].grad, params[1].grad = 1e-3, -50.0
    optim.Adam(params, lr=0.1).step()
    assert [p.data for p in params] == pytest.approx([-0.1, 0.1], rel=1e-4)


def test_zero_grad_resets_every_grad():
    params = [Value(1.0), Value(2.0)]
    for p in params:
        p.grad = 3.0
    optim.RMSprop(params).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_step_returns_the_closure_loss():
    p = Value(3.0)

    def closure():
        loss = p * p
        loss.backward()
        return loss

    loss = optim.SGD([p], lr=0.25).step(closure)
    assert loss.data == 9.0 and p.data == pytest.approx(1.5)


def test_state_dict_round_trip_through_json_continues_identically():
    def make():
        return [Value(v) for v in START]

    a, b = make(), make()
    opt_a = optim.Adam(a, lr=0.05, amsgrad=True)
    for _ in range(5):
        opt_a.zero_grad()
        objective(*a, Value.tanh).backward()
        opt_a.step()
    saved = json.loads(json.dumps(opt_a.state_dict()))
    for p, q in zip(a, b):
        q.data = p.data
    opt_b = optim.Adam(b, lr=0.5)
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[0]["lr"] == 0.05
    for opt, params in ((opt_a, a), (opt_b, b)):
        for _ in range(5):
            opt.zero_grad()
            objective(*params, Value.tanh).backward()
            opt.step()
    assert [p.data for p in a] == [q.data for q in b]


def test_load_state_dict_rejects_a_mismatched_optimizer():
    opt = optim.SGD([Value(1.0), Value(2.0)], lr=0.1, momentum=0.9)
    other = optim.SGD([Value(1.0)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="group 0 has 1 parameters, the saved one 2"):
        other.load_state_dict(opt.state_dict())


# --- bad hyper-parameters fail at construction -----------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.SGD(p, lr=math.nan), "Invalid learning rate"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay"),
    (lambda p: optim.RMSprop(p, lr=-1), "Invalid learning rate"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha"),
    (lambda p: optim.RMSprop(p, eps=-1e-8), "Invalid epsilon"),
    (lambda p: optim.Adam(p, lr=-1e-3), "Invalid learning rate"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda p: optim.AdamW(p, lr=-1e-3), "Invalid learning rate"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "Invalid weight_decay"),
    (lambda p: optim.Adam([{"params": p, "lr": -2.0}]), "Invalid learning rate: -2.0"),
])
def test_bad_hyper_parameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])


def test_bad_parameter_lists():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Values"):
        optim.SGD([1.0], lr=0.1)
    v = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([v, v], lr=0.1)
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(v, lr=0.1)


def test_bad_schedules():
    opt = optim.SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=-3)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)


def snapshot(opt, params):
    return [p.data for p in params], json.dumps(opt.state_dict(), sort_keys=True)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=1e100),
    lambda ps: optim.SGD(ps, lr=1e100, momentum=0.9),
    lambda ps: optim.SGD(ps, lr=1e100, momentum=0.9, nesterov=True),
    lambda ps: optim.SGD(ps, lr=1e100, weight_decay=1e-10),
    lambda ps: optim.RMSprop(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.9, centered=True),
    lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.1),
], ids=["sgd", "momentum", "nesterov", "weight_decay", "rmsprop", "rmsprop-centered",
        "adam", "amsgrad", "adamw"])
def test_a_non_finite_update_raises_and_changes_nothing(make):
    ok, w = Value(1.0), Value(1.0)
    opt = make([ok, w])
    ok.grad = w.grad = 1.0
    opt.step()  # a first, finite step, so there are momentum buffers, moments, step counts
    ok.grad, w.grad = 1.0, 1e300  # ok's update is finite, w's (or its state's) is not
    before = snapshot(opt, [ok, w])
    name = type(opt).__name__
    with pytest.raises(OverflowError, match=rf"{name}\.step\(\): .*parameter 1 .*grad 1e\+300"):
        opt.step()
    assert snapshot(opt, [ok, w]) == before  # neither ok nor any state moved
    ok.grad = w.grad = 0.0
    opt.step()  # still usable afterwards


def test_sgd_with_a_huge_learning_rate_names_the_value_and_the_result():
    w = Value(1.0)
    opt = optim.SGD([w], lr=1e308)
    w.grad = 10.0
    with pytest.raises(OverflowError, match=r"parameter 0 .*value 1\.0, grad 10\.0; lr=1e\+308"
                                            r"\) would make it -inf; nothing was changed"):
        opt.step()
    assert w.data == 1.0 and opt.state_dict()["state"] == {}


def test_an_optimizer_of_a_module_names_the_parameter():
    from nn import MLP

    model = MLP(2, [2, 1], seed=0)
    opt = optim.Adam(model, lr=0.1)
    for p in model.parameters():
        p.grad = 0.0
    model.layers[0].neurons[1].weight[0].grad = 1e300
    before = [p.data for p in model.parameters()]
    with pytest.raises(OverflowError, match=r"Adam.step.*'layers\.0\.neurons\.1\.weight\.0'"):
        opt.step()
    assert [p.data for p in model.parameters()] == before
    assert opt.state == {}


def test_a_nan_gradient_is_refused_by_the_state_check():
    w = Value(1.0)
    opt = optim.Adam([w], lr=0.1)
    w.grad = float("nan")
    with pytest.raises(OverflowError, match=r"parameter 0 .*grad nan"):
        opt.step()
    assert w.data == 1.0 and opt.state == {}
