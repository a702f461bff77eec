"""Back-propagation: order the graph, then apply the chain rule from the output down.

Both walks are loops over an explicit order (no recursion), so graphs of millions of
nodes work. The local derivatives come from the op table (`autograd.ops`).
"""

from __future__ import annotations

from . import ops
from .grad_mode import enable_grad
from .value import VALUE_MATH, Value

_FLOAT = ops.FLOAT_MATH


def topological_order(roots) -> list:
    """Every node the root depends on, inputs before the nodes computed from them, each once.

    `roots` is one Value (it comes last) or a sequence of Values (one order for them all).
    """
    roots = [roots] if isinstance(roots, Value) else list(roots)
    order = []
    expanded = set()
    stack = [(root, False) for root in reversed(roots)]
    push, pop = stack.append, stack.pop
    while stack:
        node, children_done = pop()
        if children_done:
            order.append(node)
            continue
        if node in expanded:
            continue
        expanded.add(node)
        push((node, True))
        op = node._op
        if op is not None:  # push the second input first so the first is ordered first
            if op.arity == 2 and node._b not in expanded:
                push((node._b, False))
            if node._a not in expanded:
                push((node._a, False))
    return order


def _derivative_error(node, error):
    op, x = node._op, node._a.data
    if op.arity == 2:
        at = f"x={x!r}, y={node._b.data!r}"
    else:
        at = f"x={x!r}" + (f", {op.param}={node._b!r}" if op.param else "")
    return type(error)(
        f"backward through {op.name!r} at {at}: the local derivative "
        f"({', '.join(op.formulas)}) is not finite there ({error})"
    )


def backward(root: Value, gradient: float = 1.0) -> None:
    """Set every node's ``grad`` to d(root)/d(node) by the chain rule.

    Computed nodes get this call's gradient (they are reset first); leaves accumulate
    into ``grad`` as PyTorch leaves do, so ``zero_grad()`` between steps is the user's call.
    If a derivative is not finite, the error names the op and every ``grad`` is left as it was.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward() needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    saved = [node.grad for node in order]
    try:
        _chain_rule(order, root, float(gradient))
    except (ArithmeticError, ValueError):
        for node, g in zip(order, saved):
            node.grad = g
        raise


def _chain_rule(order, root, gradient):
    for node in order:
        if node._op is not None:
            node.grad = 0.0
    root.grad += gradient
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        g = node.grad
        if g == 0.0:
            continue  # nothing flows through this node
        if g - g != 0.0:  # inf or nan
            raise _overflow_error(node)
        a, b, out = node._a, node._b, node.data
        da = op.derivatives
        try:
            if op.arity == 2:
                x, y = a.data, b.data
                a.grad += g * da[0](_FLOAT, x, y, out)
                b.grad += g * da[1](_FLOAT, x, y, out)
            else:
                a.grad += g * da[0](_FLOAT, a.data, b, out)
        except (ArithmeticError, ValueError) as error:
            raise _derivative_error(node, error) from error
    for node in order:
        if node._op is None and node.grad - node.grad != 0.0:
            raise _overflow_error(node)


def _overflow_error(node):
    return OverflowError(
        f"backward: the gradient reaching {node!r} overflowed the float range; "
        "the graph's values or derivatives are too large, scale them down"
    )


def _as_inputs(inputs):
    if isinstance(inputs, Value):
        return [inputs]
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad(): inputs[{i}] is {type(x).__name__}, not a Value")
    return inputs


def grad(output: Value, inputs, create_graph: bool = False) -> tuple:
    """d(output)/d(input) for each input, leaving every ``.grad`` untouched.

    With ``create_graph=True`` the gradients are Values with a graph of their own, so
    they can be differentiated again (second derivatives, Hessians). An input that
    `output` does not depend on gets 0.0. Returns a tuple, like ``torch.autograd.grad``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad(): output must be a Value, got {type(output).__name__}")
    inputs = _as_inputs(inputs)
    if create_graph:
        with enable_grad():
            grads = _gradients(output, Value(1.0), VALUE_MATH, lambda v: v)
            return tuple(grads[x] if x in grads else Value(0.0) for x in inputs)
    grads = _gradients(output, 1.0, _FLOAT, lambda v: v.data)
    return tuple(grads.get(x, 0.0) for x in inputs)


def _gradients(root, seed, math_namespace, number):
    """{node: d(root)/d(node)} with the derivatives evaluated on ``number(node)``."""
    grads = {root: seed}
    for node in reversed(topological_order(root)):
        op = node._op
        g = grads.get(node)
        if op is None or g is None:
            continue
        parents = node.parents
        x = number(node._a)
        y = number(node._b) if op.arity == 2 else node._b
        out = number(node)
        try:
            for parent, d in zip(parents, op.derivatives):
                term = g * d(math_namespace, x, y, out)
                grads[parent] = grads[parent] + term if parent in grads else term
        except (ZeroDivisionError, OverflowError, ValueError) as error:
            raise _derivative_error(node, error) from error
    return grads
