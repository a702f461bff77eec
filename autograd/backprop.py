"""Back-propagation: order the graph, then apply the chain rule from the output down.

Both walks are loops over an explicit order (no recursion), so graphs of millions of
nodes work. The local derivatives come from the op table (`autograd.ops`). One loop,
`_chain_rule`, serves `backward` (which stores into ``.grad``) and `grad` (which returns
the gradients, as numbers or as Values with a graph of their own).

The rules both follow:

- **Zero stops.** Where the gradient reaching a node is exactly 0, a local derivative that
  is infinite or undefined there counts as contributing 0: ``relu(sqrt(x) - 1)`` and
  ``sqrt(x) * 0`` at x = 0 have gradient 0 (PyTorch gives nan). Finite local derivatives
  are applied as usual, so with ``create_graph=True`` second derivatives stay exact.
- **Never inf or nan.** Where a non-zero gradient meets an infinite or undefined local
  derivative, or a gradient overflows, the call raises (ZeroDivisionError, OverflowError or
  ValueError) naming the op and the point, and changes nothing: no ``.grad`` is touched.
  A local derivative outside the float range is no error by itself (1/x at a subnormal x,
  times a gradient of 1e-6): only what the chain rule stores must be a float, so such a
  node's products are computed with a wider exponent range (`ops.Wide`). With
  ``create_graph=True`` the derivative is itself a node, and must be a float.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from . import ops
from .grad_mode import enable_grad
from .value import NOT_RECORDED, VALUE_MATH, Number, Value


def topological_order(roots: Value | Iterable[Value]) -> list[Value]:
    """Every node the roots depend on, inputs before the nodes computed from them, each once.

    `roots` is one Value (it comes last) or a sequence of Values (one order for them all).
    """
    roots = [roots] if isinstance(roots, Value) else list(roots)
    order: list[Value] = []
    expanded: set[Value] = set()
    stack: list[Any] = roots[::-1]
    while stack:
        node = stack.pop()
        if node is _INPUTS_DONE:  # the node below the marker has all its inputs ordered
            order.append(stack.pop())
        elif node not in expanded:
            expanded.add(node)
            if node._op is None:
                order.append(node)
                continue
            stack.append(node)
            stack.append(_INPUTS_DONE)
            b = node._b  # pushed first, so that the first input is ordered first
            if b is not None and b not in expanded:
                stack.append(b)
            if node._a not in expanded:
                stack.append(node._a)
    return order


_INPUTS_DONE = object()  # a marker on topological_order's stack (cheaper than a pair per node)


def backward(root: Value, gradient: Value | Number = 1.0) -> None:
    """Set every node's ``grad`` to d(root)/d(node) by the chain rule.

    Computed nodes get this call's gradient; leaves accumulate into ``grad`` as PyTorch
    leaves do, so ``zero_grad()`` between steps is the user's call. See the module's
    docstring for what happens at zeros and infinities.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward() needs a Value, got {type(root).__name__}")
    if root._a is NOT_RECORDED:
        raise RuntimeError(
            f"backward() on {root!r}, which was computed inside no_grad(): it has no graph, "
            "so no gradient can reach the Values it came from. Compute it outside no_grad() "
            "(or inside enable_grad()) to back-propagate through it"
        )
    seed = _seed(gradient)
    order = topological_order(root)
    earlier = [node.grad for node in order]  # to put back if the careful way is needed
    done = False
    try:
        done = _backward_in_place(order, root, seed, earlier)
    finally:
        if not done:  # out of the ordinary (or interrupted, Ctrl-C): put every grad back
            for node, g in zip(order, earlier):
                node.grad = g
    if done:
        return
    grads = _chain_rule(order, root, seed, ops.FLOAT_MATH, lambda v: v.data)
    results = []
    for node in order:
        g = grads.get(node, 0.0)
        if node._op is None:
            g += node.grad  # leaves accumulate
            if not math.isfinite(g):
                raise OverflowError(
                    f"backward: adding this call's gradient to the earlier one of {node!r} "
                    "overflows a float; call zero_grad() between backward calls, or scale down"
                )
        results.append(g)
    for node, g in zip(order, results):
        node.grad = g


def _backward_in_place(order: list[Value], root: Value, seed: float, earlier: list[float]) -> bool:
    """The chain rule for the ordinary case, summing straight into each node's ``grad``.

    It gives `_chain_rule`'s numbers, in the same order of additions, but skips its checks:
    it returns False (leaving the grads half-written, for the caller to restore) as soon as
    a node needs them, a local derivative that is not a plain float, and, at the end, if
    any gradient is not finite. A gradient that is not finite reaches some leaf: adding
    it, or multiplying it by a finite derivative, never gives a finite number.
    """
    for node in order:
        node.grad = 0.0
    root.grad = seed
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        g = node.grad
        if g == 0.0:
            continue  # zero stops
        a = node._a
        if op.is_product:  # x * y: read off the table once (ops.Op.is_product)
            b: Value = node._b  # type: ignore[assignment]  # two inputs
            a.grad += g * b.data
            b.grad += g * a.data
        elif op.constants is not None:  # +, -, neg
            a.grad += g * op.constants[0]
            if node._b is not None:
                node._b.grad += g * op.constants[1]
        else:
            terms = _plain_terms(node, g)
            if terms is None:
                return False
            a.grad += terms[0]
            if node._b is not None:
                node._b.grad += terms[1]
    leaves_sum = 0.0
    for node, g in zip(order, earlier):
        if node._op is None:
            node.grad += g
            leaves_sum += node.grad
    return math.isfinite(leaves_sum)  # (a sum of finite numbers may overflow: then too)


def _plain_terms(node: Value, g: float) -> list[float] | None:
    """g times each local derivative of `node`, where the rules give plain floats and the
    products keep all their digits; None where `_chain_rule` must look closer."""
    assert node._op is not None
    b = node._b
    try:
        derivatives = node._op.local_derivatives(
            ops.FLOAT_MATH, node._a.data, None if b is None else b.data, node.data, node._param
        )
    except (ArithmeticError, ValueError):
        return None
    terms = [g * d for d in derivatives]
    if abs(g) <= 1.0 and math.isfinite(sum(terms)) or _representable(terms, derivatives, g):
        return terms
    return None


def _seed(gradient: object) -> float:
    if isinstance(gradient, Value):
        gradient = gradient.data
    if isinstance(gradient, bool) or not isinstance(gradient, numbers.Real):
        raise TypeError(
            f"backward(gradient) takes a real number, got {type(gradient).__name__}: "
            f"{gradient!r}"
        )
    seed = float(gradient)
    if not math.isfinite(seed):
        raise ValueError(f"backward(gradient) takes a finite number, got {seed!r}")
    return seed


def grad(
    output: Value, inputs: Value | Iterable[Value], create_graph: bool = False
) -> tuple[Any, ...]:
    """d(output)/d(input) for each input, leaving every ``.grad`` untouched.

    With ``create_graph=True`` the gradients are Values with a graph of their own, so
    they can be differentiated again (second derivatives, Hessians). An input that
    `output` does not depend on gets 0.0. Returns a tuple, like ``torch.autograd.grad``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad(): output must be a Value, got {type(output).__name__}")
    wrt = _as_inputs(inputs)
    order = topological_order(output)
    if create_graph:
        with enable_grad():
            grads = _chain_rule(order, output, Value(1.0), VALUE_MATH, lambda v: v)
        return tuple(grads[x] if x in grads else Value(0.0) for x in wrt)
    grads = _chain_rule(order, output, 1.0, ops.FLOAT_MATH, lambda v: v.data)
    return tuple(grads.get(x, 0.0) for x in wrt)


def _as_inputs(inputs: Value | Iterable[Value]) -> list[Value]:
    if isinstance(inputs, Value):
        return [inputs]
    listed = list(inputs)
    for i, x in enumerate(listed):
        if not isinstance(x, Value):
            raise TypeError(f"grad(): inputs[{i}] is {type(x).__name__}, not a Value")
    return listed


def _chain_rule(
    order: list[Value], root: Value, seed: Any, m: ops.MathNamespace,
    number: Callable[[Value], Any],
) -> dict[Value, Any]:
    """{node: d(root)/d(node)} for the nodes a non-zero gradient reaches.

    `m` and `number` say what the derivatives are evaluated on: floats (`number` gives a
    node's data) or Values (`number` gives the node itself, and the result is a graph).
    """
    on_floats = m is ops.FLOAT_MATH
    grads: dict[Value, Any] = {root: seed}
    for node in reversed(order):
        op = node._op
        g = grads.get(node)
        if op is None or g is None:
            continue
        g_number = g if on_floats else g.data
        if g_number == 0.0 and on_floats:
            continue  # zero stops: nothing to add, nothing to evaluate
        a, b = node._a, node._b
        y = None if b is None else number(b)
        terms: list[Any] | None
        try:
            derivatives = op.local_derivatives(m, number(a), y, number(node), node._param)
            terms = [g * d for d in derivatives]
        except (ArithmeticError, ValueError) as error:
            if g_number == 0.0:
                continue  # zero stops, also in a graph: 0 times undefined counts as 0
            terms = _wide_terms(node, g) if on_floats else None
            if terms is None:
                raise _derivative_error(node, f"is not finite there ({error})", error) from None
        else:
            # the plain case, checked cheaply first: |g| <= 1 and every product finite
            plain = abs(g_number) <= 1.0 and math.isfinite(sum(terms)) if on_floats else True
            if not plain and not _representable(terms, derivatives, g):
                terms = _wide_terms(node, g)
                if terms is None:
                    reason = f"times the gradient {g!r} that reaches it overflows a float"
                    raise _derivative_error(node, reason, OverflowError())
        for parent, term in zip((a, b), terms):  # b is None for one input: zip stops first
            grads[parent] = grads[parent] + term if parent in grads else term
    if on_floats:
        for node, g in grads.items():
            if not math.isfinite(g):
                raise OverflowError(
                    f"backward: the gradient reaching {node!r} overflows a float; the graph's "
                    "values or derivatives are too large, scale them down"
                )
    return grads


def _representable(terms: list[float], derivatives: tuple[float, ...], g: float) -> bool:
    """Are the products finite floats with all their digits? Not where one overflows, nor
    where a gradient above 1 meets a derivative that underflowed to a subnormal (a few
    digits left) or to 0: -out/y is 2.5e-324 at x = 2.7e84, y = 1.1e204 and the gradient
    reaching it may be 1e238. A 0 is taken as exact (relu's) unless the gradient is above
    1e6: below that, what an underflow to 0 can lose is under 1e6 x 2.2e-308."""
    if not all(map(math.isfinite, terms)):
        return False
    if abs(g) <= 1.0:
        return True
    return all(abs(d) >= _SMALLEST_NORMAL or (d == 0.0 and abs(g) < 1e6) for d in derivatives)


_SMALLEST_NORMAL = 2.2250738585072014e-308


def _wide_terms(node: Value, g: float) -> list[float] | None:
    """The gradient times each local derivative, where a derivative (or a step of its rule)
    is beyond the float range, or so small that it has lost digits (subnormal): evaluated
    again on `ops.Wide` numbers, rounded once at the end. None where a product is still
    not a finite float, or the rule is undefined there."""
    assert node._op is not None
    y = ops.Wide(node._b.data) if node._b is not None else None
    try:
        derivatives = node._op.local_derivatives(
            ops.WIDE_MATH, ops.Wide(node._a.data), y, ops.Wide(node.data), node._param
        )
        terms = [float(ops.Wide(g) * d) for d in derivatives]
    except (ArithmeticError, ValueError):
        return None
    return terms if all(map(math.isfinite, terms)) else None


def _derivative_error(node: Value, reason: str, error: Exception) -> Exception:
    op = node._op
    assert op is not None
    at = f"x={node._a.data!r}"
    if node._b is not None:
        at += f", y={node._b.data!r}"
    if op.param_name:
        at += f", {op.param_name}={node._param!r}"
    formulas = ", ".join(op.formulas(param=node._param))
    return type(error)(
        f"backward through {op.name!r} at {at}: the local derivative ({formulas}) {reason}"
    )
