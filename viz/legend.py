"""The legend: what each shape, colour and edge label of a diagram means.

It lists only what the diagram at hand uses (no "module" entry without a collapsed module),
so it stays short next to a single neuron.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from autograd import Value

from . import graph as _graph
from .style import Row

if TYPE_CHECKING:
    from .dot import Painter

KINDS = {
    "input": "box: a leaf you made and named (x, a data point)",
    "param": "double box: a parameter, a weight or bias the model learns",
    "constant": "dashed box: a number in the expression (the 2 in 2*x)",
    "value": "rounded box: an intermediate result, named by its expression or t1, t2, ...",
    "output": "thick rounded box: the output, where the backward pass starts",
    "op": "ellipse: the operation that computes the box after it",
    "module": "3-D box: an nn module drawn collapsed",
    "ghost": "dotted box: the same Value again, drawn beside one of its many uses",
}


def legend_rows(
    plan: _graph.Plan, painter: Painter, ghosted: Collection[Value] = (), stepping: bool = False
) -> list[Row]:
    """The legend's rows for this plan as drawn by this painter."""
    roots = set(plan.roots)
    present = {_graph.kind(v, roots, plan.params) for v in plan.order}
    present |= {"op"} if any(not v.is_leaf for v in plan.order) else set()
    present |= {"module"} if plan.collapsed else set()
    present |= {"ghost"} if ghosted else set()
    rows = [Row("legend", bold=True)]
    rows += [Row(KINDS[kind], swatch=kind) for kind in KINDS if kind in present]
    if painter.show_grad:
        rows.append(Row("on each edge: ∂out/∂in = the local derivative, then the gradient it "
                        "passes back, grad += out's grad × local derivative", limit=200))
    if stepping:
        rows += [
            Row("yellow box: the step being taken; thick edges: the factors it multiplies",
                limit=200),
            Row("grad in orange italics: a sum still collecting terms; in black: final",
                limit=200),
            Row("grey ?: not computed yet", tone="pending", limit=200),
        ]
    return rows
