"""backward()'s ordinary-case path (`backprop._backward_in_place`) against the careful one.

backward() sums straight into ``.grad`` and applies + - * from what the op table says of
their rules; anything out of the ordinary is undone and goes through `_chain_rule`, which
grad() always uses. So on any graph, backward() must give exactly grad()'s numbers (plus
each leaf's earlier gradient), and where it raises, leave every ``.grad`` as it was.
"""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, backprop, grad, no_grad, ops, topological_order
from autograd.grad_mode import _threads_off

UNARY = ["tanh", "exp", "relu", "sigmoid", "sin", "neg", "abs", "square", "log", "sqrt"]
BINARY = ["+", "-", "*", "/", "**"]


def apply(name, a, b):
    if name == "+":
        return a + b
    if name == "-":
        return a - b
    if name == "*":
        return a * b
    if name == "/":
        return a / b
    if name == "**":
        return abs(a) ** b if abs(a).data > 0 else a
    if name == "neg":
        return -a
    if name == "abs":
        return abs(a)
    if name == "square":
        return a**2
    return getattr(a, name)()


@st.composite
def graphs(draw):
    """A random graph on 3 leaves: each step combines earlier nodes (so nodes are shared),
    with numbers that reach every branch of the fast path, zeros and huge values too."""
    numbers = st.one_of(st.floats(-3, 3), st.sampled_from([0.0, 1e200, -1e-200, 2.0]))
    leaves = [Value(draw(numbers), label=f"x{i}") for i in range(3)]
    earlier = [draw(st.sampled_from([0.0, 0.0, 1.5, -1e-3])) for _ in leaves]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 12))):
        a = nodes[draw(st.integers(0, len(nodes) - 1))]
        b = nodes[draw(st.integers(0, len(nodes) - 1))]
        name = draw(st.sampled_from(BINARY + UNARY))
        try:
            nodes.append(apply(name, a, b))
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
    constant = draw(st.sampled_from([1.0, 0.0, 3.0, 1e300]))
    try:
        root = nodes[-1] * constant + nodes[len(nodes) // 2]
    except OverflowError:
        root = nodes[-1]
    return leaves, earlier, root


@settings(max_examples=400, deadline=None)
@given(graphs(), st.sampled_from([1.0, -2.5, 1e-300, 1e10]))
def test_backward_gives_the_careful_numbers_or_raises_and_changes_nothing(case, seed):
    leaves, earlier, root = case
    order = topological_order(root)
    for leaf, g in zip(leaves, earlier):
        leaf.grad = g
    for node in order:
        if node.grad != 0.0 and node._op is not None:
            node.grad = 7.0  # a stale gradient from an earlier call: backward replaces it
    before = [node.grad for node in order]
    try:
        expected = backprop._chain_rule(order, root, seed, ops.FLOAT_MATH, lambda v: v.data)
    except (ValueError, ZeroDivisionError, OverflowError) as careful:
        with pytest.raises(type(careful)):
            root.backward(seed)
        assert [node.grad for node in order] == before
        return
    try:
        root.backward(seed)
    except OverflowError:  # a leaf's earlier gradient plus this call's overflows
        assert [node.grad for node in order] == before
        return
    for node, old in zip(order, before):
        g = expected.get(node, 0.0)
        assert node.grad == (g + old if node._op is None else g), node


def test_backward_and_grad_agree_on_a_shared_graph_with_every_kind_of_op():
    x, y = Value(0.7), Value(-1.3)
    h = x * y + (x - y) * x  # products and sums sharing x
    out = (h.tanh() * h + (-h).exp() / y + abs(y) ** 1.5).sigmoid() * 3.0 - x.relu()
    out.backward()
    assert (x.grad, y.grad) == grad(out, [x, y])


def test_an_interrupt_in_the_middle_of_backward_leaves_every_grad_as_it_was(monkeypatch):
    x, w = Value(0.5), Value(2.0)
    w.grad = 1.25
    out = (x * w).tanh() * x + w
    plain = backprop._plain_terms

    def interrupted(node, g):
        if node._op is ops.TANH:
            raise KeyboardInterrupt
        return plain(node, g)

    monkeypatch.setattr(backprop, "_plain_terms", interrupted)
    with pytest.raises(KeyboardInterrupt):
        out.backward()
    assert [v.grad for v in topological_order(out)] == [0.0, 1.25, 0.0, 0.0, 0.0, 0.0]


def test_the_shortcuts_are_read_off_the_op_table():
    assert [k for k, op in ops.OPS.items() if op.is_product] == ["mul"]
    assert {k: op.constants for k, op in ops.OPS.items() if op.constants} == {
        "add": (1.0, 1.0), "sub": (1.0, -1.0), "neg": (-1.0,)}
    # a rule that computes with the other input is called, not taken for the input itself
    scaled = ops.Op("scaled_mul", "*2", ("x", "y"), lambda x, y: 2 * x * y,
                    (lambda y: 2.0 * y, lambda x: 2.0 * x))
    assert not scaled.is_product and scaled.constants is None


def test_recording_off_in_one_thread_leaves_the_others_recording():
    inside, release = threading.Event(), threading.Event()
    results = {}

    def without_grad():
        with no_grad():
            inside.set()
            release.wait(10)
            results["off"] = Value(2.0) * Value(3.0)

    thread = threading.Thread(target=without_grad)
    thread.start()
    inside.wait(10)
    assert _threads_off.count == 1
    a = Value(2.0)
    recorded = a * 3.0  # this thread still records while the other has it off
    release.set()
    thread.join(10)
    assert recorded.op == "*" and recorded.parents[0] is a
    assert results["off"].op == "" and _threads_off.count == 0


@pytest.mark.parametrize("build", [
    lambda x, y: x * y + x,  # the product's gradient to x overflows: 1e10 x 1e300
    lambda x, y: (x + x - 1.0) * y,  # the inf then passes through sums to the leaf
])
def test_a_gradient_that_overflows_in_sums_and_products_raises_and_changes_nothing(build):
    x, y = Value(3.0), Value(1e300)
    x.grad = 0.5
    out = build(x, y)
    with pytest.raises(OverflowError, match="overflows"):
        out.backward(1e10)
    assert (x.grad, y.grad) == (0.5, 0.0)
    assert all(v.grad == 0.0 for v in topological_order(out) if v.parents)
