"""A short name for every Value of a graph, so that diagrams speak in the graph's own terms.

A Value with a label is called by it. An unlabelled leaf is its number (the 2 in ``2*x``).
An unlabelled result is the expression that made it while that stays short (``x1·w1``,
``tanh(n)``), else a generated ``t1``, ``t2``, ... that the diagram also writes on the node.
Edge labels put these names into the op table's formulas: ``∂o/∂n = 1 - o² = 0.5``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

from autograd import Value, ops
from autograd.symbolic import Symbol, as_symbol

from .style import fmt

MAX_EXPRESSION = 16  # characters: a longer expression is named t1, t2, ...

_INFIX: dict[str, Callable[..., Symbol]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "pow_const": operator.pow, "neg": operator.neg,
}


def expression(node: Value, symbols: dict[Value, Symbol]) -> Symbol:
    """How `node` was computed, in its inputs' names: "x1·w1", "tanh(n)", "x²"."""
    op = node.grad_fn
    assert op is not None, "a leaf has no expression, only its name"
    args = [symbols[p] for p in node.parents]
    if op.param_name:
        assert node.param is not None  # an op with a parameter records it
        args.append(as_symbol(node.param))
    if op.key in _INFIX:
        return _INFIX[op.key](*args)
    if op is ops.ABS:
        return Symbol(f"|{args[0].text}|")
    inside = ", ".join(a.text for a in args)
    return Symbol(f"{op.method}({inside})")


def short_names(order: list[Value]) -> dict[Value, str]:
    """{Value: its name} for every Value in `order` (inputs before results).

    An input left out of `order` (a diagram drawing only the part nearest the output) is
    named t1, t2, ... too, so the Values drawn can still say what they were computed from.
    """
    symbols, generated = {}, 0

    def new_name() -> Symbol:
        nonlocal generated
        generated += 1
        return Symbol(f"t{generated}")

    for node in order:
        if node.label:
            symbols[node] = Symbol(node.label)
        elif node.is_leaf:
            symbols[node] = as_symbol(float(fmt(node.data)))
        else:
            for parent in node.parents:
                if parent not in symbols:
                    symbols[parent] = new_name()
            symbol = expression(node, symbols)
            same_as_input = any(symbols[p].text == symbol.text for p in node.parents)  # 1*x
            symbols[node] = new_name() if len(symbol.text) > MAX_EXPRESSION or same_as_input \
                else symbol
    return {node: symbol.text for node, symbol in symbols.items()}


def in_formula(name: str) -> str:
    """A name as it sits inside a formula: parenthesised unless it is one word, one number
    or one call (``log(b1)``)."""
    word = name.replace(".", "").replace("_", "").replace("[", "").replace("]", "")
    call = re.fullmatch(r"[A-Za-z_]\w*\([^()]*\)", name)
    return name if word.isalnum() or call else f"({name})"
