"""backward() and grad(): the chain rule's bookkeeping, at any depth."""

import math

import pytest

from autograd import Value, grad, topological_order


def test_topological_order_puts_inputs_first_and_each_node_once():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e and len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[parent] < position[node]


def test_shared_node_gradients_accumulate():
    a = Value(3.0)
    b = a * a + a  # a feeds three edges
    b.backward()
    assert a.grad == 2 * 3.0 + 1


def test_leaves_accumulate_and_computed_nodes_hold_this_calls_gradient():
    w = Value(2.0, label="w")
    hidden = w * 3.0
    out = hidden * hidden
    out.backward()
    assert hidden.grad == 2 * 6.0 and w.grad == 2 * 6.0 * 3.0
    out.backward()
    assert hidden.grad == 2 * 6.0  # exact again, not doubled
    assert w.grad == 2 * (2 * 6.0 * 3.0)  # the leaf accumulated, as in PyTorch
    w.zero_grad()
    out.backward()
    assert w.grad == 2 * 6.0 * 3.0


def test_two_minibatches_add_up():
    w = Value(0.5)
    losses = [(w * x - y) ** 2 for x, y in [(1.0, 2.0), (3.0, -1.0)]]
    for loss in losses:
        loss.backward()
    expected = sum(2 * (0.5 * x - y) * x for x, y in [(1.0, 2.0), (3.0, -1.0)])
    assert w.grad == pytest.approx(expected)


def test_backward_on_a_leaf_and_with_a_seed():
    a = Value(1.0)
    a.backward()
    assert a.grad == 1.0
    b = Value(2.0)
    (b * 5).backward(gradient=0.5)
    assert b.grad == 2.5


def test_grad_leaves_every_grad_untouched():
    x, y = Value(2.0), Value(-1.0)
    z = x * y + x.sin()
    gx, gy = grad(z, [x, y])
    assert (gx, gy) == (pytest.approx(-1 + math.cos(2.0)), pytest.approx(2.0))
    assert x.grad == y.grad == z.grad == 0.0
    unused = Value(4.0)
    assert grad(z, [unused]) == (0.0,)
    (g,) = grad(z, x)
    assert g == pytest.approx(gx)


def test_grad_with_create_graph_gives_differentiable_values():
    x = Value(0.5)
    y = x**3 * x.sin()
    (dy,) = grad(y, [x], create_graph=True)
    assert isinstance(dy, Value)
    assert dy.data == pytest.approx(3 * 0.5**2 * math.sin(0.5) + 0.5**3 * math.cos(0.5))
    (d2y,) = grad(dy, [x])
    expected = 6 * 0.5 * math.sin(0.5) + 6 * 0.5**2 * math.cos(0.5) - 0.5**3 * math.sin(0.5)
    assert d2y == pytest.approx(expected)
    (d3y,) = grad(grad(dy, [x], create_graph=True)[0], [x])
    expected3 = (6 * math.sin(0.5) + 18 * 0.5 * math.cos(0.5) - 9 * 0.5**2 * math.sin(0.5)
                 - 0.5**3 * math.cos(0.5))
    assert d3y == pytest.approx(expected3)
    assert x.grad == 0.0


def test_gradient_penalty_trains_through_a_gradient():
    """A loss made of a gradient back-propagates into the parameters (create_graph's use)."""
    w = Value(1.5)
    x = Value(0.3)
    (dx,) = grad((w * x).tanh(), [x], create_graph=True)
    penalty = dx * dx
    penalty.backward()
    # d/dw of (w * (1 - tanh(wx)^2))^2, worked out by hand
    t = math.tanh(1.5 * 0.3)
    s = 1 - t * t
    d_dx = 1.5 * s
    dd_dw = s + 1.5 * (-2 * t * s * 0.3)
    assert w.grad == pytest.approx(2 * d_dx * dd_dw)


def test_grad_refuses_non_values():
    x = Value(1.0)
    with pytest.raises(TypeError, match="output"):
        grad(1.0, [x])
    with pytest.raises(TypeError, match=r"inputs\[1\]"):
        grad(x * 2, [x, 3.0])


@pytest.mark.slow
def test_a_million_node_chain_back_propagates():
    x = Value(0.5, label="x")
    y = x
    for _ in range(1_000_000):
        y = y + x  # one node per step, all sharing x
    y.backward()
    assert y.data == pytest.approx(0.5 * 1_000_001)
    assert x.grad == 1_000_001.0


@pytest.mark.slow
def test_deep_chains_work_with_grad_and_create_graph():
    x = Value(0.3)
    y = x
    for _ in range(100_001):
        y = -y
    (g,) = grad(y, [x])
    assert g == -1.0  # (-1) ** 100001
    z = y * y  # d2z/dx2 = 2 through a 100,000-deep chain, recorded and walked iteratively
    (dz,) = grad(z, [x], create_graph=True)
    (d2z,) = grad(dz, [x])
    assert dz.data == pytest.approx(0.6) and d2z == 2.0


def test_topological_order_of_several_roots_lists_shared_nodes_once():
    a, b = Value(1.0), Value(2.0)
    shared = a * b
    first, second = shared + a, shared.tanh()
    order = topological_order([first, second])
    assert len(order) == len(set(order)) == 5
    assert order[:4] == topological_order(first)[:4] and order[-1] is second
    position = {node: i for i, node in enumerate(order)}
    assert all(position[p] < position[n] for n in order for p in n.parents)
    assert topological_order([first]) == topological_order(first)
