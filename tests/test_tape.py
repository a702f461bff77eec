"""The batched tape (autograd.tape) against the eager engine: same numbers, clear errors."""

import math
import random

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from op_cases import CASES, POW_CONST_CASES
from tape_cases import close, eager_batch, make_mlp, moons, tape_batch, torch_hinge_loss

import autograd.tape_replay as tape_replay
from autograd import Value, ops
from autograd.tape import TraceError, trace

# --- a small MLP with micrograd's hinge loss, written with plain Values ------------------


def test_mlp_hinge_loss_with_l2_penalty_matches_eager():
    model, params = make_mlp([2, 16, 16, 1])
    X, y = moons(60)

    def hinge(x, label):
        return (1 + -label * model(x)).relu()

    def l2():
        return 1e-4 * sum(p * p for p in params)

    loss, grads, tape = tape_batch(hinge, params, (X, y), penalty=l2)
    eager_loss, eager_grads, _ = eager_batch(hinge, params, (X, y), penalty=l2)
    close(loss, eager_loss)
    close(grads, eager_grads)
    assert any(g != 0.0 for g in grads)
    assert "9 numpy groups" in repr(tape)  # 3 layers as matrix products, 2 relus, 4 for the loss


def test_training_steps_track_eager_training():
    model, params = make_mlp([2, 8, 1], seed=1)
    X, y = moons(40, seed=1)

    def hinge(x, label):
        return (1 + -label * model(x)).relu()

    tape = trace(hinge, params, (X[0], y[0]))
    twin_model, twin = make_mlp([2, 8, 1], seed=1)
    for _ in range(5):
        for p in params + twin:
            p.grad = 0.0
        tape.backward(X, y)
        _, eager_grads, _ = eager_batch(lambda x, t: (1 + -t * twin_model(x)).relu(), twin, (X, y))
        for p, q, g in zip(params, twin, eager_grads):
            p.data -= 0.1 * p.grad
            q.data -= 0.1 * g
    close([p.data for p in params], [q.data for q in twin])


def test_mlp_matches_pytorch():
    torch = pytest.importorskip("torch")
    model, params = make_mlp([2, 16, 16, 1], seed=3)
    X, y = moons(30, seed=3)
    loss, grads, _ = tape_batch(lambda x, t: (1 + -t * model(x)).relu(), params, (X, y),
                                penalty=lambda: 1e-4 * sum(p * p for p in params))

    flat = torch.tensor([p.data for p in params], dtype=torch.float64, requires_grad=True)
    torch_loss = torch_hinge_loss(torch, flat, X, y, [2, 16, 16, 1]) + 1e-4 * (flat * flat).sum()
    torch_loss.backward()
    close(loss, torch_loss.item())
    close(grads, flat.grad.numpy())


# --- random expression graphs ----------------------------------------------------------


def _guarded(key, a, b):
    """Op `key` on a and b, with the inputs nudged into the op's domain."""
    if key == "div":
        return a / (b * b + 0.5)
    if key == "pow":
        return (a * a + 0.5) ** b.tanh()
    if key == "pow_const":
        return (a.tanh() + 2.0) ** -1.5
    if key in ("log", "sqrt"):
        return getattr(a * a + 0.25, key)()
    if key == "exp":
        return a.tanh().exp()
    if key == "leaky_relu":
        return a.leaky_relu(0.1)
    if key == "neg":
        return -a
    if key == "abs":
        return abs(a)
    if ops.OPS[key].arity == 2:
        return CASES[key].ours(a, b)
    return getattr(a, key)()


steps = st.lists(
    st.tuples(
        st.sampled_from(sorted(ops.OPS) + ["sum", "sum"]),
        st.integers(0, 10**6),
        st.integers(0, 10**6),
        st.integers(2, 6),
    ),
    min_size=1,
    max_size=14,
)


@given(
    program=steps,
    size=st.integers(1, 12),
    seed=st.integers(0, 2**16),
    reduction=st.sampled_from(["mean", "sum"]),
)
def test_random_graphs_match_eager(program, size, seed, reduction):
    rng = np.random.default_rng(seed)
    params = [Value(float(v)) for v in rng.uniform(-1.5, 1.5, 3)]
    X = rng.uniform(-2, 2, (size, 3))

    def fn(x):
        nodes = [*x, *params]
        for key, i, j, n in program:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if key == "sum":
                picked = [nodes[(i + k * j) % len(nodes)] for k in range(n)]
                nodes.append(sum(picked[1:], picked[0]))
            else:
                nodes.append(_guarded(key, a, b))
        return nodes[-1] * nodes[-2] + nodes[-1]

    try:
        eager_loss, eager_grads, _ = eager_batch(fn, params, (X,), reduction)
    except (ArithmeticError, ValueError):
        assume(False)
    assume(abs(eager_loss) < 1e12)
    loss, grads, _ = tape_batch(fn, params, (X,), reduction)
    close(loss, eager_loss)
    close(grads, eager_grads)


# --- every op in the table --------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(ops.OPS))
def test_every_op_through_the_tape(key):
    case = CASES[key]
    arity = ops.OPS[key].arity
    weights = [Value(1.0) for _ in range(arity)]

    def fn(x):
        return case.ours(*(x[i] * w for i, w in enumerate(weights)))

    @given(st.lists(st.tuples(*case.domain), min_size=1, max_size=10))
    def check(rows):
        X = np.array(rows, dtype=float).reshape(len(rows), arity)
        loss, grads, tape = tape_batch(fn, weights, (X,), reduction="sum")
        eager_loss, eager_grads, eager_outputs = eager_batch(fn, weights, (X,), "sum")
        close(loss, eager_loss)
        close(grads, eager_grads)
        close(tape.forward(X), eager_outputs)

    check()


@pytest.mark.parametrize("exponent, domain", POW_CONST_CASES)
def test_constant_exponents_through_the_tape(exponent, domain):
    w = Value(1.0)

    @given(st.lists(domain, min_size=1, max_size=10))
    def check(xs):
        X = np.array(xs, dtype=float)[:, None]
        loss, grads, _ = tape_batch(lambda x: (x[0] * w) ** exponent, [w], (X,), "sum")
        eager_loss, eager_grads, _ = eager_batch(lambda x: (x[0] * w) ** exponent, [w], (X,), "sum")
        close(loss, eager_loss)
        close(grads, eager_grads)

    check()


# --- what a tape reads: inputs, parameters, constants, static arguments -----------------


def test_leaves_accumulate_like_eager_and_forward_leaves_grads_alone():
    w = Value(2.0)
    X = np.array([[1.0], [3.0]])
    tape = trace(lambda x: w * x[0] * x[0], [w], (X[0],))
    assert list(tape.forward(X)) == [2.0, 18.0]
    assert w.grad == 0.0
    assert tape.backward(X) == 10.0
    assert w.grad == 5.0
    tape.backward(X, reduction="sum")
    assert w.grad == 15.0


def test_constants_made_inside_fn_are_frozen_and_inputs_vary():
    w = Value(0.5)
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])
    fn = lambda x: (x[0] * w + 1.5) * x[1] - 2.0  # noqa: E731
    loss, grads, _ = tape_batch(fn, [w], (X,))
    eager_loss, eager_grads, _ = eager_batch(fn, [w], (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)


def test_static_arguments_give_one_program_per_value():
    weights = [[Value(0.3 * i - 0.2 * j) for j in range(2)] for i in range(3)]
    params = [w for row in weights for w in row]

    def nll(x, label):  # the label indexes the scores, so it must reach fn as a number
        scores = [row[0] * x[0] + row[1] * x[1] for row in weights]
        log_total = sum(s.exp() for s in scores).log()
        return log_total - scores[label]

    X = np.random.default_rng(0).normal(size=(20, 2))
    labels = np.arange(20) % 3
    loss, grads, tape = tape_batch(nll, params, (X, labels), static=[1])
    eager_loss, eager_grads, _ = eager_batch(
        lambda x, t: nll(x, int(t.data)), params, (X, labels)
    )
    close(loss, eager_loss)
    close(grads, eager_grads)
    assert tape.traces == 3


def test_examples_group_by_every_static_argument_in_order_of_first_appearance():
    weights = [Value(0.5 * i - 1.0) for i in range(6)]

    def fn(x, pair, k):  # a static vector and a static number, both used as indices
        return weights[pair[0]] * x[0] + weights[pair[1] + 3] * x[1] * (k + 1)

    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    pairs, ks = rng.integers(0, 3, size=(40, 2)), rng.integers(0, 2, 40)
    loss, grads, tape = tape_batch(fn, weights, (X, pairs, ks), static=[1, 2])
    eager_loss, eager_grads, _ = eager_batch(
        lambda x, pair, k: fn(x, [int(v.data) for v in pair], int(k.data)),
        weights, (X, pairs, ks))
    close(loss, eager_loss)
    close(grads, eager_grads)
    assert tape.traces == len({(*p, k) for p, k in zip(pairs.tolist(), ks.tolist())})
    assert all(type(v) is int for key in tape._programs for v in key[0] + (key[1],))


def test_a_softmax_shift_is_one_node_per_row_in_log2_levels():
    from autograd.tape_guard import DETACH, DETACHED_MAX
    from nn import functional as F

    weights = [Value(w) for w in np.random.default_rng(6).normal(size=10)]

    def fn(x):
        return F.log_softmax([w * x[0] for w in weights])[3]

    X = np.random.default_rng(7).integers(-2, 3, size=(50, 1)).astype(float)  # ties, zeros
    loss, grads, tape = tape_batch(fn, weights, (X,))
    eager_loss, eager_grads, _ = eager_batch(fn, weights, (X,))
    close(loss, eager_loss, rtol=1e-12)
    close(grads, eager_grads, rtol=1e-12)
    (program,) = tape._programs[()]
    rows = {op: [len(range(*g.rows.indices(program.n_slots))) for g in program.groups
                 if getattr(g, "op", None) is op] for op in (DETACH, DETACHED_MAX)}
    assert rows[DETACH] == [10]  # each score copied once, however often the shift is used
    assert rows[DETACHED_MAX] == [5, 2, 1, 1]  # pairwise: 9 maxes on 4 levels, not 9 levels


def test_an_index_from_a_value_is_followed():
    weights = [Value(1.0), Value(2.0)]
    X = np.array([[0.0], [1.0], [0.0], [1.5]])
    fn = lambda x: weights[int(x[0].data)] * 3.0  # noqa: E731  (int() is guarded)
    loss, grads, tape = tape_batch(fn, weights, (X,))
    eager_loss, eager_grads, _ = eager_batch(fn, weights, (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)
    assert tape.traces == 2  # one program per path


def test_has_aux_returns_the_outputs_beside_the_loss():
    model, params = make_mlp([2, 4, 1], seed=2)
    X, y = moons(10, seed=2)

    def fn(x, t):
        score = model(x)
        return (1 + -t * score).relu(), [score, score * 2.0]

    tape = trace(fn, params, (X[0], y[0]), has_aux=True)
    loss, aux = tape.backward(X, y)
    scores = [model([Value(a), Value(b)]).data for a, b in X]
    assert aux.shape == (10, 2)
    close(aux[:, 0], scores)
    close(aux[:, 1], 2 * np.array(scores))
    losses, aux2 = tape.forward(X, y)
    close(losses, [max(0.0, 1 - t * s) for t, s in zip(y, scores)])
    close(loss, np.mean(losses))


def test_forward_of_a_vector_valued_function():
    w = Value(2.0)
    tape = trace(lambda x: [x[0] * w, [x[1] + w, x[1] * x[0]]][0:1] + [x[1] + w],
                 [w], (np.zeros(2),))
    out = tape.forward(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert out.shape == (2, 2)
    assert out.tolist() == [[2.0, 4.0], [6.0, 6.0]]
    with pytest.raises(TypeError, match="one Value per example"):
        tape.backward(np.array([[1.0, 2.0]]))


@pytest.mark.slow
def test_long_sums_and_deep_chains_need_no_recursion():
    w = Value(1.0)

    def fn(x):
        total = sum((x[0] * (w * 0.001 * i) for i in range(3000)), Value(0.0))
        for _ in range(3000):
            total = total * 0.999 + 0.001
        return total

    X = np.array([[1.0], [2.0]])
    loss, grads, _ = tape_batch(fn, [w], (X,))
    eager_loss, eager_grads, _ = eager_batch(fn, [w], (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)


def test_large_batches_are_replayed_in_chunks(monkeypatch):
    model, params = make_mlp([2, 8, 1], seed=4)
    X, y = moons(50, seed=4)
    fn = lambda x, t: (1 + -t * model(x)).relu()  # noqa: E731
    whole_loss, whole_grads, _ = tape_batch(fn, params, (X, y))
    monkeypatch.setattr(tape_replay, "BUFFER_BYTES", 8 * 1000)  # a few columns per chunk
    loss, grads, _ = tape_batch(fn, params, (X, y))
    close(loss, whole_loss)
    close(grads, whole_grads)


# --- frozen control flow and changed models ---------------------------------------------


def test_a_branch_on_a_value_takes_each_example_down_its_own_path():
    w = Value(0.5)

    def fn(x):
        z = w * x[0]
        return z * z if z.data > 0 else -z  # Python control flow: guarded per example

    X = np.array([[1.0], [2.0], [-3.0], [4.0]])
    loss, grads, tape = tape_batch(fn, [w], (X,))
    eager_loss, eager_grads, _ = eager_batch(fn, [w], (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)
    assert tape.traces == 2
    w.data = -0.5  # a parameter changes: the same guards send examples the other way
    loss, grads, _ = tape_batch(fn, [w], (X,))
    eager_loss, eager_grads, _ = eager_batch(fn, [w], (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)


def test_the_issue_example_follows_both_branches():
    w = [Value(0.5), Value(-0.3)]

    def fn(x, y):
        z = w[0] * x[0] + w[1] * x[1]
        return ((z * z if z.data > 0 else z * 3.0) - y) ** 2

    rng = np.random.default_rng(0)
    tape = trace(fn, w, (np.array([1.0, 0.0]), 0.0))
    for size in (8, 64, 1000):
        X, y = rng.normal(size=(size, 2)), rng.normal(size=size)
        for p in w:
            p.grad = 0.0
        loss = tape.backward(X, y)
        grads = [p.grad for p in w]
        eager_loss, eager_grads, _ = eager_batch(fn, w, (X, y))
        close(loss, eager_loss)
        close(grads, eager_grads)


def test_a_hand_written_huber_loss_matches_eager():
    w = [Value(0.3), Value(-0.2)]
    delta = 0.5

    def huber(x, y):
        d = w[0] * x[0] + w[1] * x[1] - y
        if abs(d.data) <= delta:
            return 0.5 * d * d
        return delta * (abs(d) - 0.5 * delta)

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(500, 2)), rng.normal(size=500) * 2
    loss, grads, tape = tape_batch(huber, w, (X, y))
    eager_loss, eager_grads, _ = eager_batch(huber, w, (X, y))
    close(loss, eager_loss)
    close(grads, eager_grads)


def test_a_constant_taken_from_the_data_is_recomputed_per_example():
    w = Value(0.5)
    fn = lambda x: w * x[0].data + x[0] * x[0].data  # noqa: E731  (data: no gradient)
    X = np.array([[1.0], [2.0], [-3.0]])
    loss, grads, _ = tape_batch(fn, [w], (X,))
    eager_loss, eager_grads, _ = eager_batch(fn, [w], (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)


def test_a_constant_that_cancels_passes_the_check():
    weights = [Value(0.5), Value(-1.0), Value(2.0)]

    def log_sum_exp(x):
        scores = [w * x[0] for w in weights]
        top = max(s.data for s in scores)  # depends on the example: a guarded max
        return sum((s - top).exp() for s in scores).log() + top

    X = np.array([[1.0], [-2.0], [3.0], [0.5]])
    loss, grads, _ = tape_batch(log_sum_exp, weights, (X,))
    eager_loss, eager_grads, _ = eager_batch(log_sum_exp, weights, (X,))
    close(loss, eager_loss)
    close(grads, eager_grads)


@pytest.mark.parametrize("use, what", [
    (lambda v: math.log(v.data), "float"),
    (lambda v: float(v), "float"),
    (lambda v: float(v.data), "float"),
    (lambda v: round(v.data), "round"),
    (lambda v: f"{v.data:.3f}", "formatting"),
    (lambda v: {v.data: 1}, "hashing"),
])
def test_uses_the_tape_cannot_follow_are_refused_at_trace_time_naming_the_line(use, what):
    w = Value(0.5)

    def fn(x):
        z = w * x[0]
        use(z)
        return z

    with pytest.raises(TraceError, match=rf"{what}.*test_tape.py:\d+"):
        trace(fn, [w], (np.array([1.0]),))


def test_assigning_data_inside_fn_is_refused():
    w = Value(0.5)

    def fn(x):
        z = w * x[0]
        z.data = 1.0
        return z

    with pytest.raises(TraceError, match="assigns .data"):
        trace(fn, [w], (np.array([1.0]),))


def test_random_functions_are_refused_at_trace_time():
    w = Value(0.5)
    rnd = random.Random(0)
    with pytest.raises(TraceError, match="different graphs on two calls.*random"):
        trace(lambda x: w * x[0] * rnd.random(), [w], (np.array([1.0]),))


def test_a_value_from_outside_that_is_not_a_parameter_is_refused():
    w, hidden = Value(0.5), Value(3.0, label="hidden")
    with pytest.raises(TraceError, match="'hidden'.* not in params"):
        trace(lambda x: w * x[0] * hidden, [w], (np.array([1.0]),))


def test_new_parameters_make_the_tape_trace_again():
    layers = [Value(1.0)]

    def fn(x):
        return sum((w * x[0] for w in layers), Value(0.0))

    tape = trace(fn, lambda: layers, (np.array([1.0]),))
    X = np.array([[1.0], [2.0]])
    assert tape.backward(X) == 1.5
    layers.append(Value(10.0))  # the model grew
    assert tape.backward(X) == 16.5
    assert tape.traces == 2
    assert layers[1].grad == 1.5

    same_list = [Value(1.0)]
    tape = trace(lambda x: sum((w * x[0] for w in same_list), Value(0.0)), same_list,
                 (np.array([1.0]),))
    same_list.append(Value(2.0))  # changed in place: noticed as well
    assert tape.backward(X) == 4.5
    assert tape.traces == 2


def test_retrace_follows_a_change_the_parameters_do_not_show():
    w = Value(2.0)
    act = {"f": Value.relu}
    tape = trace(lambda x: act["f"](w * x[0]), [w], (np.array([1.0]),))
    act["f"] = Value.tanh
    tape.retrace()
    assert tape.forward(np.array([[1.0]]))[0] == pytest.approx(math.tanh(2.0))


# --- errors in replay -------------------------------------------------------------------


def test_domain_errors_name_the_example_and_change_nothing():
    w = Value(1.0)
    X = np.array([[2.0], [0.5], [-1.0]])
    tape = trace(lambda x: (w * x[0]).log(), [w], (X[0],), check=False)
    with pytest.raises(ValueError, match=r"example 2 of the batch: log: input must be positive"):
        tape.backward(X)
    assert w.grad == 0.0

    tape = trace(lambda x: 1.0 / (w * x[0] - 0.5), [w], (X[0],), check=False)
    with pytest.raises(ZeroDivisionError, match="example 1 of the batch.*division by zero"):
        tape.backward(X)

    tape = trace(lambda x: (w * x[0] * 1000.0).exp(), [w], (X[2],), check=False)
    with pytest.raises(OverflowError, match="example 0 of the batch: exp"):
        tape.forward(X)
    assert w.grad == 0.0


def test_an_infinite_derivative_is_an_error_only_where_a_gradient_flows():
    w = Value(1.0)
    X = np.array([[1.0], [2.0]])
    tape = trace(lambda x: (w * x[0] - 1.0).sqrt(), [w], (X[1],), check=False)
    with pytest.raises(ZeroDivisionError, match="example 0 of the batch: backward through 'sqrt'"):
        tape.backward(X)
    assert w.grad == 0.0

    fn = lambda x: ((w * x[0] - 1.0).sqrt() - 5.0).relu() + w * x[0]  # noqa: E731
    loss, grads, _ = tape_batch(fn, [w], (X,))  # relu stops the gradient: eager skips it
    eager_loss, eager_grads, _ = eager_batch(fn, [w], (X,))
    assert np.isfinite(grads).all()
    close(grads, eager_grads)
    close(loss, eager_loss)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda w: trace(lambda x: w * x[0], [w], np.zeros(1)), TypeError, "must be a tuple"),
        (lambda w: trace(lambda x: w * x[0], [1.0], (np.zeros(1),)), TypeError, "not a Value"),
        (lambda w: trace(lambda x: w * x[0], [w * 2], (np.zeros(1),)), TypeError, "leaves"),
        (lambda w: trace(lambda x: 3.0, [w], (np.zeros(1),)), TypeError, "Value"),
        (lambda w: trace(lambda x: w * x[0], [w], (["a"],)), TypeError, "numbers"),
        (lambda w: trace(lambda x: w * x[0], [w], (np.array([np.nan]),)), ValueError, "finite"),
        (lambda w: trace(lambda x: w * x[0], [w], (np.zeros(1),), static=[3]), ValueError,
         "positions"),
        (lambda w: trace(lambda x: w, [w], (np.zeros(1),), has_aux=True), TypeError, "aux"),
    ],
)
def test_bad_traces_are_refused_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call(Value(1.0))


def test_bad_batches_are_refused_clearly():
    w = Value(1.0)
    tape = trace(lambda x, t: w * x[0] * t, [w], (np.zeros(2), 1.0))
    with pytest.raises(ValueError, match=r"shape \(batch size, 2\)"):
        tape.backward(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="argument 1 has 2 examples"):
        tape.backward(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="example 1 of the batch has a non-finite"):
        tape.backward(np.array([[0.0, 0.0], [np.inf, 0.0]]), np.zeros(2))
    with pytest.raises(TypeError, match="2 argument"):
        tape.backward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="reduction"):
        tape.backward(np.zeros((3, 2)), np.zeros(3), reduction="max")
    assert w.grad == 0.0


# --- nn's training loop with one switch: fit(..., backend="tape") -----------------------


def _fit_both(make_model, X, y, **kwargs):
    import nn

    results = []
    for backend in ("eager", "tape"):
        model = make_model()
        optimizer = nn.optim.SGD(model.parameters(), lr=0.3)
        trainer = nn.Trainer(model, kwargs.pop("loss", None) or kwargs["loss_fn"], optimizer,
                             penalty=kwargs.get("penalty"), backend=backend, quiet=True)
        history = trainer.fit(X, y, epochs=3, batch_size=kwargs.get("batch_size"), seed=0,
                              validation_data=(X, y))
        results.append((history, [p.data for p in model.parameters()], trainer.predict(X)))
    return results


def test_fit_with_the_tape_backend_trains_like_eager():
    import nn

    X, y = moons(40, seed=5)

    def make():
        return nn.MLP(2, [8, 8, 1], seed=0)

    (eager, eager_params, eager_pred), (tape, params, pred) = _fit_both(
        make, X, y, loss_fn="hinge", penalty=lambda m: nn.l2_penalty(m.parameters(), 1e-3),
        batch_size=16)
    assert eager.keys() == tape.keys()
    for key in eager:
        close(tape[key], eager[key])
    close(params, eager_params)
    close(pred, eager_pred)


def test_fit_with_the_tape_backend_handles_class_indices_and_vector_targets():
    import nn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    classes = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)  # 0, 1 or 2: static in the tape
    (eager, eager_params, _), (tape, params, _) = _fit_both(
        lambda: nn.MLP(3, [6, 3], seed=1), X, classes, loss_fn="cross_entropy", batch_size=8)
    for key in eager:
        close(tape[key], eager[key])
    close(params, eager_params)

    targets = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]  # floats: inputs of the tape
    (eager, eager_params, eager_pred), (tape, params, pred) = _fit_both(
        lambda: nn.MLP(3, [6, 2], activation="tanh", seed=2), X, targets, loss_fn="mse")
    close(tape["loss"], eager["loss"])
    close(params, eager_params)
    assert pred.shape == (30, 2)
    close(pred, eager_pred)


def test_the_tape_backend_refuses_what_it_cannot_replay():
    import nn

    X, y = moons(20, seed=6)
    dropout = nn.Sequential(nn.Layer(2, 8), nn.Dropout(0.5), nn.Layer(8, 1, "linear"))
    with pytest.raises(TraceError, match="random numbers.*dropout"):
        nn.fit(dropout, X, y[:, None], loss="hinge", epochs=1, backend="tape", quiet=True)
    weighted = nn.MLP(2, [4, 2], seed=0)
    labels = (y > 0).astype(int)
    loss = lambda out, t: nn.losses.cross_entropy(out, t, weight=[1.0, 3.0])  # noqa: E731
    with pytest.raises(TraceError, match="loss_fn.targets = 'class_index'"):  # not marked
        nn.fit(weighted, X, labels, loss=loss, epochs=1, backend="tape", quiet=True)
    loss.targets = "class_index"
    with pytest.raises(ValueError, match="not the mean of its examples' losses"):
        nn.fit(weighted, X, labels, loss=loss, epochs=1, backend="tape", quiet=True)
    batchnorm = nn.Sequential(nn.Layer(2, 4, "linear"), nn.BatchNorm(4), nn.Layer(4, 1, "linear"))
    with pytest.raises(ValueError, match="BatchNorm.*training mode.*cannot run.*backend='eager'"):
        nn.fit(batchnorm, X, y[:, None], loss="hinge", epochs=1, backend="tape", quiet=True)


def test_whole_number_regression_targets_are_inputs_not_static():
    import nn
    from nn.tape_backend import TapeBackend

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    counts = rng.integers(0, 500, size=200)  # integers, but regression targets
    backend = TapeBackend()
    model = nn.MLP(2, [4, 1], seed=0)
    nn.fit(model, X, counts, loss="mse", epochs=1, backend=backend, quiet=True,
           metric=None)
    (tape,) = [entry[1] for entry in backend._tapes.values()]
    assert tape.traces == 1


def fit_changed_midway(backend, X, y, change, epochs=1):
    """An MLP trained one epoch, then changed in place by `change(model, trainer)`, then
    trained `epochs` more: its parameters' numbers and the losses of the epochs."""
    import nn

    model = nn.MLP(2, [4, 1], seed=0)
    trainer = nn.Trainer(model, "hinge", nn.optim.SGD(model.parameters(), lr=0.1),
                         backend=backend, quiet=True, metric=None)
    trainer.fit(X, y, epochs=1)
    change(model, trainer)
    trainer.fit(X, y, epochs=epochs)
    return [p.data for p in model.parameters()], trainer.history["loss"]


def test_an_activation_swapped_in_place_is_traced_again():
    from nn import functional as F

    X, y = moons(30, seed=7)

    def swap(model, trainer):
        model.layers[0].neurons[0]._act = F.activation("tanh")  # same parameters

    close(fit_changed_midway("tape", X, y, swap)[0], fit_changed_midway("eager", X, y, swap)[0])


def test_parameters_replaced_in_place_are_read_by_fit_on_the_tape():
    import nn
    from autograd import Parameter

    X, y = moons(30, seed=8)

    def replace(model, trainer):
        neuron = model.layers[0].neurons[1]
        neuron.weight[0] = Parameter(2.5)  # the same list, a new Value in it
        neuron.bias = Parameter(-0.5)
        trainer.optimizer = nn.optim.SGD(model.parameters(), lr=0.1)

    tape = fit_changed_midway("tape", X, y, replace, epochs=2)
    eager = fit_changed_midway("eager", X, y, replace, epochs=2)
    close(tape[0], eager[0])
    close(tape[1], eager[1])


def test_an_empty_or_complex_batch_is_refused_clearly():
    w = Value(1.0)
    tape = trace(lambda x: w * x[0], [w], (np.zeros(2),))
    with pytest.raises(ValueError, match="the batch is empty"):
        tape.backward(np.zeros((0, 2)))
    with pytest.raises(TypeError, match="complex"):
        tape.backward(np.ones((3, 2)) * (1 + 2j))
    with pytest.raises(TypeError, match="numbers"):
        trace(lambda x: w * x[0], [w], (np.ones(2) * 1j,))


def test_a_failed_retrace_leaves_the_tape_as_it_was():
    w = Value(2.0)
    params = [w]
    tape = trace(lambda x: sum((p * x[0] for p in params), Value(0.0)), lambda: params,
                 (np.array([1.0]),))
    params.append(1.5)  # not a Value: the retrace fails
    with pytest.raises(TypeError, match=r"params\[1\] is float"):
        tape.backward(np.array([[1.0]]))
    params.pop()
    assert tape.backward(np.array([[3.0]])) == 6.0
    assert tape.traces == 1


def test_sums_add_up_in_the_eager_order():
    w = Value(1.0)

    def fn(x):
        big = x[0] * w * 1e17
        nested = 1.0 + (big + -big)  # 1.0 in this order, 0.0 added left to right
        chain = sum([big, 1.0, -big, 1.0], Value(0.0))  # left-deep: 1.0, the 1e17 eats a 1
        return nested * 10.0 + chain

    X = np.array([[1.0], [3.0]])
    assert list(trace(fn, [w], (X[0],)).forward(X)) == [
        eager_batch(fn, [w], (X[i : i + 1],))[2][0] for i in range(2)
    ]


@pytest.mark.parametrize("shuffle", [False, True])
def test_wide_layers_as_matrix_products_match_eager_to_1e_9(shuffle):
    # Layers run as W @ X + b, which BLAS adds in its own order: the stated tolerance
    # against the eager engine's left-to-right sums is 1e-9 relative.
    model, params = make_mlp([2, 32, 32, 1], seed=5)
    if shuffle:  # parameters in no particular order: gathered and scattered by index
        params = [params[i] for i in np.random.default_rng(0).permutation(len(params))]
    X, y = moons(50, seed=5)

    def fn(x, t):
        score = model(x)
        return (1 + -t * score).relu() + 0.1 * score * score

    loss, grads, tape = tape_batch(fn, params, (X, y))
    eager_loss, eager_grads, eager_outputs = eager_batch(fn, params, (X, y))
    close(loss, eager_loss, rtol=1e-9)
    close(grads, eager_grads, rtol=1e-9)
    close(tape.forward(X, y), eager_outputs, rtol=1e-9)
