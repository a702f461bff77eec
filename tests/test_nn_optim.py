"""Optimizers and schedules against torch.optim: same function, same start, same numbers."""

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the rules on arrays: the same numbers as one parameter at a time ---------------------

def lerp(start, end, weight):
    return start + weight * (end - start) if weight < 0.5 else end - (end - start) * (1 - weight)


def reference_update(name, x, g, group, state):
    """One parameter's step on Python floats, in torch's order: what the optimizers must
    compute, whatever they compute it on. Updates `state` (a dict) in place."""
    lr, wd = group["lr"], group["weight_decay"]
    if group["maximize"]:
        g = -g
    if name == "SGD":
        if wd != 0:
            g = g + wd * x
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            buf = g if buf is None else buf * momentum + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        return x - lr * g
    if name == "RMSprop":
        if not state:
            state.update(step=0, square_avg=0.0)
            if group["momentum"] > 0:
                state["momentum_buffer"] = 0.0
            if group["centered"]:
                state["grad_avg"] = 0.0
        state["step"] += 1
        if wd != 0:
            g = g + wd * x
        alpha = group["alpha"]
        state["square_avg"] = state["square_avg"] * alpha + (1 - alpha) * (g * g)
        if group["centered"]:
            state["grad_avg"] = ga = lerp(state["grad_avg"], g, 1 - alpha)
            avg = math.sqrt(state["square_avg"] - ga * ga) + group["eps"]
        else:
            avg = math.sqrt(state["square_avg"]) + group["eps"]
        if group["momentum"] > 0:
            state["momentum_buffer"] = state["momentum_buffer"] * group["momentum"] + g / avg
            return x - lr * state["momentum_buffer"]
        return x - lr * (g / avg)
    # Adam and AdamW
    if not state:
        state.update(step=0, exp_avg=0.0, exp_avg_sq=0.0)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = 0.0
    state["step"] += 1
    t = state["step"]
    beta1, beta2 = group["betas"]
    if wd != 0:
        if name == "AdamW":
            x = x * (1 - lr * wd)
        else:
            g = g + wd * x
    state["exp_avg"] = lerp(state["exp_avg"], g, 1 - beta1)
    state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1 - beta2) * (g * g)
    step_size = lr / (1 - beta1**t)
    bias_correction2_sqrt = (1 - beta2**t) ** 0.5
    v = state["exp_avg_sq"]
    if group["amsgrad"]:
        state["max_exp_avg_sq"] = v = max(state["max_exp_avg_sq"], v)
    denom = math.sqrt(v) / bias_correction2_sqrt + group["eps"]
    return x - step_size * (state["exp_avg"] / denom)


def reference_step(name, groups, xs, grads, states):
    """New numbers of every parameter (groups: hyper-parameters and a count of parameters
    each) and their new states; None if any would not be finite (step() must refuse)."""
    new_xs, new_states, i = [], [], 0
    for group in groups:
        for _ in range(group["size"]):
            state = dict(states[i])
            try:
                x = reference_update(name, xs[i], grads[i], group, state)
            except (ValueError, ZeroDivisionError, OverflowError):
                return None
            if not all(math.isfinite(v) for v in (x, *state.values())):
                return None
            new_xs.append(x)
            new_states.append(state)
            i += 1
    return new_xs, new_states


def bits(numbers):
    """Floats as their exact bits (float.hex tells -0.0 from 0.0), ints as they are."""
    if isinstance(numbers, dict):
        return {k: bits(v) for k, v in numbers.items()}
    if isinstance(numbers, list):
        return [bits(v) for v in numbers]
    return numbers.hex() if isinstance(numbers, float) else numbers


def _valid_sgd(options):
    if options["nesterov"] and (options["momentum"] == 0 or options["dampening"] != 0):
        options["nesterov"] = False
    return options


OPTIONS = {
    "SGD": st.fixed_dictionaries({
        "momentum": st.sampled_from([0.0, 0.5, 0.9]), "dampening": st.sampled_from([0.0, 0.3]),
        "nesterov": st.booleans(), "weight_decay": st.sampled_from([0.0, 0.1]),
        "maximize": st.booleans(),
    }).map(_valid_sgd),
    "RMSprop": st.fixed_dictionaries({
        "alpha": st.sampled_from([0.99, 0.9, 0.5]), "eps": st.sampled_from([1e-8, 1e-3]),
        "momentum": st.sampled_from([0.0, 0.5]), "centered": st.booleans(),
        "weight_decay": st.sampled_from([0.0, 0.1]), "maximize": st.booleans(),
    }),
    **{name: st.fixed_dictionaries({
        "betas": st.sampled_from([(0.9, 0.999), (0.8, 0.99), (0.5, 0.6)]),
        "eps": st.sampled_from([1e-8, 1e-3]), "amsgrad": st.booleans(),
        "weight_decay": st.sampled_from([0.0, 0.01, 0.3]), "maximize": st.booleans(),
    }) for name in ("Adam", "AdamW")},
}
STEPS = 20
number = st.floats(-1e3, 1e3)  # zeros, subnormals and both signs included


@st.composite
def optimizer_runs(draw):
    name = draw(st.sampled_from(sorted(OPTIONS)))
    options = draw(OPTIONS[name])
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    lrs = [draw(st.sampled_from([1e-3, 0.01, 0.1, 0.7])) for _ in sizes]
    n = sum(sizes)
    start = draw(st.lists(number, min_size=n, max_size=n))
    grads = draw(st.lists(st.lists(number, min_size=n, max_size=n),
                          min_size=STEPS, max_size=STEPS))
    new_lr = draw(st.tuples(st.integers(1, STEPS - 1), st.integers(0, len(sizes) - 1),
                            st.sampled_from([0.0, 1e-4, 0.05, 2.0])))
    return name, options, sizes, lrs, start, grads, new_lr


@settings(max_examples=150, deadline=None)
@given(optimizer_runs())
def test_every_step_is_bitwise_the_per_float_rule(run):
    name, options, sizes, lrs, start, grads, (when, which, new_lr) = run
    params = [Value(x) for x in start]
    chunks, i = [], 0
    for size, lr in zip(sizes, lrs):
        chunks.append({"params": params[i:i + size], "lr": lr})
        i += size
    opt = getattr(optim, name)(chunks, **options)
    groups = [{**g, "size": len(g["params"])} for g in opt.param_groups]
    xs, states = list(start), [{} for _ in params]
    for k, gs in enumerate(grads):
        if k == when:  # as a scheduler does between steps
            opt.param_groups[which]["lr"] = groups[which]["lr"] = new_lr
        for p, g in zip(params, gs):
            p.grad = g
        expected = reference_step(name, groups, xs, gs, states)
        if expected is None:
            before = snapshot(opt, params)
            with pytest.raises(OverflowError, match=rf"{name}\.step\(\): the update of"):
                opt.step()
            assert snapshot(opt, params) == before
            return
        opt.step()
        xs, states = expected
        assert bits([p.data for p in params]) == bits(xs), k
        assert [bits(opt.state.get(p, {})) for p in params] == bits(states), k


def test_centered_rmsprop_squares_the_mean_gradient_as_a_product():
    # torch's addcmul(grad_avg, grad_avg): a constant gradient has a variance of exactly 0
    # (Python's g ** 2 is libm's pow, a last bit off for about 1 number in 1,000)
    grads = [0.37796883434360806, 2.0658101234985606e-13, 0.6]  # pow(g, 2) != g * g for two
    params = [Value(1.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    optim.RMSprop(params, lr=0.01, alpha=0.0, eps=1e-3, centered=True).step()
    assert [p.data for p in params] == [1.0 - 0.01 * (g / 1e-3) for g in grads]


ALL = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "betas": (0.8, 0.99), "maximize": True}),
]


def train(opt, params, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for p, g in zip(params, rng.normal(size=len(params)).tolist()):
            p.grad = g
        opt.step()


def two_groups(name, kwargs, values):
    params = [Value(v) for v in values]
    groups = [{"params": params[:4]}, {"params": params[4:], "lr": kwargs["lr"] / 2}]
    return getattr(optim, name)(groups, **kwargs), params


@pytest.mark.parametrize("name, kwargs", ALL, ids=[n for n, _ in ALL])
def test_state_view_and_state_dict_round_trip_continue_as_if_never_saved(name, kwargs):
    start = np.random.default_rng(1).normal(size=10).tolist()
    opt_a, a = two_groups(name, kwargs, start)
    assert opt_a.state == {} and len(opt_a.state) == 0 and a[0] not in opt_a.state
    train(opt_a, a, 5, seed=2)
    saved = json.loads(json.dumps(opt_a.state_dict()))
    assert len(opt_a.state) == 10 and list(opt_a.state) == a
    for i, p in enumerate(a):
        state = opt_a.state[p]
        assert state == saved["state"][str(i)]
        assert all(type(v) is (int if k == "step" else float) for k, v in state.items())
    if name != "SGD":
        assert opt_a.state[a[0]]["step"] == 5
    opt_b, b = two_groups(name, {**kwargs, "lr": 1.0}, [p.data for p in a])
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[1]["lr"] == kwargs["lr"] / 2
    assert dict(opt_b.state.items()) == {q: opt_a.state[p] for p, q in zip(a, b)}
    train(opt_a, a, 5, seed=3)
    train(opt_b, b, 5, seed=3)
    assert bits([p.data for p in a]) == bits([q.data for q in b])


def test_state_is_a_read_only_view_that_can_be_replaced():
    p, q = Value(1.0), Value(2.0)
    opt = optim.Adam([p, q], lr=0.1)
    p.grad = q.grad = 1.0
    opt.step()
    with pytest.raises(TypeError):
        opt.state[p] = {}
    opt.state[p]["step"] = 7  # a copy: the optimizer's state is unchanged
    assert opt.state[p]["step"] == 1
    with pytest.raises(KeyError):
        opt.state[Value(3.0)]
    opt.state = {q: {"step": 4, "exp_avg": 0.5, "exp_avg_sq": 0.25}}
    assert opt.state == {q: {"step": 4, "exp_avg": 0.5, "exp_avg_sq": 0.25}}
    opt.state = {}
    assert opt.state == {} and opt.state_dict()["state"] == {}
    with pytest.raises(ValueError, match="not one of its parameters"):
        opt.state = {Value(0.0): {"step": 1}}
    with pytest.raises(ValueError, match=r"exp_avg of parameter 1 .* is 'big'; the state holds"):
        opt.state = {q: {"step": 1, "exp_avg": "big"}}
    with pytest.raises(ValueError, match=r"step of parameter 0 .* is 2\.5"):
        opt.state = {p: {"step": 2.5}}


def test_a_partial_state_saved_before_the_arrays_steps_each_parameter_from_its_own():
    # the format of state_dicts saved one float per parameter: parameter 1 has 3 steps
    # behind it, parameter 2 (loaded 2.0, as torch saves steps) 2, parameters 0 and 3 none
    old = {
        "state": {"1": {"step": 3, "exp_avg": 0.25, "exp_avg_sq": 0.5, "max_exp_avg_sq": 0.75},
                  "2": {"step": 2.0, "exp_avg": -0.1, "exp_avg_sq": 0.01,
                        "max_exp_avg_sq": 0.02}},
        "param_groups": [{"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                          "amsgrad": True, "maximize": False, "params": [0, 1, 2, 3]}],
    }
    params = [Value(v) for v in (0.5, -1.0, 2.0, 0.0)]
    opt = optim.Adam(params)
    opt.load_state_dict(old)
    assert opt.state[params[2]]["step"] == 2 and params[0] not in opt.state
    group = {**opt.param_groups[0], "size": 4}
    states = [old["state"].get(str(i), {}) for i in range(4)]
    states[2] = {**states[2], "step": 2}
    xs = [p.data for p in params]
    for grads in ([0.3, -0.2, 1.5, 0.0], [0.1, 0.4, -0.7, 2.0]):
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        xs, states = reference_step("Adam", [group], xs, grads, states)
        assert bits([p.data for p in params]) == bits(xs)
        assert [bits(opt.state[p]) for p in params] == bits(states)
    assert [opt.state[p]["step"] for p in params] == [2, 5, 4, 2]


def test_a_group_added_later_starts_with_fresh_state():
    first = [Value(1.0), Value(2.0)]
    opt = optim.SGD(first, lr=0.1, momentum=0.9, dampening=0.5)
    train(opt, first, 3, seed=0)
    later = [Value(3.0)]
    opt.add_param_group({"params": later, "lr": 0.2})
    buffers = [opt.state[p]["momentum_buffer"] for p in first]
    for p, g in zip(first + later, (0.5, -0.5, 2.0)):
        p.grad = g
    opt.step()
    # a first step's buffer is the gradient itself (no dampening), a later one's is not
    assert opt.state[later[0]] == {"momentum_buffer": 2.0} and later[0].data == 3.0 - 0.2 * 2.0
    assert opt.state[first[0]]["momentum_buffer"] == buffers[0] * 0.9 + (1 - 0.5) * 0.5


def test_a_replaced_params_list_keeps_each_parameters_state():
    start = [0.5, -1.0, 2.0]
    a, b = [Value(v) for v in start], [Value(v) for v in start]
    opt_a, opt_b = optim.Adam(a, lr=0.1), optim.Adam(b, lr=0.1)
    train(opt_a, a, 3, seed=0)
    train(opt_b, b, 3, seed=0)
    opt_b.param_groups[0]["params"] = b[::-1]  # stepped in the other order from now on
    train(opt_a, a, 3, seed=1)
    train(opt_b, b, 3, seed=1)  # each parameter the same gradients as its twin in a
    assert [p.data for p in a] == [q.data for q in b]
    assert [opt_a.state[p] for p in a] == [opt_b.state[q] for q in b]


def test_parameters_with_a_zero_grad_are_still_stepped():
    p = Value(2.0)
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    opt.step()  # p.grad is 0.0: no gradient step, but decay and a step count
    assert p.data == 2.0 * (1 - 0.1 * 0.5) and opt.state[p]["step"] == 1


@pytest.mark.parametrize("make, what", [
    (lambda ps: optim.SGD(ps, lr=1e10, momentum=0.9), "would make it -inf"),
    (lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5), "would make its square_avg inf"),
    (lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True), "would make its exp_avg_sq inf"),
    (lambda ps: optim.AdamW(ps, lr=0.01), "would make its exp_avg_sq inf"),
], ids=["sgd", "rmsprop", "adam", "adamw"])
def test_a_non_finite_update_in_a_large_group_names_it_and_changes_nothing(make, what):
    rng = np.random.default_rng(0)
    params = [Value(v) for v in rng.normal(size=1000).tolist()]
    opt = make([{"params": params[:400]}, {"params": params[400:]}])
    train(opt, params, 2, seed=1)
    for p, g in zip(params, rng.normal(size=1000).tolist()):
        p.grad = g
    params[500].grad = 1e300
    params[900].grad = math.inf  # later: the first is the one named
    before = snapshot(opt, params)
    value = re.escape(repr(params[500].data))
    with pytest.raises(OverflowError, match=rf"\.step\(\): the update of parameter 500 "
                                            rf"\(counting from 0\) \(value {value}, grad "
                                            rf"1e\+300; .*\) {what}; nothing was changed"):
        opt.step()
    assert snapshot(opt, params) == before


def test_a_rule_that_raises_is_refused_like_a_non_finite_one():
    params = [Value(1.0), Value(2.0)]
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    opt.param_groups[1]["betas"] = (1.0, 0.999)  # 1 - beta1**t is 0: lr / 0
    params[0].grad = params[1].grad = 1.0
    with pytest.raises(OverflowError, match=r"parameter 1 .* fails \(float division by zero\)"):
        opt.step()
    assert [p.data for p in params] == [1.0, 2.0] and opt.state == {}
